"""A small forwarding proxy of the live suite's own, in front of the engine's rebrand proxy.

It forwards every request unchanged (method, path, query, headers, body) to ``upstream`` and
records what passed (``seen``: method, path, status). ``hang_after(method, path_end)`` arms a
one-shot fault: the first matching request is forwarded and its answer read in full (so the
engine has applied the write), then the returned event is set and the client never gets an answer
— the test SIGKILLs the worker on that event, which thereby dies not knowing its write happened.
``rewrite_after(method, path_end, change)`` forwards the first matching request and hands the
client ``change(body)`` instead of the engine's answer body: an answer the engine is known to give
now and then, made to happen on the request a test chooses.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from types import TracebackType
from typing import Self

import aiohttp
from aiohttp import web
from yarl import URL

__all__ = ["WRITE_METHODS", "FaultProxy", "Seen", "writes"]

# Hop-by-hop headers and those aiohttp sets itself.
_SKIP = frozenset(
    {
        "connection",
        "keep-alive",
        "proxy-connection",
        "transfer-encoding",
        "te",
        "trailer",
        "upgrade",
        "host",
        "content-length",
    }
)
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE", "PATCH"})


@dataclass(frozen=True)
class Seen:
    """One request that reached the proxy; ``status`` 0 = no answer (yet, or ever: ``held``)."""

    method: str
    path: str
    status: int = 0
    held: bool = False
    body: str = ""  # kept only for a request a fault held (what the worker was sending)

    @property
    def route(self) -> str:
        """``DELETE cmf/property/room/@/@``: method, the path after ``/api/``, ids as ``@``."""
        tail = self.path.split("?", 1)[0].split("/api/", 1)[-1]
        parts = ["@" if part.isdigit() else part for part in tail.split("/")]
        return f"{self.method} {'/'.join(parts)}"


@dataclass
class _Hang:
    method: str
    path_end: str
    fired: asyncio.Event = field(default_factory=asyncio.Event)
    change: Callable[[bytes], bytes] | None = None  # rewrite the answer instead of holding it


class FaultProxy:
    """``async with FaultProxy("http://127.0.0.1:8481") as proxy``: ``proxy.origin`` to use."""

    def __init__(self, upstream: str) -> None:
        self.upstream = URL(upstream)
        self.seen: list[Seen] = []
        self._hangs: list[_Hang] = []
        self._session: aiohttp.ClientSession | None = None
        self._runner: web.AppRunner | None = None
        self.origin = ""

    async def __aenter__(self) -> Self:
        self._session = aiohttp.ClientSession(
            auto_decompress=False, timeout=aiohttp.ClientTimeout(total=180)
        )
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._forward)
        self._runner = web.AppRunner(app, access_log=None, handler_cancellation=True)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0).start()
        self.origin = f"http://127.0.0.1:{self._runner.addresses[0][1]}"
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._session is not None:
            await self._session.close()

    def hang_after(self, method: str, path_end: str) -> asyncio.Event:
        """Arm a one-shot fault; the event is set once the matching write was applied upstream."""
        hang = _Hang(method, path_end)
        self._hangs.append(hang)
        return hang.fired

    def rewrite_after(
        self, method: str, path_end: str, change: Callable[[bytes], bytes]
    ) -> asyncio.Event:
        """Arm a one-shot rewrite of the matching request's answer body; the event says it fired."""
        hang = _Hang(method, path_end, change=change)
        self._hangs.append(hang)
        return hang.fired

    def mark(self) -> int:
        """A position in ``seen``; ``since(mark)`` lists what came after it."""
        return len(self.seen)

    def since(self, mark: int) -> list[Seen]:
        return self.seen[mark:]

    def _matching_hang(self, request: web.Request) -> _Hang | None:
        for hang in self._hangs:
            if request.method == hang.method and request.path.rstrip("/").endswith(hang.path_end):
                self._hangs.remove(hang)
                return hang
        return None

    async def _forward(self, request: web.Request) -> web.StreamResponse:
        assert self._session is not None
        body = await request.read()
        headers = {k: v for k, v in request.headers.items() if k.lower() not in _SKIP}
        target = self.upstream.join(URL(request.path_qs, encoded=True))
        hang = self._matching_hang(request)
        # Recorded on arrival: a request in flight when the worker is killed still counts.
        index = len(self.seen)
        self.seen.append(Seen(request.method, request.path_qs))
        async with self._session.request(
            request.method, target, headers=headers, data=body or None, allow_redirects=False
        ) as upstream:
            payload = await upstream.read()
            status = upstream.status
            answer_headers = {k: v for k, v in upstream.headers.items() if k.lower() not in _SKIP}
        if hang is not None and hang.change is not None:
            payload = hang.change(payload)
            hang.fired.set()
        elif hang is not None:
            text = body.decode("utf-8", "replace")
            self.seen[index] = Seen(request.method, request.path_qs, status, held=True, body=text)
            hang.fired.set()
            await asyncio.Event().wait()  # never answer; cancelled when the client goes away
        self.seen[index] = Seen(request.method, request.path_qs, status)
        return web.Response(status=status, body=payload, headers=answer_headers)


def writes(seen: list[Seen]) -> Counter[str]:
    """Writes to the site's data by route: POST/PUT/DELETE except the token request."""
    return Counter(
        s.route for s in seen if s.method in WRITE_METHODS and not s.path.endswith("/oauth/token")
    )
