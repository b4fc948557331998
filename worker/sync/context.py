"""What every sync job is given, what it returns, and the per-property rules they all obey.

- ``OwnedProperties`` is the set of properties this channel created (uid ↔ remote uid). The CMF
  layer's ownership guard reads it, so no job can touch another channel's property.
- ``PropertyGates`` allows at most one write in flight per property and decides how long a
  failed property waits, by what failed (issue 11): an error of the property's own (a validation
  error, a refusal, a bug: anything that would repeat) pauses it 60 s, doubling, capped; a
  transient failure of the site (``retry.is_transient``: 5xx, 429, a reset, a spoilt body)
  defers it by seconds only (``PROPERTY_RETRY``'s backoff), and ``for_each_property`` tries it
  again within the run; a site-wide failure (open breaker, no token) does not touch it at all.
  It also tells the other writing jobs whether the properties job has completed a property
  (``COMPLETING_JOB``), so nothing is pushed into a property whose rooms are not there yet.
- ``run_job`` runs one job, never lets its exception escape (a daemon must outlive a bad cycle)
  and logs exactly one ``job.finished`` summary line. A job stopped by one of our typed errors
  (the site is down, the breaker is open, no token, a refusal) logs only that line, at WARNING,
  with ``error_type``: the message says what happened. Only an unexpected exception (a bug) adds
  ``job.crashed`` with its traceback.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

import structlog

from worker.api.cmf import Cmf
from worker.api.retry import RetryPolicy, is_transient
from worker.clock import Clock
from worker.errors import BookyFlowError, CircuitOpen, TokenUnavailable
from worker.inventory.sink import BookingSink
from worker.inventory.source import InventorySource
from worker.logging import get_logger
from worker.ownership import OwnedProperties
from worker.settings import Settings
from worker.state import StateStore

log = get_logger(__name__)

# The pause after an error of the property's own (the peers' rule: a minute, then doubling).
BACKOFF_FIRST_S = 60.0
BACKOFF_MAX_S = 3600.0
# After a transient failure a property's work is tried again within the run: up to 5 attempts,
# full-jitter delays from 1 s doubling to 8 s (at least a Retry-After), under 30 s in all. The
# work of every job is safe to repeat: each run re-plans from state and the site, and resolves
# an ambiguous write first (the reservations job reads list/bookings before a re-send). What
# succeeded stays done, so each attempt has less left to do: a property with a dozen writes
# under 30 % 503s needed more than 3 (bench/faults.py).
PROPERTY_RETRY = RetryPolicy(
    max_attempts=5, max_total_s=30.0, base_delay_s=1.0, max_delay_s=8.0, retry_after_cap_s=8.0
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
class _Backoff:
    failures: int = 0  # the property's own errors in a row: the long pause doubles with them
    transient: int = 0  # transient failures in a row: the short retry delay doubles with them
    until: float = 0.0


class PropertyGates:
    """One write in flight per property, and how long a failed property waits (module doc)."""

    def __init__(self, clock: Clock, *, rng: random.Random | None = None) -> None:
        self._clock = clock
        self._rng = rng or random.Random()
        self._locks: dict[int, asyncio.Lock] = {}
        self._backoff: dict[int, _Backoff] = {}
        self._unfinished: set[int] = set()  # see COMPLETING_JOB (both bounded by the properties)
        self._completed: set[int] = set()

    def ready(self, property_uid: int) -> bool:
        """False while the property is backing off after a failure."""
        backoff = self._backoff.get(property_uid)
        return backoff is None or self._clock.now() >= backoff.until

    def retry_in_s(self, property_uid: int) -> float:
        backoff = self._backoff.get(property_uid)
        return 0.0 if backoff is None else max(0.0, backoff.until - self._clock.now())

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
        """An error of the property's own: 60 s, doubling with each one in a row, capped."""
        backoff = self._backoff.setdefault(property_uid, _Backoff())
        backoff.failures += 1
        delay = min(BACKOFF_MAX_S, BACKOFF_FIRST_S * 2 ** (backoff.failures - 1))
        backoff.until = self._clock.now() + delay

    def deferred(self, property_uid: int, exc: BaseException) -> None:
        """A transient failure: try again in seconds (``PROPERTY_RETRY``), never sooner than a
        pause the property already has."""
        backoff = self._backoff.setdefault(property_uid, _Backoff())
        backoff.transient += 1
        delay = PROPERTY_RETRY.wait_s(backoff.transient, exc, self._rng)
        backoff.until = max(backoff.until, self._clock.now() + delay)

    def succeeded(self, property_uid: int) -> None:
        self._backoff.pop(property_uid, None)

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


@dataclass
class SyncContext:
    """Everything a job needs; built once by the service and shared by every job run."""

    settings: Settings
    cmf: Cmf
    state: StateStore
    source: InventorySource
    sink: BookingSink
    owned: OwnedProperties
    gates: PropertyGates
    clock: Clock
    today: Callable[[], date]  # "today" in BOOKYFLOW_TIMEZONE: the horizon never reaches back


@dataclass
class JobResult:
    """What one run did: counters such as ``created``, ``pushed``, ``failed``, ``deferred``."""

    job: str
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    def fail(self, where: str, exc: BaseException) -> None:
        self.counts["failed"] += 1
        self.errors.append(f"{where}: {type(exc).__name__}: {exc}")


class Job(Protocol):
    """A scheduled sync job. ``scopes`` are the OAuth scopes its requests need."""

    name: str
    scopes: tuple[str, ...]

    async def run(self, ctx: SyncContext) -> JobResult: ...


async def run_job(job: Job, ctx: SyncContext) -> JobResult:
    """Run ``job`` once; log one ``job.finished`` line; never raise (except cancellation)."""
    started = time.perf_counter()
    with structlog.contextvars.bound_contextvars(job=job.name):
        aborted: dict[str, str] = {}
        try:
            result = await job.run(ctx)
        except Exception as exc:  # a daemon must outlive any one bad cycle
            result = JobResult(job.name)
            result.fail("job", exc)
            aborted["error_type"] = type(exc).__name__
            if not isinstance(exc, BookyFlowError):  # a bug: its traceback is the report
                log.exception("job.crashed", error=type(exc).__name__)
        duration_ms = round((time.perf_counter() - started) * 1000, 1)
        level = log.info if result.ok else log.warning
        level(
            "job.finished",
            ok=result.ok,
            duration_ms=duration_ms,
            counts=dict(result.counts),
            errors=result.errors[:5],
            **aborted,
        )
    return result
