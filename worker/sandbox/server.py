"""The sandbox server: the BookyFlow API behind a fault proxy and a journal, on loopback HTTP.

``Sandbox`` is what in-process tests and the ``demo`` command start; ``serve_forever`` is the
standalone ``bookyflow-worker sandbox`` command. The root application stacks, outermost first::

    journal  →  faults (the proxy)  →  /bookyflow/api (create_api_app)   and  /_sandbox (control)

A sandbox is restartable: ``close()`` then ``start()`` opens its store again from ``db_path`` (so
persisted data survives, in-memory data does not) and binds the same port as before.
"""

from __future__ import annotations

import asyncio
import secrets
import signal
import sys
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from aiohttp import web

from worker.closing import AsyncClosing
from worker.logging import get_logger, redactor
from worker.sandbox.api import API_ROOT, create_api_app
from worker.sandbox.control import (
    CONTROL_ROOT,
    ChannelControls,
    TokenControls,
    create_control_app,
)
from worker.sandbox.faults import FaultInjector, fault_middleware
from worker.sandbox.journal import Journal, JournalEntry, journal_middleware
from worker.sandbox.store import ClientSpec, SandboxStore

DEFAULT_CLIENT = ClientSpec("demo", "s3cret-demo-secret", ("read", "write", "delete"))
# In-flight requests get this long to finish when the sandbox closes.
SHUTDOWN_TIMEOUT_S = 2.0
# A standalone sandbox may run for days; its journal keeps only the newest requests.
STANDALONE_JOURNAL_SIZE = 10_000

log = get_logger("worker.sandbox")


class Sandbox(AsyncClosing):
    """An embedded BookyFlow site with fault injection, a journal and control handles."""

    def __init__(
        self,
        *,
        clients: Sequence[ClientSpec] = (DEFAULT_CLIENT,),
        token_ttl_s: float | None = None,
        legacy: bool = False,
        engine_auth: bool = False,
        db_path: str | Path | None = None,
        host: str = "127.0.0.1",
        port: int = 0,
        control_routes: bool = False,
        admin_token: str | None = None,
        wall_clock: Callable[[], float] = time.time,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
        journal: Journal | None = None,
    ) -> None:
        self._clients = tuple(clients)
        self._db_path = db_path
        self._wall_clock = wall_clock
        self.host, self.port = host, port
        self.store = self._open_store(
            token_ttl_s=token_ttl_s, legacy=legacy, engine_auth=engine_auth
        )
        self.faults = FaultInjector(sleep=sleep)
        self.journal = journal if journal is not None else Journal()
        self.tokens = TokenControls(lambda: self.store)
        self.channels = ChannelControls(lambda: self.store)
        self.control_routes = control_routes
        self.admin_token = admin_token or (secrets.token_urlsafe(24) if control_routes else None)
        self._runner: web.AppRunner | None = None
        self._store_closed = False

    def __repr__(self) -> str:
        state = "running" if self._runner else "stopped"
        return f"Sandbox(url={self.url!r}, {state}, control_routes={self.control_routes})"

    @property
    def url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def api_url(self) -> str:
        return self.url + API_ROOT

    @property
    def legacy(self) -> bool:
        return self.store.legacy

    @legacy.setter
    def legacy(self, value: bool) -> None:
        self.store.legacy = value

    @property
    def engine_auth(self) -> bool:
        return self.store.engine_auth

    @engine_auth.setter
    def engine_auth(self, value: bool) -> None:
        self.store.engine_auth = value

    async def start(self) -> None:
        """Listen on ``host:port`` (a free port when 0; the same port again after a restart)."""
        if self._runner is not None:
            raise RuntimeError("the sandbox is already running")
        if self._store_closed:
            self.store = self._open_store(
                token_ttl_s=self.store.token_ttl_s,
                legacy=self.store.legacy,
                engine_auth=self.store.engine_auth,
            )
            self._store_closed = False
        runner = web.AppRunner(
            self._build_app(),
            access_log=None,
            handle_signals=False,
            shutdown_timeout=SHUTDOWN_TIMEOUT_S,
        )
        await runner.setup()
        try:
            await web.TCPSite(runner, self.host, self.port).start()
        except BaseException:
            await runner.cleanup()
            raise
        self.port = int(runner.addresses[0][1])
        self._runner = runner

    async def listen_also(self, port: int = 0) -> int:
        """Serve the same site on one more ``host`` port too (a free one when 0); that port.

        The scale bench gives each of a thousand sites its own URL (sharding is by URL) while
        one sandbox process serves hundreds of them.
        """
        if self._runner is None:
            raise RuntimeError("the sandbox is not running")
        await web.TCPSite(self._runner, self.host, port).start()
        return int(self._runner.addresses[-1][1])  # the runner lists its sites in order

    async def close(self) -> None:
        """Stop listening and close the store; safe to call twice."""
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()
        if not self._store_closed:
            self.store.close()
            self._store_closed = True

    async def open(self) -> None:
        """``async with`` starts it (``worker.closing.AsyncClosing``)."""
        await self.start()

    def _open_store(
        self, *, token_ttl_s: float | None, legacy: bool, engine_auth: bool
    ) -> SandboxStore:
        return SandboxStore(
            self._clients,
            token_ttl_s=token_ttl_s,
            legacy=legacy,
            engine_auth=engine_auth,
            db_path=self._db_path,
            wall_clock=self._wall_clock,
        )

    def _token_state(self, authorization: str | None) -> str:
        return self.store.token_state(authorization)

    def _build_app(self) -> web.Application:
        app = web.Application(
            middlewares=[
                journal_middleware(self.journal, self._token_state, exempt_prefix=CONTROL_ROOT),
                fault_middleware(self.faults, exempt_prefix=CONTROL_ROOT),
            ]
        )
        app.add_subapp(API_ROOT, create_api_app(self.store))
        if self.control_routes and self.admin_token:
            app.add_subapp(CONTROL_ROOT, create_control_app(self, self.admin_token))
        return app


def _log_request(entry: JournalEntry, duration_s: float) -> None:
    log.info(
        "sandbox.request",
        method=entry.method,
        path=entry.path,
        status=entry.status,
        duration_ms=round(duration_s * 1000, 1),
    )


@contextmanager
def _stop_on_signals(stop: asyncio.Event) -> Iterator[None]:
    """SIGTERM and SIGINT set ``stop`` (from before start-up, so none is missed)."""
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    try:
        yield
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


async def serve_forever(
    *,
    host: str,
    port: int,
    clients: Sequence[tuple[str, str, tuple[str, ...]]],
    token_ttl_s: float | None = None,
    legacy: bool = False,
    engine_auth: bool = False,
    db_path: str | Path | None = None,
    admin_token: str | None = None,
) -> None:
    """Run a standalone sandbox with control routes until SIGTERM or SIGINT."""
    specs = [ClientSpec(cid, secret, tuple(scopes)) for cid, secret, scopes in clients]
    specs = specs or [DEFAULT_CLIENT]
    sandbox = Sandbox(
        clients=specs,
        token_ttl_s=token_ttl_s,
        legacy=legacy,
        engine_auth=engine_auth,
        db_path=db_path,
        host=host,
        port=port,
        control_routes=True,
        admin_token=admin_token,
        journal=Journal(max_entries=STANDALONE_JOURNAL_SIZE),
    )
    for secret in [spec.secret for spec in specs] + [sandbox.admin_token or ""]:
        redactor.add_secret(secret)
    sandbox.journal.add_listener(_log_request)
    stop = asyncio.Event()
    with _stop_on_signals(stop):
        async with sandbox:
            log.info(
                "sandbox.started",
                url=sandbox.url,
                api_url=sandbox.api_url,
                clients=[spec.client_id for spec in specs],
                legacy=legacy,
                engine_auth=engine_auth,
                persisted=db_path is not None,
            )
            if admin_token is None:
                # Printed once, on stderr and not through the log, so the operator can use it.
                print(f"sandbox admin token: {sandbox.admin_token}", file=sys.stderr, flush=True)
            await stop.wait()
    log.info("sandbox.stopped")
