"""A hostile server: header-breaking tokens, plain-text refusals, bad redirects, huge bodies.

Every answer becomes one of our typed errors (never an aiohttp or a ``ValueError`` crash), and a
body is never held past ``BOOKYFLOW_HTTP__MAX_RESPONSE_BYTES`` however well it compresses.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
from aiohttp import web
from structlog.testing import capture_logs

from tests.api.client_support import FAST_HTTP, make_settings, without_refresh_loop
from tests.api.hostile_site import (
    GOOD_TOKEN,
    MIB,
    HostileSite,
    gzip_bomb,
    ok,
    plain,
    serving,
    token_answer,
)
from worker.api.client import BookyFlowClient
from worker.errors import (
    AuthError,
    BookyFlowError,
    ClientRequestError,
    CredentialsRejected,
    MalformedResponse,
    ResponseTooLarge,
    TokenUnavailable,
)
from worker.settings import Settings
from worker.testing import FakeClock


def settings(site: HostileSite, *, max_response_bytes: int, max_attempts: int) -> Settings:
    http = FAST_HTTP.model_copy(update={"max_response_bytes": max_response_bytes})
    return make_settings(site.api_url, http=http, max_attempts=max_attempts)


def client_for(
    site: HostileSite, *, max_response_bytes: int = 8 * MIB, max_attempts: int = 5
) -> BookyFlowClient:
    """A client on a fake clock that advances itself: retry back-off costs no real time."""
    chosen = settings(site, max_response_bytes=max_response_bytes, max_attempts=max_attempts)
    return BookyFlowClient(chosen, clock=FakeClock(auto_advance=True))


def bearer_tokens_seen(site: HostileSite) -> set[str]:
    return {headers.get("Authorization", "") for _, headers in site.seen}


@pytest.mark.parametrize(
    "token", ["abc\r\nX-Injected: 1", "abc\ndef-ghijkl", "nul\x00byte-token", "spa ce-token"]
)
async def test_a_token_unfit_for_a_header_is_refused_and_the_next_one_used(token: str) -> None:
    """A token with CR/LF, NUL or space is a typed MalformedResponse, retried like any bad body."""
    site = HostileSite(tokens=[lambda: token_answer(token), token_answer])
    async with serving(site, {"/api/ping": ok}), without_refresh_loop(client_for(site)) as client:
        assert await client.request("GET", "ping") == "ok"
    assert site.token_requests == 2
    assert bearer_tokens_seen(site) == {f"Bearer {GOOD_TOKEN}"}


async def test_a_token_endpoint_that_keeps_breaking_headers_fails_typed() -> None:
    """Only bad tokens: the call ends in our error once the retry policy gives up, nothing sent."""
    site = HostileSite(tokens=[lambda: token_answer("evil\r\nSet-Cookie: x=1")])
    async with (
        serving(site, {"/api/ping": ok}),
        without_refresh_loop(client_for(site, max_attempts=3)) as client,
    ):
        with capture_logs() as logs, pytest.raises((MalformedResponse, TokenUnavailable)):
            await client.request("GET", "ping")
    assert site.token_requests >= 3  # the token request itself is retried per the policy
    assert site.seen == []
    failures = [entry for entry in logs if entry["event"] == "token.refresh_failed"]
    assert failures
    assert {entry["error"] for entry in failures} == {"MalformedResponse"}


async def test_plain_text_401_from_the_token_endpoint_is_an_auth_error() -> None:
    """``401 Unauthorized`` as text is AuthError (not a crash, not invalid_client), one line."""
    site = HostileSite(tokens=[lambda: plain(401, "Unauthorized")])
    async with serving(site, {"/api/ping": ok}), without_refresh_loop(client_for(site)) as client:
        with capture_logs() as logs, pytest.raises(AuthError) as caught:
            await client.request("GET", "ping")
    assert type(caught.value) is AuthError
    assert not isinstance(caught.value, CredentialsRejected | MalformedResponse)
    assert caught.value.status == 401
    failures = [entry for entry in logs if entry["event"] == "token.refresh_failed"]
    assert [entry["error"] for entry in failures] == ["AuthError"]
    assert not any("exc_info" in entry or "exception" in entry for entry in logs)


@pytest.mark.parametrize("location", ["http://[::1", "http://127.0.0.1:99999/x"])
async def test_a_redirect_to_an_invalid_url_is_a_typed_error(location: str) -> None:
    """A Location header that is not a URL is MalformedResponse, not yarl's ValueError."""

    async def redirect(_: web.Request) -> web.StreamResponse:
        return web.Response(status=302, headers={"Location": location})

    site = HostileSite()
    async with (
        serving(site, {"/api/moved": redirect}),
        without_refresh_loop(client_for(site, max_attempts=1)) as client,
    ):
        with pytest.raises(MalformedResponse, match="Location"):
            await client.request("GET", "moved")


@pytest.mark.parametrize(
    "path",
    [
        "cmf/property/image/5/../../property/local/5",
        "cmf/property/image/5/%2E%2e/x",
        "cmf/property/image/5/./x",
        "cmf/property/image/5/a?b=1",
        "cmf/property/image/5/a#b",
        "cmf/property/image/5/a\r\nb",
        "cmf/property/image/5/a b",
    ],
)
async def test_a_path_a_server_value_could_bend_is_refused_before_sending(path: str) -> None:
    """Dot segments, a query, a fragment or control characters never reach the wire."""
    site = HostileSite()
    async with (
        serving(site, {"/api/{tail:.*}": ok}),
        without_refresh_loop(client_for(site)) as client,
    ):
        with pytest.raises(ClientRequestError, match="URL path"):
            await client.request("DELETE", path)
    assert site.seen == []


async def test_a_gzip_bomb_stops_at_the_cap() -> None:
    """64 MiB of zeros in 64 KiB of gzip: ResponseTooLarge once 1 MiB has been inflated."""
    site = HostileSite()
    async with (
        serving(site, {"/api/bomb": gzip_bomb(64 * MIB), "/api/ping": ok}),
        without_refresh_loop(client_for(site, max_response_bytes=MIB)) as client,
    ):
        with pytest.raises(ResponseTooLarge) as caught:
            await client.request("GET", "bomb")
        assert await client.request("GET", "ping") == "ok"  # the client is still usable
    assert caught.value.max_bytes == MIB
    assert not caught.value.retryable
    assert [path for path, _ in site.seen] == ["/api/bomb", "/api/ping"]


async def test_a_plain_body_over_the_cap_is_refused_and_one_under_it_is_read() -> None:
    """The cap counts body bytes: 1 MiB + 1 is refused, exactly 1 MiB of JSON is accepted."""
    body = json.dumps({"data": {"response": "x" * (MIB - 40)}}).encode()
    body += b" " * (MIB - len(body))

    async def exact(_: web.Request) -> web.StreamResponse:
        return web.Response(body=body, content_type="application/json")

    async def over(_: web.Request) -> web.StreamResponse:
        return web.Response(body=body + b" ", content_type="application/json")

    site = HostileSite()
    async with (
        serving(site, {"/api/exact": exact, "/api/over": over}),
        without_refresh_loop(client_for(site, max_response_bytes=MIB)) as client,
    ):
        assert len(await client.request("GET", "exact")) == MIB - 40
        with pytest.raises(ResponseTooLarge, match="1048576"):
            await client.request("GET", "over")


async def test_a_chunked_body_without_a_length_is_cut_at_the_cap() -> None:
    """No Content-Length (chunked): the body is counted as it arrives and refused past the cap."""

    async def endless(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(headers={"Content-Type": "application/json"})
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for _ in range(64):
                await response.write(b" " * (64 * 1024))
        except ConnectionError:
            return response
        await response.write_eof()
        return response

    site = HostileSite()
    async with (
        serving(site, {"/api/endless": endless}),
        without_refresh_loop(client_for(site, max_response_bytes=MIB)) as client,
    ):
        with pytest.raises(ResponseTooLarge):
            await client.request("GET", "endless")


async def test_an_oversized_token_answer_is_refused_too() -> None:
    """The token endpoint passes the same cap: its body is a server's body like any other."""
    site = HostileSite(tokens=[lambda: token_answer("t" * (2 * MIB))])
    async with serving(site, {"/api/ping": ok}):
        client = client_for(site, max_response_bytes=MIB, max_attempts=1)
        async with without_refresh_loop(client):
            with pytest.raises(BookyFlowError) as caught:
                await client.request("GET", "ping")
    assert isinstance(caught.value, ResponseTooLarge)


def test_a_2_gib_gzip_bomb_leaves_peak_rss_low() -> None:
    """In a fresh process, a 2 GiB bomb (2 MB on the wire) ends typed with peak RSS < 300 MB."""
    done = subprocess.run(
        [sys.executable, "-m", "tests.api.gzip_bomb"],
        capture_output=True,
        text=True,
        check=True,
        timeout=50,
    )
    figures = dict(line.split("=", 1) for line in done.stdout.splitlines() if "=" in line)
    assert figures["error"] == "ResponseTooLarge"
    assert float(figures["peak_rss_mb"]) < 300
