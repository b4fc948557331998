"""The transport boundary: redirects never leak the token, aiohttp failures become our errors."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
import pytest
from aiohttp import web

from tests.api.client_support import make_settings, without_refresh_loop
from worker.api.client import USER_AGENT, BookyFlowClient
from worker.errors import ClientRequestError, RequestTimeout, TransportError
from worker.settings import HttpSettings
from worker.testing import FakeClock

TOKEN = "tiny-site-token-0123456789"
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class TinySite:
    """A loopback aiohttp site that records the headers of every request it receives."""

    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    runner: web.AppRunner | None = None
    port: int = 0

    @property
    def origin(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    async def start(self, routes: dict[str, Handler]) -> None:
        app = web.Application()
        app.router.add_post("/api/oauth/token", self._token)
        for path, handler in routes.items():
            app.router.add_route("*", path, self._recording(handler))
        self.runner = web.AppRunner(app, access_log=None)
        await self.runner.setup()
        site = web.TCPSite(self.runner, "127.0.0.1", 0)
        await site.start()
        self.port = int(self.runner.addresses[0][1])

    def _recording(self, handler: Handler) -> Handler:
        async def record(request: web.Request) -> web.StreamResponse:
            self.seen.append((request.path, dict(request.headers)))
            return await handler(request)

        return record

    async def _token(self, _: web.Request) -> web.Response:
        return web.json_response({"access_token": TOKEN, "expires_in": 3600})


def _ok(_: web.Request) -> Awaitable[web.StreamResponse]:
    async def answer() -> web.StreamResponse:
        return web.json_response({"data": {"response": "ok"}, "meta": {"code": 200}})

    return answer()


@pytest.fixture
async def sites() -> AsyncIterator[Callable[[dict[str, Handler]], Awaitable[TinySite]]]:
    started: list[TinySite] = []

    async def start(routes: dict[str, Handler]) -> TinySite:
        site = TinySite()
        await site.start(routes)
        started.append(site)
        return site

    yield start
    for site in started:
        if site.runner is not None:
            await site.runner.cleanup()


def _redirect_to(location: Callable[[], str], status: int = 302) -> Handler:
    async def redirect(_: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": location()})

    return redirect


async def test_same_origin_redirect_is_followed_with_the_token(
    sites: Callable[[dict[str, Handler]], Awaitable[TinySite]],
) -> None:
    """A redirect within the site keeps ``Authorization`` and the channel header."""
    site = await sites({"/api/old": _redirect_to(lambda: "/api/new"), "/api/new": _ok})
    async with BookyFlowClient(make_settings(site.origin + "/api")) as client:
        assert await client.request("GET", "old") == "ok"
    paths = [path for path, _ in site.seen]
    assert paths == ["/api/old", "/api/new"]
    target_headers = site.seen[-1][1]
    assert target_headers["Authorization"] == f"Bearer {TOKEN}"
    assert target_headers["X-BOOKYFLOW-channel-name"] == "acme"


async def test_cross_origin_redirect_never_carries_the_token(
    sites: Callable[[dict[str, Handler]], Awaitable[TinySite]],
) -> None:
    """A redirect to another port (another origin) is followed without ``Authorization``."""
    other = await sites({"/api/landing": _ok})
    site = await sites({"/api/away": _redirect_to(lambda: other.origin + "/api/landing", 307)})
    async with BookyFlowClient(make_settings(site.origin + "/api")) as client:
        assert await client.request("GET", "away") == "ok"
    assert site.seen[0][1]["Authorization"] == f"Bearer {TOKEN}"
    ((path, headers),) = other.seen
    assert path == "/api/landing"
    assert not any(name.lower() == "authorization" for name in headers)
    assert TOKEN not in str(headers)


async def test_redirect_of_a_write_to_get_is_not_followed(
    sites: Callable[[dict[str, Handler]], Awaitable[TinySite]],
) -> None:
    """A 302 after a PUT would silently become a GET: it is refused as a request error."""
    site = await sites({"/api/put": _redirect_to(lambda: "/api/elsewhere"), "/api/elsewhere": _ok})
    async with BookyFlowClient(make_settings(site.origin + "/api")) as client:
        with pytest.raises(ClientRequestError):
            await client.request("PUT", "put", form={"a": "1"})
    assert [path for path, _ in site.seen] == ["/api/put"]


async def test_redirect_loop_ends_in_an_error(
    sites: Callable[[dict[str, Handler]], Awaitable[TinySite]],
) -> None:
    """An endless redirect chain stops after a few hops."""
    site = await sites({"/api/loop": _redirect_to(lambda: "/api/loop")})
    async with BookyFlowClient(make_settings(site.origin + "/api", max_attempts=1)) as client:
        with pytest.raises(ClientRequestError, match="redirects"):
            await client.request("GET", "loop")
    assert 2 < len(site.seen) < 10


async def test_standard_headers_and_no_credentials_in_urls(
    sites: Callable[[dict[str, Handler]], Awaitable[TinySite]],
) -> None:
    """User-Agent, Accept and a per-call X-Request-ID are sent; no query string ever."""
    site = await sites({"/api/ping": _ok})
    async with BookyFlowClient(make_settings(site.origin + "/api")) as client:
        await client.request("GET", "ping")
        await client.request("GET", "ping", channel=False)
    first, second = (headers for _, headers in site.seen)
    assert first["User-Agent"] == USER_AGENT
    assert first["Accept"] == "application/json"
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert "X-BOOKYFLOW-channel-name" not in second


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def test_refused_connection_is_unsent_so_even_a_post_is_retried() -> None:
    """Connection refused maps to ``TransportError(sent=False)``; a POST may retry it."""
    settings = make_settings(f"http://127.0.0.1:{_free_port()}/api", max_attempts=3)
    client = BookyFlowClient(settings, clock=FakeClock(auto_advance=True))
    async with without_refresh_loop(client):
        with pytest.raises(TransportError) as info:
            await client.request("POST", "anything", form={"x": "1"}, auth=False)
    assert info.value.sent is False
    assert isinstance(info.value.__cause__, OSError)
    assert client.stats.retries == 2


async def test_read_timeout_is_a_sent_request_timeout_and_post_is_not_retried(
    sites: Callable[[dict[str, Handler]], Awaitable[TinySite]],
) -> None:
    """A read timeout may have been processed: ``RequestTimeout(sent=True)``, no POST retry."""

    async def slow(_: web.Request) -> web.StreamResponse:
        await asyncio.sleep(1)
        return web.json_response({})

    site = await sites({"/api/slow": slow})
    http = HttpSettings(read_timeout_s=0.2, rate_limit_per_s=1000, rate_limit_burst=1000)
    settings = make_settings(site.origin + "/api", http=http, max_attempts=3)
    async with without_refresh_loop(
        BookyFlowClient(settings, clock=FakeClock(auto_advance=True))
    ) as client:
        with pytest.raises(RequestTimeout) as info:
            await client.request("POST", "slow", form={"x": "1"})
    assert info.value.sent is True
    assert len(site.seen) == 1


async def test_dropped_connection_is_a_sent_transport_error(
    sites: Callable[[dict[str, Handler]], Awaitable[TinySite]],
) -> None:
    """A connection closed without an answer is ``TransportError(sent=True)``, retried if GET."""
    calls = 0

    async def flaky(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            assert request.transport is not None
            request.transport.close()
            await asyncio.sleep(0.05)
        return web.json_response({"data": {"response": calls}})

    site = await sites({"/api/flaky": flaky})
    settings = make_settings(site.origin + "/api", max_attempts=3)
    async with without_refresh_loop(
        BookyFlowClient(settings, clock=FakeClock(auto_advance=True))
    ) as client:
        # The token request left a kept-alive connection: aiohttp's hidden re-send must not
        # take over, or the retry would escape our budget and logs.
        assert await client.request("GET", "flaky") == 2
    assert client.stats.retries == 1


async def test_an_injected_session_factory_makes_the_one_session_and_hides_no_retry(
    sites: Callable[[dict[str, Handler]], Awaitable[TinySite]],
) -> None:
    """``session_factory`` builds the client's only session (here a plain one on a one-connection
    connector); a connection dropped under it is retried by the client, not re-sent by aiohttp."""
    calls = 0

    async def flaky(request: web.Request) -> web.StreamResponse:
        nonlocal calls
        calls += 1
        if calls == 1:
            assert request.transport is not None
            request.transport.close()
        return web.json_response({"data": {"response": calls}})

    made: list[aiohttp.ClientSession] = []

    def factory() -> aiohttp.ClientSession:
        made.append(aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)))
        return made[-1]

    site = await sites({"/api/flaky": flaky, "/api/ok": _ok})
    settings = make_settings(site.origin + "/api", max_attempts=3)
    client = BookyFlowClient(settings, clock=FakeClock(auto_advance=True), session_factory=factory)
    async with without_refresh_loop(client):
        assert await client.request("GET", "ok") == "ok"  # the token's connection is kept alive
        assert await client.request("GET", "flaky") == 2
    assert len(made) == 1
    assert made[0].closed
    assert client.stats.retries == 1
