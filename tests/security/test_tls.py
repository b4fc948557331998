"""TLS: certificates are verified by default; ``http.ca_bundle`` trusts a private CA."""

from __future__ import annotations

import ssl
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest
import trustme

from tests.api.client_support import FAST_HTTP, make_settings
from tests.security import RecordingSite
from worker.api.client import BookyFlowClient
from worker.api.cmf import Cmf
from worker.api.transport import tls_context
from worker.errors import BookyFlowError, TransportError
from worker.testing import FakeClock

StartSite = Callable[[trustme.CA, tuple[str, ...]], Awaitable[RecordingSite]]


@pytest.fixture
def ca() -> trustme.CA:
    return trustme.CA()


@pytest.fixture
async def https_site() -> AsyncIterator[StartSite]:
    """Starts an HTTPS site whose certificate ``ca`` issued for the given names."""
    started: list[RecordingSite] = []

    async def start(issuer: trustme.CA, names: tuple[str, ...]) -> RecordingSite:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        issuer.issue_cert(*names).configure_cert(context)
        site = RecordingSite(tls=context, host_name="localhost")
        started.append(site)
        await site.start()
        return site

    yield start
    for site in started:
        await site.close()


def _ca_file(issuer: trustme.CA, tmp_path: Path) -> Path:
    path = tmp_path / "ca.pem"
    issuer.cert_pem.write_to_path(str(path))
    return path


def _client(site: RecordingSite, ca_bundle: Path | None = None) -> BookyFlowClient:
    http = FAST_HTTP.model_copy(update={"ca_bundle": ca_bundle})
    settings = make_settings(site.api_url, http=http, max_attempts=1)
    return BookyFlowClient(settings, clock=FakeClock(auto_advance=True))


async def test_self_signed_site_is_refused_by_default(
    ca: trustme.CA, https_site: StartSite
) -> None:
    """Without a CA bundle the system trust store applies: a typed TransportError, nothing sent."""
    site = await https_site(ca, ("localhost", "127.0.0.1"))
    client = _client(site)
    try:
        with pytest.raises(TransportError) as info:
            await client.request("GET", "cmf/versions", auth=False)
    finally:
        await client.close()
    assert info.value.sent is False
    assert "Certificate" in str(info.value)
    assert site.received == []


async def test_ca_bundle_makes_the_private_ca_trusted(
    ca: trustme.CA, https_site: StartSite, tmp_path: Path
) -> None:
    """With ``http.ca_bundle`` set to the CA file, a whole session (token, announce) works."""
    site = await https_site(ca, ("localhost", "127.0.0.1"))
    async with _client(site, _ca_file(ca, tmp_path)) as client:
        cmf = Cmf(client)
        assert await cmf.announce() > 0
        assert await cmf.versions()
    paths = [received.raw_path for received in site.received]
    assert paths[0] == "/bookyflow/api/oauth/token"
    assert len(paths) == 3


async def test_a_bundle_of_another_ca_is_refused(
    ca: trustme.CA, https_site: StartSite, tmp_path: Path
) -> None:
    """Trusting one private CA does not trust a certificate issued by another."""
    site = await https_site(ca, ("localhost",))
    client = _client(site, _ca_file(trustme.CA(), tmp_path))
    try:
        with pytest.raises(BookyFlowError):
            await client.request("GET", "cmf/versions")
    finally:
        await client.close()
    assert site.received == []


async def test_certificate_for_another_host_name_is_refused(
    ca: trustme.CA, https_site: StartSite, tmp_path: Path
) -> None:
    """A certificate from the trusted CA but for another name fails hostname verification."""
    site = await https_site(ca, ("hotel.example",))
    client = _client(site, _ca_file(ca, tmp_path))
    try:
        with pytest.raises(TransportError):
            await client.request("GET", "cmf/versions", auth=False)
    finally:
        await client.close()
    assert site.received == []


def test_every_session_of_the_process_shares_one_context_per_bundle_version(
    ca: trustme.CA, tmp_path: Path
) -> None:
    """A thousand sites with one private CA hold one context, not a thousand; a replaced
    bundle is read again."""
    bundle = _ca_file(ca, tmp_path)
    first, again = tls_context(bundle), tls_context(bundle)
    assert first is again
    other = trustme.CA()
    replaced = tmp_path / "replaced.pem"
    other.cert_pem.write_to_path(str(replaced))
    replaced.replace(bundle)
    renewed = tls_context(bundle)
    assert renewed is not first
    assert renewed.cert_store_stats()["x509_ca"] == 1
