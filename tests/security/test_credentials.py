"""Credentials travel only where they belong: never in a URL, never to another origin.

The secret goes only in the body of ``POST oauth/token``; the bearer token only in the
``Authorization`` header; no request of a whole session carries a query string.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal

import pytest
from aiohttp import web

from tests.api.client_support import DEMO_SECRET, make_settings
from tests.security import Received, RecordingSite
from worker.api.client import BookyFlowClient
from worker.api.cmf import Cmf
from worker.errors import BookyFlowError
from worker.sandbox import Sandbox


@pytest.fixture
async def site() -> AsyncIterator[RecordingSite]:
    recording = RecordingSite()
    await recording.start()
    yield recording
    await recording.close()


async def _session(api_url: str) -> None:
    """What the worker does against a site: token, announce, dictionaries, one property."""
    async with BookyFlowClient(make_settings(api_url)) as client:
        cmf = Cmf(client)
        await cmf.announce()
        await cmf.versions()
        await cmf.countries()
        uid = await cmf.create_property(
            name="Canary Inn", remote_uid="r-1", country="GB", region_id=1113, ptype_id=1
        )
        await cmf.set_base_price(uid, Decimal("95.00"), 2)
        await cmf.property_ids()
        await cmf.bookings(uid)


def _bearer_tokens(received: list[Received]) -> set[str]:
    return {
        value.removeprefix("Bearer ")
        for request in received
        for name, value in request.headers.items()
        if name.lower() == "authorization"
    }


async def test_no_credential_is_ever_in_a_url(site: RecordingSite) -> None:
    """Every request of a session has a bare path: no query string, no secret, no token."""
    await _session(site.api_url)
    tokens = _bearer_tokens(site.received)
    assert tokens
    assert len(site.received) >= 8
    for request in site.received:
        assert "?" not in request.raw_path
        for credential in (DEMO_SECRET, *tokens):
            assert credential not in request.raw_path


async def test_secret_only_in_the_token_body_and_token_only_in_the_header(
    site: RecordingSite,
) -> None:
    """The client secret is sent once, in the token form; the token only as a bearer header."""
    await _session(site.api_url)
    tokens = _bearer_tokens(site.received)
    (token_request,) = [r for r in site.received if r.raw_path.endswith("/oauth/token")]
    assert token_request.method == "POST"
    assert DEMO_SECRET.encode() in token_request.body
    for request in site.received:
        headers_without_auth = {
            k: v for k, v in request.headers.items() if k.lower() != "authorization"
        }
        for credential in (DEMO_SECRET, *tokens):
            assert credential not in str(headers_without_auth)
            if request is not token_request:
                assert credential.encode() not in request.body


async def test_sandbox_journal_of_a_session_holds_no_credential_in_paths(sandbox: Sandbox) -> None:
    """The sandbox's own journal agrees: no path of a session carries the secret or a token."""
    await _session(sandbox.api_url)
    tokens = {
        value.removeprefix("Bearer ")
        for entry in sandbox.journal.entries
        for name, value in entry.headers.items()
        if name.lower() == "authorization"
    }
    assert tokens
    for entry in sandbox.journal.entries:
        for credential in (DEMO_SECRET, *tokens):
            assert credential not in entry.path
        if not entry.path.endswith("/oauth/token"):
            assert DEMO_SECRET not in str(dict(entry.form))


async def test_token_request_redirected_to_another_origin_never_sends_the_secret() -> None:
    """A 307 from the token endpoint to another origin is not followed with the secret."""
    seen: list[bytes] = []

    async def landing(request: web.Request) -> web.Response:
        seen.append(await request.read())
        return web.json_response({"access_token": "stolen-token-123456", "expires_in": 3600})

    other = web.Application()
    other.router.add_post("/oauth/token", landing)
    other_runner = web.AppRunner(other, access_log=None)
    await other_runner.setup()
    await web.TCPSite(other_runner, "127.0.0.1", 0).start()
    other_port = other_runner.addresses[0][1]

    async def bounce(_: web.Request) -> web.Response:
        location = f"http://localhost:{other_port}/oauth/token"
        return web.Response(status=307, headers={"Location": location})

    first = web.Application()
    first.router.add_post("/api/oauth/token", bounce)
    first_runner = web.AppRunner(first, access_log=None)
    await first_runner.setup()
    await web.TCPSite(first_runner, "127.0.0.1", 0).start()
    api_url = f"http://127.0.0.1:{first_runner.addresses[0][1]}/api"
    try:
        async with BookyFlowClient(make_settings(api_url, max_attempts=1)) as client:
            with pytest.raises(BookyFlowError):
                await client.request("GET", "cmf/versions")
    finally:
        await first_runner.cleanup()
        await other_runner.cleanup()
    assert not any(DEMO_SECRET.encode() in body for body in seen)
