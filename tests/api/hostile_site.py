"""A tiny loopback site (aiohttp.web) that answers what a hostile or broken server would.

``HostileSite`` serves ``/api/oauth/token`` from a queue of canned answers (the last one repeats)
and any other route from the handlers a test gives; every request's path and headers are
recorded. ``gzip_bomb`` streams a small gzip body that inflates to gigabytes.
"""

from __future__ import annotations

import json
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

from aiohttp import web

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
GOOD_TOKEN = "good-token-0123456789abcdef"
MIB = 1024 * 1024


def token_answer(token: str = GOOD_TOKEN, *, status: int = 200) -> web.Response:
    body = json.dumps({"access_token": token, "expires_in": 3600, "token_type": "Bearer"})
    return web.Response(status=status, text=body, content_type="application/json")


def plain(status: int, text: str) -> web.Response:
    return web.Response(status=status, text=text, content_type="text/plain")


async def ok(_: web.Request) -> web.StreamResponse:
    return web.json_response({"data": {"response": "ok"}, "meta": {"code": 200}})


@dataclass
class HostileSite:
    """Token answers from ``tokens`` (the last repeats), other routes from ``routes``."""

    tokens: list[Callable[[], web.Response]] = field(default_factory=lambda: [token_answer])
    seen: list[tuple[str, dict[str, str]]] = field(default_factory=list)
    token_requests: int = 0
    port: int = 0

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api"

    def app(self, routes: dict[str, Handler]) -> web.Application:
        app = web.Application()
        app.router.add_post("/api/oauth/token", self._token)
        for path, handler in routes.items():
            app.router.add_route("*", path, self._recording(handler))
        return app

    async def _token(self, _: web.Request) -> web.Response:
        answer = self.tokens[min(self.token_requests, len(self.tokens) - 1)]
        self.token_requests += 1
        return answer()

    def _recording(self, handler: Handler) -> Handler:
        async def record(request: web.Request) -> web.StreamResponse:
            self.seen.append((request.path, dict(request.headers)))
            return await handler(request)

        return record


@asynccontextmanager
async def serving(site: HostileSite, routes: dict[str, Handler]) -> AsyncIterator[HostileSite]:
    runner = web.AppRunner(site.app(routes), access_log=None)
    await runner.setup()
    try:
        tcp = web.TCPSite(runner, "127.0.0.1", 0)
        await tcp.start()
        site.port = int(runner.addresses[0][1])
        yield site
    finally:
        await runner.cleanup()


def _bomb_parts(inflated_bytes: int) -> Iterator[bytes]:
    """A gzip stream of ``inflated_bytes`` zeros, about 1 KiB per MiB, built lazily.

    After a full flush the compressor forgets its history, so one compressed MiB of zeros can
    be sent again and again; the trailer's CRC is computed only if a reader gets that far.
    """
    block = bytes(MIB)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)  # raw deflate: header written by hand
    segment = compressor.compress(block) + compressor.flush(zlib.Z_FULL_FLUSH)
    yield b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff"
    blocks = inflated_bytes // MIB
    for _ in range(blocks):
        yield segment
    crc = 0
    for _ in range(blocks):
        crc = zlib.crc32(block, crc)
    yield b"\x03\x00" + crc.to_bytes(4, "little") + (blocks * MIB % 2**32).to_bytes(4, "little")


def gzip_bomb(inflated_bytes: int) -> Handler:
    """A handler answering a JSON content type whose gzip body inflates to ``inflated_bytes``."""

    async def bomb(request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}
        )
        response.enable_chunked_encoding()
        await response.prepare(request)
        try:
            for part in _bomb_parts(inflated_bytes):
                await response.write(part)
        except (ConnectionResetError, ConnectionError):
            return response  # the client stopped reading: what a bounded client does
        await response.write_eof()
        return response

    return bomb
