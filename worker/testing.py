"""Test doubles that production code accepts through its seams (never used by it).

``FakeClock`` is a ``worker.clock.Clock`` on virtual time: ``sleep(s)`` parks the caller until
``advance``/``run_for`` moves time past its deadline, so retry, backoff, token and scheduling tests
run without real sleeps and assert negatives ("nothing happened for 30 s") exactly.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time

__all__ = ["FakeClock"]

# Upper bound on loop turns in ``FakeClock.run_until_idle``: a chain of awaits longer than this
# without sleeping on the clock is a bug in the code under test, not something to wait out.
_MAX_IDLE_TURNS = 10_000
_FALLBACK_TURNS = 100


class FakeClock:
    """Virtual monotonic time for tests; starts at 1000.0 so "time zero" bugs show.

    ``sleep(s)`` parks the caller until ``advance`` moves time past its deadline. With
    ``auto_advance=True`` a sleep moves time forward itself (handy for sequential retry tests).
    ``run_for(s)`` steps from deadline to deadline, letting woken tasks run between steps.
    """

    def __init__(
        self, start: float = 1000.0, *, auto_advance: bool = False, wall_start: float | None = None
    ) -> None:
        self._now = start
        self._start = start
        # The wall clock moves with virtual time from the real time of construction (or
        # ``wall_start``), so dates computed from it are today's.
        self._wall_start = time.time() if wall_start is None else wall_start
        self.auto_advance = auto_advance
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()
        self.slept: list[float] = []  # every requested sleep, in order (for assertions)

    def now(self) -> float:
        return self._now

    def wall(self) -> float:
        return self._wall_start + (self._now - self._start)

    async def sleep(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self.slept.append(seconds)
        if self.auto_advance:
            self.advance(seconds)
        if seconds == 0 or self.auto_advance:
            await asyncio.sleep(0)  # still a suspension point, like asyncio.sleep(0)
            return
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._sleepers, (self._now + seconds, next(self._order), future))
        await future

    def advance(self, seconds: float) -> None:
        """Move time forward and wake every sleeper whose deadline has passed."""
        if seconds < 0:
            raise ValueError("a monotonic clock cannot go backwards")
        self._advance_to(self._now + seconds)

    def _advance_to(self, when: float) -> None:
        # Jumping to an exact deadline (rather than adding a difference) avoids float rounding
        # leaving a sleeper a hair short of its wake-up time.
        self._now = max(self._now, when)
        while self._sleepers and self._sleepers[0][0] <= self._now:
            _, _, future = heapq.heappop(self._sleepers)
            if not future.done():  # a cancelled sleeper is simply dropped
                future.set_result(None)

    @property
    def next_deadline(self) -> float | None:
        """The earliest pending sleeper's wake-up time, if any."""
        live = [deadline for deadline, _, fut in self._sleepers if not fut.done()]
        return min(live, default=None)

    async def run_until_idle(self) -> None:
        """Let every runnable task run until all of them wait on the clock (or on I/O)."""
        # CPython's event loop keeps runnable callbacks in ``_ready``; other loops get a fixed
        # number of turns instead.
        ready = getattr(asyncio.get_running_loop(), "_ready", None)
        for _ in range(_MAX_IDLE_TURNS if ready is not None else _FALLBACK_TURNS):
            await asyncio.sleep(0)
            if ready is not None and not ready:
                return

    async def run_for(self, seconds: float) -> None:
        """Advance ``seconds`` of virtual time, waking sleepers in deadline order."""
        end = self._now + seconds
        await self.run_until_idle()
        while (deadline := self.next_deadline) is not None and deadline <= end:
            self._advance_to(deadline)
            await self.run_until_idle()
        self._advance_to(end)
        await self.run_until_idle()
