"""Security controls, proved over loopback with real components (``docs/security.md``).

``RecordingSite`` serves the sandbox's BookyFlow API (``create_api_app``) at ``/bookyflow/api`` on
loopback, over HTTPS when given an ``ssl.SSLContext``, and records every request exactly as it
arrived: the raw path with any query string, the headers and the body. The sandbox's own journal
keeps only the decoded path, which cannot show a query string.
"""

from __future__ import annotations

import ssl
from dataclasses import dataclass, field

from aiohttp import web
from aiohttp.typedefs import Handler

from worker.sandbox.api import API_ROOT, create_api_app
from worker.sandbox.server import DEFAULT_CLIENT
from worker.sandbox.store import SandboxStore


@dataclass(frozen=True)
class Received:
    """One request as it reached the server."""

    method: str
    raw_path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class RecordingSite:
    """The sandbox API on loopback (HTTP, or HTTPS with ``tls``), recording each request."""

    tls: ssl.SSLContext | None = None
    host_name: str = "127.0.0.1"
    received: list[Received] = field(default_factory=list)
    port: int = 0
    _runner: web.AppRunner | None = None
    _store: SandboxStore | None = None

    @property
    def api_url(self) -> str:
        scheme = "https" if self.tls else "http"
        return f"{scheme}://{self.host_name}:{self.port}{API_ROOT}"

    async def start(self) -> None:
        self._store = SandboxStore([DEFAULT_CLIENT])
        app = web.Application(middlewares=[self._record])
        app.add_subapp(API_ROOT, create_api_app(self._store))
        self._runner = web.AppRunner(app, access_log=None, handle_signals=False)
        await self._runner.setup()
        await web.TCPSite(self._runner, "127.0.0.1", 0, ssl_context=self.tls).start()
        self.port = int(self._runner.addresses[0][1])

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
        if self._store is not None:
            self._store.close()

    @web.middleware
    async def _record(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        body = await request.read()  # aiohttp caches it: the handler reads it again
        self.received.append(
            Received(request.method, request.raw_path, dict(request.headers), body)
        )
        return await handler(request)
