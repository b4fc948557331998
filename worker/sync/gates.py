"""The per-property rules every job obeys: one write in flight, and how long a failed one waits.

``PropertyGates`` allows at most one write in flight per property and decides how long a failed
property waits, by what failed (issue 11):

- an error of the property's own (a validation error, a refusal, a bug: anything that would
  repeat) pauses it for ``Settings.backoff.property()`` (60 s, doubling, capped at an hour);
- a transient failure of the site (``retry.is_transient``: 5xx, 429, a reset, a spoilt body)
  defers it by seconds only (``PROPERTY_RETRY``'s backoff), and ``for_each_property``
  (``worker.sync.each``) tries it again within the run;
- a site-wide failure (open breaker, no token) does not touch it at all.

It also tells the other writing jobs whether the properties job has completed a property
(``COMPLETING_JOB``), so nothing is pushed into a property whose rooms are not there yet.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from worker.api.retry import RetryPolicy, is_transient
from worker.backoff import Backoff
from worker.clock import Clock
from worker.errors import CircuitOpen, TokenUnavailable
from worker.settings import Settings

__all__ = ["COMPLETING_JOB", "PROPERTY_RETRY", "SITE_WIDE_FAILURES", "PropertyGates"]

# After a transient failure a property's work is tried again within the run: up to 5 attempts,
# full-jitter delays from 1 s doubling to 8 s (at least a Retry-After), under 30 s in all. The
# work of every job is safe to repeat: each run re-plans from state and the site, and resolves
# an ambiguous write first (the reservations job reads list/bookings before a re-send). What
# succeeded stays done, so each attempt has less left to do: a property with a dozen writes
# under 30 % 503s needed more than 3 (bench/faults.py).
PROPERTY_RETRY = RetryPolicy(
    max_attempts=5, max_total_s=30.0, backoff=Backoff(1.0, 8.0, jitter=1.0), retry_after_cap_s=8.0
)
# The job that creates and completes (rooms, base price) what the other writing jobs act on.
# A property it has not completed yet in this process while it works on it, or whose completion
# last failed transiently, the other writing jobs leave alone: a reservation pushed before the
# rooms exist is refused for good ("No rooms continuously available"; seen under 30 % 503s).
COMPLETING_JOB = "properties"
# Failures of the whole site, raised before anything about the property was sent: they must not
# push the property's next attempt out (the breaker and the token manager pace those). Counting
# them left a property deferred for minutes after the site had recovered (chaos soak).
SITE_WIDE_FAILURES = (CircuitOpen, TokenUnavailable)


@dataclass
class _Waiting:
    failures: int = 0  # the property's own errors in a row: the long pause doubles with them
    transient: int = 0  # transient failures in a row: the short retry delay doubles with them
    until: float = 0.0


class PropertyGates:
    """One write in flight per property, and how long a failed property waits (module doc)."""

    def __init__(self, clock: Clock, pause: Backoff, *, rng: random.Random | None = None) -> None:
        self._clock = clock
        self._pause = pause  # after an error of the property's own
        self._rng = rng or random.Random()
        self._locks: dict[int, asyncio.Lock] = {}
        self._waiting: dict[int, _Waiting] = {}
        self._unfinished: set[int] = set()  # see COMPLETING_JOB (both bounded by the properties)
        self._completed: set[int] = set()

    @classmethod
    def from_settings(
        cls, settings: Settings, clock: Clock, *, rng: random.Random | None = None
    ) -> PropertyGates:
        """Gates whose pause is ``settings.backoff.property()``."""
        return cls(clock, settings.backoff.property(), rng=rng)

    def ready(self, property_uid: int) -> bool:
        """False while the property is backing off after a failure."""
        waiting = self._waiting.get(property_uid)
        return waiting is None or self._clock.now() >= waiting.until

    def retry_in_s(self, property_uid: int) -> float:
        waiting = self._waiting.get(property_uid)
        return 0.0 if waiting is None else max(0.0, waiting.until - self._clock.now())

    def lock(self, property_uid: int) -> asyncio.Lock:
        """The property's write lock: one write in flight per property, across jobs."""
        return self._locks.setdefault(property_uid, asyncio.Lock())

    @asynccontextmanager
    async def writing(self, property_uid: int) -> AsyncIterator[None]:
        """Hold the property's write lock; a failure inside backs the property off."""
        async with self.lock(property_uid), self.noting(property_uid):
            yield

    @asynccontextmanager
    async def noting(self, property_uid: int) -> AsyncIterator[None]:
        """Note how the work inside went: a failure pauses or defers, a success clears."""
        try:
            yield
        except Exception as exc:
            self.failed_because(property_uid, exc)
            raise
        self.succeeded(property_uid)

    def failed_because(self, property_uid: int, exc: Exception) -> None:
        """Pause, defer or leave the property by what failed (see the module docstring)."""
        if isinstance(exc, SITE_WIDE_FAILURES):
            return
        if is_transient(exc):
            self.deferred(property_uid, exc)
        else:
            self.failed(property_uid)

    def failed(self, property_uid: int) -> None:
        """An error of the property's own: the pause doubles with each one in a row, capped."""
        waiting = self._waiting.setdefault(property_uid, _Waiting())
        waiting.failures += 1
        waiting.until = self._clock.now() + self._pause.delay_s(waiting.failures, self._rng)

    def deferred(self, property_uid: int, exc: BaseException) -> None:
        """A transient failure: try again in seconds (``PROPERTY_RETRY``), never sooner than a
        pause the property already has."""
        waiting = self._waiting.setdefault(property_uid, _Waiting())
        waiting.transient += 1
        delay = PROPERTY_RETRY.wait_s(waiting.transient, exc, self._rng)
        waiting.until = max(waiting.until, self._clock.now() + delay)

    def succeeded(self, property_uid: int) -> None:
        self._waiting.pop(property_uid, None)

    def unfinished(self, property_uid: int) -> bool:
        """Whether the other writing jobs must leave the property to ``COMPLETING_JOB``."""
        return property_uid in self._unfinished

    def completing(self, property_uids: Iterable[int]) -> None:
        """``COMPLETING_JOB`` starts on these: those it never completed are unfinished."""
        self._unfinished.update(uid for uid in property_uids if uid not in self._completed)

    def completion(self, property_uid: int, *, done: bool, transient: bool = False) -> None:
        """How ``COMPLETING_JOB``'s work on the property went. A transient failure keeps it
        unfinished until that job tries again; an error of its own lets the others go on (the
        property is paused for every job anyway)."""
        if done:
            self._completed.add(property_uid)
        if done or not transient:
            self._unfinished.discard(property_uid)
        else:
            self._unfinished.add(property_uid)
