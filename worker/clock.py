"""Injected time: one ``Clock`` with a monotonic ``now()``, the ``wall()`` clock and ``sleep()``.

Everything that depends on time (token expiry, backoff, rate limits, the breaker, the state
store's timestamps, the sinks' ``received_at``, the metrics' ages, job durations) takes the one
``Clock`` the ``Worker`` (or the supervisor) was given, so tests drive all of it with
``worker.testing.FakeClock`` instead of real sleeps. ``now()`` is for durations and deadlines
(never goes back); ``wall()`` is UNIX seconds, for what is written down or compared with dates.
"""

from __future__ import annotations

import asyncio
import time
from typing import Protocol

__all__ = ["Clock", "SystemClock"]


class Clock(Protocol):
    """Monotonic seconds, wall-clock seconds and a sleep on the monotonic time line."""

    def now(self) -> float: ...

    def wall(self) -> float: ...

    async def sleep(self, seconds: float) -> None: ...


class SystemClock:
    """The real clock: ``time.monotonic``, ``time.time`` and ``asyncio.sleep``."""

    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    async def sleep(self, seconds: float) -> None:
        await asyncio.sleep(max(0.0, seconds))
