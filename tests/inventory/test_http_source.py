"""The HTTP inventory source against a vendor endpoint on loopback (``vendor_server``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.inventory.conftest import PropertyFactory
from tests.inventory.vendor_server import VendorServer
from worker.errors import ConfigError
from worker.inventory.http_source import HttpInventorySource, display_url
from worker.settings import RetrySettings
from worker.testing import FakeClock

TOKEN = "vendor-token-5f1c9e"
FAST = RetrySettings(max_attempts=3, base_delay_s=0.01, max_delay_s=0.02, max_total_s=5.0)


@pytest.fixture
async def vendor() -> AsyncIterator[VendorServer]:
    server = await VendorServer(token=TOKEN).start()
    yield server
    await server.close()


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.token"
    path.write_text(TOKEN + "\n", encoding="utf-8")
    return path


def rotate(token_file: Path, token: str) -> None:
    """The vendor hands out a new token: the operator rewrites the file."""
    token_file.write_text(token, encoding="utf-8")


def source_for(
    vendor: VendorServer, token_file: Path | None, *, max_bytes: int = 1 << 20
) -> HttpInventorySource:
    """A source on the vendor's URL whose backoff sleeps on a clock that advances itself."""
    return HttpInventorySource(
        vendor.url,
        token_file=token_file,
        max_bytes=max_bytes,
        retry=FAST,
        clock=FakeClock(auto_advance=True),
    )


async def test_an_unchanged_etag_costs_one_304_and_no_parse(
    vendor: VendorServer, token_file: Path, property_data: PropertyFactory
) -> None:
    """The second load sends If-None-Match, gets 304, and returns the same snapshot unparsed."""
    vendor.serve({"properties": [property_data("1")]})
    source = source_for(vendor, token_file)
    first = await source.load()
    second = await source.load()
    assert vendor.statuses == [200, 304]
    assert vendor.seen_headers[1]["If-None-Match"] == vendor.etag
    assert source.parses == 1
    assert second is first
    assert [p.remote_uid for p in first.properties] == ["1"]


async def test_the_same_bytes_without_an_etag_are_not_parsed_again(
    vendor: VendorServer, token_file: Path, property_data: PropertyFactory
) -> None:
    """A server without ETags answers 200 each time; unchanged bytes still cost no parse."""
    vendor.etags = False
    vendor.serve({"properties": [property_data("1")]})
    source = source_for(vendor, token_file)
    first = await source.load()
    assert await source.load() is first
    assert vendor.statuses == [200, 200]
    assert "If-None-Match" not in vendor.seen_headers[1]
    assert source.parses == 1


async def test_a_changed_document_is_picked_up(
    vendor: VendorServer, token_file: Path, property_data: PropertyFactory
) -> None:
    """A new ETag's body is parsed and served."""
    vendor.serve({"properties": [property_data("1")]})
    source = source_for(vendor, token_file)
    await source.load()
    vendor.serve({"properties": [property_data("1"), property_data("2")]})
    snapshot = await source.load()
    assert [p.remote_uid for p in snapshot.properties] == ["1", "2"]
    assert snapshot.fresh
    assert source.parses == 2


async def test_a_bad_document_keeps_the_last_good(
    vendor: VendorServer, token_file: Path, property_data: PropertyFactory
) -> None:
    """Invalid JSON leaves the last good properties in force, reported once, until fixed."""
    vendor.serve({"properties": [property_data("1")]})
    source = source_for(vendor, token_file)
    good = await source.load()
    vendor.serve('{"properties": [')
    with capture_logs() as logs:
        bad = await source.load()
        again = await source.load()  # 304: neither parsed nor reported again
    assert bad.properties == good.properties
    assert not bad.fresh
    assert again is bad
    assert [e["field"] for e in logs if e["event"] == "inventory.invalid"] == ["$"]
    vendor.serve({"properties": [property_data("2")]})
    assert [p.remote_uid for p in (await source.load()).properties] == ["2"]


async def test_a_bad_field_is_reported_with_its_path(
    vendor: VendorServer, token_file: Path, property_data: PropertyFactory
) -> None:
    """The file source's validation, entry by entry: the bad entry's last good version stays."""
    vendor.serve({"properties": [property_data("1")]})
    source = source_for(vendor, token_file)
    await source.load()
    vendor.serve({"properties": [property_data("1", max_people=0)]})
    snapshot = await source.load()
    assert snapshot.held == frozenset({"1"})
    assert [p.path for p in snapshot.problems] == ["properties[0].max_people"]


async def test_a_wrong_token_at_start_up_is_a_clear_configuration_error(
    vendor: VendorServer, tmp_path: Path
) -> None:
    """A 401 before any document was read is a ConfigError naming the token file (exit 78)."""
    wrong = tmp_path / "wrong.token"
    wrong.write_text("not-the-token", encoding="utf-8")
    with pytest.raises(ConfigError, match="BOOKYFLOW_INVENTORY_TOKEN_FILE") as caught:
        await source_for(vendor, wrong).load()
    assert "HTTP 401" in str(caught.value)
    assert vendor.statuses == [401]  # not retried: another attempt cannot help


async def test_a_revoked_token_later_keeps_the_last_good_and_never_logs_the_token(
    vendor: VendorServer, token_file: Path, property_data: PropertyFactory
) -> None:
    """After a good read, a 401 is inventory.unreadable (last good kept); the token is in no log."""
    vendor.serve({"properties": [property_data("1")]})
    source = source_for(vendor, token_file)
    good = await source.load()
    vendor.token = "rotated-by-the-vendor"
    with capture_logs() as logs:
        snapshot = await source.load()
    assert snapshot.properties == good.properties
    assert not snapshot.fresh
    (unreadable,) = [e for e in logs if e["event"] == "inventory.unreadable"]
    assert "401" in unreadable["reason"]
    assert "BOOKYFLOW_INVENTORY_TOKEN_FILE" in unreadable["reason"]
    assert TOKEN not in repr(logs)
    rotate(token_file, "rotated-by-the-vendor")
    assert (await source.load()).fresh  # the token file is read again on every load


async def test_a_503_is_retried_through_the_shared_policy(
    vendor: VendorServer, token_file: Path, property_data: PropertyFactory
) -> None:
    """Two 503s, then the document: one load, two inventory.retry_scheduled lines."""
    vendor.serve({"properties": [property_data("1")]})
    vendor.fail_next(503, times=2)
    source = source_for(vendor, token_file)
    with capture_logs() as logs:
        snapshot = await source.load()
    assert [p.remote_uid for p in snapshot.properties] == ["1"]
    assert vendor.statuses == [503, 503, 200]
    retries = [e for e in logs if e["event"] == "inventory.retry_scheduled"]
    assert [e["attempt"] for e in retries] == [1, 2]


async def test_retry_after_is_honoured(
    vendor: VendorServer, token_file: Path, property_data: PropertyFactory
) -> None:
    """A 429 with Retry-After: 7 waits at least 7 s (on the injected clock) before the retry."""
    vendor.serve({"properties": [property_data("1")]})
    vendor.fail_next(429, headers={"Retry-After": "7"})
    clock = FakeClock(auto_advance=True)
    patient = FAST.model_copy(update={"max_total_s": 60.0})
    source = HttpInventorySource(vendor.url, token_file=token_file, retry=patient, clock=clock)
    assert (await source.load()).properties
    assert clock.slept
    assert clock.slept[0] >= 7


async def test_a_vendor_down_at_start_up_is_not_fatal(
    vendor: VendorServer, token_file: Path
) -> None:
    """5xx past the retries before any read: an empty, stale snapshot; the next load tries again."""
    vendor.fail_next(500, times=3)
    source = source_for(vendor, token_file)
    snapshot = await source.load()
    assert snapshot.properties == ()
    assert not snapshot.fresh
    assert "HTTP 500" in snapshot.problems[0].message
    assert (await source.load()).fresh


async def test_a_document_over_the_cap_is_refused(
    vendor: VendorServer, token_file: Path, property_data: PropertyFactory
) -> None:
    """Over BOOKYFLOW_INVENTORY_MAX_BYTES: refused as invalid, the last good kept."""
    vendor.serve({"properties": [property_data("1")]})
    source = source_for(vendor, token_file, max_bytes=4096)
    good = await source.load()
    vendor.serve({"properties": [property_data("2")], "pad": " " * 5000})
    refused = await source.load()
    assert refused.properties == good.properties
    assert "BOOKYFLOW_INVENTORY_MAX_BYTES" in refused.problems[0].message


async def test_a_redirect_is_not_followed(vendor: VendorServer, token_file: Path) -> None:
    """A 302 at start-up is a configuration error: the token never travels elsewhere."""
    vendor.fail_next(302, headers={"Location": "http://127.0.0.1:9/elsewhere"})
    with pytest.raises(ConfigError, match="redirects are not followed"):
        await source_for(vendor, token_file).load()
    assert vendor.statuses == [302]


async def test_a_missing_token_file_at_start_up_is_a_configuration_error(
    vendor: VendorServer, tmp_path: Path
) -> None:
    """The token file is read before anything is sent; missing, it is named in the error."""
    with pytest.raises(ConfigError, match=r"missing\.token"):
        await source_for(vendor, tmp_path / "missing.token").load()
    assert vendor.statuses == []


def test_the_logged_url_has_no_query_or_user_info() -> None:
    """A signed URL's query (its secret) and any user info are left out of every log line."""
    url = "https://user:pw@vendor.example:8443/inv.json?sig=abc#frag"
    assert display_url(url) == "https://vendor.example:8443/inv.json"


async def test_inside_keep_alive_every_load_reuses_one_session(
    vendor: VendorServer, token_file: Path
) -> None:
    """A poll a second reuses one pooled session (kept-alive connections), closed at the end;
    a one-off load outside it opens and closes its own."""
    source = source_for(vendor, token_file)
    async with source.keep_alive():
        for _ in range(5):
            assert not (await source.load()).problems
        pooled = source._pooled
        assert pooled is not None
    assert source.sessions_opened == 1
    assert pooled.closed
    assert vendor.statuses == [200, 304, 304, 304, 304]
    await source.load()
    assert source.sessions_opened == 2
