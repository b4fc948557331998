"""A vendor's webhook endpoint in miniature, for tests and trials of ``BOOKYFLOW_SINK=webhook``.

What a receiver should do, in the order it must: verify the Standard Webhooks signature over the
raw body with the ``standardwebhooks`` library (the one the worker signs with), deduplicate by
``webhook-id``, answer 2xx. A forged or stale request is answered 401 and stored nowhere.

Everything is recorded: ``attempts`` (each request, verified or not, and what it was answered),
``deliveries`` (the first verified body of each ``webhook-id``, in arrival order; a repeat is
answered 200 and only counted). Faults are explicit, as in the sandbox: ``fail_next(500,
times=3)``, ``fail_while(predicate)`` (e.g. for a minute of a fake clock), and ``stall_next()``,
which takes the next delivery in and then holds its answer back until released, so a test can
kill the worker between the POST and the commit of its outcome. Loopback only.
"""

from __future__ import annotations

import asyncio
import binascii
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from standardwebhooks import Webhook, WebhookVerificationError

from worker.closing import AsyncClosing

__all__ = ["Attempt", "Stall", "WebhookReceiver"]


@dataclass(frozen=True)
class Attempt:
    """One request: its ``webhook-id``, whether the signature held, what it was answered."""

    webhook_id: str | None
    verified: bool
    status: int


@dataclass
class Stall:
    """``seen`` is set once the held delivery is taken in; ``release()`` lets it be answered."""

    seen: asyncio.Event = field(default_factory=asyncio.Event)
    released: asyncio.Event = field(default_factory=asyncio.Event)
    webhook_id: str | None = None

    def release(self) -> None:
        self.released.set()


@dataclass
class _Fault:
    status: int
    times: int
    retry_after: str | None


class WebhookReceiver(AsyncClosing):
    """``async with WebhookReceiver(secret) as receiver:`` POSTs to ``receiver.url``."""

    def __init__(self, secret: str, *, host: str = "127.0.0.1", port: int = 0) -> None:
        self._webhook = Webhook(secret)
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self.url = ""
        self.attempts: list[Attempt] = []
        self.deliveries: dict[str, dict[str, Any]] = {}
        self._faults: list[_Fault] = []
        self._failing: Callable[[], bool] | None = None
        self._stall: Stall | None = None
        self._held: list[Stall] = []
        self.changed = asyncio.Event()  # set after every request: tests wait on it

    def verify(self, body: bytes, headers: dict[str, str]) -> dict[str, Any] | None:
        """The verified JSON object, or None for a forged, stale or malformed request."""
        try:
            payload: Any = self._webhook.verify(body, headers)
        except (WebhookVerificationError, binascii.Error, ValueError):
            return None  # a signature without "v1," or with bad base64 is forged too
        return payload if isinstance(payload, dict) else None

    def fail_next(self, status: int, *, times: int = 1, retry_after: str | None = None) -> None:
        """Answer ``status`` (with ``Retry-After``) to the next ``times`` verified requests."""
        self._faults.append(_Fault(status, times, retry_after))

    def fail_while(self, predicate: Callable[[], bool] | None) -> None:
        """Answer 500 to every verified request while ``predicate()`` holds (None: stop)."""
        self._failing = predicate

    def stall_next(self) -> Stall:
        """Take the next new delivery in, then hold its answer until ``release()``."""
        self._stall = Stall()
        return self._stall

    def count(self, webhook_id: str) -> int:
        """How many verified requests carried ``webhook_id`` (retries of it included)."""
        return Counter(a.webhook_id for a in self.attempts if a.verified)[webhook_id]

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        webhook_id = request.headers.get("webhook-id")
        payload = self.verify(body, dict(request.headers))
        response = await self._answer(webhook_id, payload)
        self.attempts.append(Attempt(webhook_id, payload is not None, response.status))
        self.changed.set()
        return response

    async def _answer(self, webhook_id: str | None, payload: dict[str, Any] | None) -> web.Response:
        if payload is None or webhook_id is None:
            return web.Response(status=401, text="signature verification failed")
        fault = self._fault()
        if fault is not None:
            headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
            return web.Response(status=fault.status, headers=headers, text="failing on purpose")
        if webhook_id in self.deliveries:
            return web.Response(status=200, text="duplicate")
        self.deliveries[webhook_id] = payload
        stall, self._stall = self._stall, None
        if stall is not None:
            self._held.append(stall)
            stall.webhook_id = webhook_id
            stall.seen.set()
            await stall.released.wait()
        return web.Response(status=200, text="ok")

    def _fault(self) -> _Fault | None:
        if self._failing is not None and self._failing():
            return _Fault(500, 1, None)
        if not self._faults:
            return None
        fault = self._faults[0]
        fault.times -= 1
        if fault.times <= 0:
            self._faults.pop(0)
        return fault

    async def start(self) -> WebhookReceiver:
        app = web.Application()
        app.router.add_post("/hooks/bookings", self._handle)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=0.1)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        port = self._runner.addresses[0][1]
        self.url = f"http://{self._host}:{port}/hooks/bookings"
        return self

    async def close(self) -> None:
        for stall in (*self._held, self._stall):
            if stall is not None:
                stall.release()
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def open(self) -> None:
        """``async with`` starts it (``worker.closing.AsyncClosing``)."""
        await self.start()
