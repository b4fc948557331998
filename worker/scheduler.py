"""When jobs run: APScheduler 3 wiring, and the runner that keeps each job to one run at a time.

``JobRunner.run(name)`` runs one job through ``run_job`` (one ``job.finished`` line, never
raises), skips it when a run of the same job is still going, records metrics (its outcome,
its duration as ``run_job`` measured it on the context's clock, and held items), and remembers
its task so that shutdown can drain it. ``build_scheduler`` adds one interval job per enabled
job, each with an explicit ``max_instances=1``, coalescing, a misfire grace and jitter, plus a
one-off *first cycle* that runs every job once, in order, right after start-up (properties before
ARI before reservations before bookings, so a fresh site converges in one cycle).

Shutdown is ``pause()`` → ``runner.drain(grace_s)`` → ``shutdown(wait=False)``: APScheduler's
asyncio executor cancels running jobs on shutdown, so it must come last.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime, timedelta

from apscheduler.events import EVENT_JOB_SUBMITTED, JobSubmissionEvent
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from apscheduler.triggers.date import DateTrigger
from apscheduler.triggers.interval import IntervalTrigger

from worker.logging import get_logger
from worker.metrics import WorkerMetrics
from worker.sync.context import SyncContext
from worker.sync.job import Job, JobResult, run_job

__all__ = ["FIRST_CYCLE_ID", "JobRunner", "build_scheduler", "interval_jitter_s"]

log = get_logger("worker.scheduler")
FIRST_CYCLE_ID = "first-cycle"
RESERVATIONS_JOB = "reservations"  # its held items are counted in the state store
# Jitter spreads a fleet of workers (and their jobs) over time: 10 % of the interval, capped.
JITTER_FRACTION = 0.1
JITTER_CAP_S = 30.0
# The first cycle starts within this many seconds of start-up.
START_JITTER_CAP_S = 1.0


def interval_jitter_s(interval_s: float) -> float:
    return min(interval_s * JITTER_FRACTION, JITTER_CAP_S)


def misfire_grace_s(interval_s: float) -> int:
    """A run that is late by less than half an interval still happens (coalesced to one)."""
    return max(1, int(interval_s / 2))


class JobRunner:
    """Runs jobs by name: never two runs of one job at once; running tasks can be drained."""

    def __init__(
        self,
        jobs: Mapping[str, Job],
        ctx: SyncContext,
        metrics: WorkerMetrics,
        *,
        on_first_cycle_end: Callable[[], None] | None = None,
    ) -> None:
        self.jobs = dict(jobs)
        self.ctx = ctx
        self.metrics = metrics
        self._running: dict[str, asyncio.Task[object]] = {}
        self._idle: dict[str, asyncio.Event] = {}  # set when that run ends
        self.stopping = False  # set at shutdown: no new run starts, the first cycle stops early
        self._held_counted_at: int | None = None  # the reservations state generation counted
        self.first_cycle_running = False
        self.first_cycle_ended = False  # set once the first cycle has run (or was stopped)
        self._on_first_cycle_end = on_first_cycle_end

    @property
    def running(self) -> tuple[str, ...]:
        return tuple(self._running)

    async def run(self, name: str, ctx: SyncContext | None = None) -> JobResult | None:
        """One run of ``name`` (on ``ctx``, else the runner's); None when skipped (still
        running, or shutting down)."""
        if self.stopping:
            return None
        if name in self._running:
            log.info("job.skipped", job=name, reason="previous run still in progress")
            return None
        task = asyncio.current_task()
        assert task is not None  # always called from a coroutine
        self._running[name] = task
        self._idle[name] = idle = asyncio.Event()
        self.metrics.job_started(name)
        try:
            result = await run_job(self.jobs[name], ctx or self.ctx)
        finally:
            del self._running[name], self._idle[name]
            idle.set()
        if name == RESERVATIONS_JOB:
            await self._count_held_reservations()
        self.metrics.job_finished(
            name, ok=result.ok, counts=result.counts, duration_s=result.duration_s
        )
        return result

    async def _count_held_reservations(self) -> None:
        """The state store's held reservations (a refused one is counted by one run only).

        Counted again only when the reservations state was written since the last count: most
        runs change nothing, and a thousand sites' runs would each cost a query.
        """
        generation = self.ctx.state.generations["reservations"]
        if generation == self._held_counted_at:
            return
        try:
            items, oldest = await self.ctx.state.held_reservations()
        except Exception as exc:  # a metric must never fail the run
            log.warning("metrics.held_unavailable", error=type(exc).__name__)
            return
        oldest_at = None if oldest is None else oldest.timestamp()
        self.metrics.held_in_state("reservation", items, oldest_at)
        self._held_counted_at = generation

    async def run_when_free(self, name: str, ctx: SyncContext | None = None) -> JobResult | None:
        """Like ``run``, but a run of ``name`` already going is waited for instead of skipped."""
        while (idle := self._idle.get(name)) is not None:
            await idle.wait()
        return await self.run(name, ctx)

    async def run_in_order(self, names: Sequence[str]) -> list[JobResult]:
        """Each job once, one after the other (the first cycle and ``sync --once``)."""
        results = []
        for name in names:
            result = await self.run(name)
            if result is not None:
                results.append(result)
        return results

    async def scheduled(self, name: str) -> None:
        """What APScheduler calls. A cancelled run (hard stop) ends quietly: it is logged here.

        While the first cycle is still going, a scheduled run is skipped: the cycle runs every
        job in order, and a run beside it only finds properties not created yet. A thousand
        sites' first cycles take minutes on two cores, and their scheduled runs meanwhile took
        most of the CPU the cycles needed.
        """
        if self.first_cycle_running:  # expected, and at scale a line per site per tick: DEBUG
            log.debug("job.skipped", job=name, reason="the first cycle is still running")
            return
        try:
            await self.run(name)
        except asyncio.CancelledError:
            log.warning("job.cancelled", job=name)

    async def first_cycle(self, names: Sequence[str]) -> None:
        self.first_cycle_running = True
        try:
            await self.run_in_order(names)
        except asyncio.CancelledError:
            log.warning("job.cancelled", job=FIRST_CYCLE_ID)
        finally:
            self.first_cycle_running = False
            self.first_cycle_ended = True
            if self._on_first_cycle_end is not None:
                self._on_first_cycle_end()

    async def drain(self, grace_s: float) -> bool:
        """Wait up to ``grace_s`` for running jobs, then cancel the rest; True if none was."""
        self.stopping = True
        tasks = set(self._running.values())
        if not tasks:
            return True
        _, pending = await asyncio.wait(tasks, timeout=grace_s)
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.wait(pending)
        return not pending


def build_scheduler(
    runner: JobRunner,
    intervals: Mapping[str, float],
    *,
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> AsyncIOScheduler:
    """A scheduler (not started) with the first cycle and one interval job per entry."""
    rng = rng or random.Random()
    # APScheduler fires on the real wall clock (it reads it itself), so its dates are in its terms.
    now = now or datetime.now(UTC)
    scheduler = AsyncIOScheduler(timezone=UTC)
    first_run = now + timedelta(seconds=rng.uniform(0, START_JITTER_CAP_S))
    scheduler.add_job(
        runner.first_cycle,
        DateTrigger(run_date=first_run, timezone=UTC),
        args=[list(intervals)],
        id=FIRST_CYCLE_ID,
        name=FIRST_CYCLE_ID,
        max_instances=1,
        misfire_grace_time=None,  # however late, the first cycle must run
    )
    for name, interval_s in intervals.items():
        jitter_s = interval_jitter_s(interval_s)
        scheduler.add_job(
            runner.scheduled,
            IntervalTrigger(seconds=interval_s, jitter=jitter_s or None, timezone=UTC),
            args=[name],
            id=name,
            name=name,
            max_instances=1,
            coalesce=True,
            misfire_grace_time=misfire_grace_s(interval_s),
            next_run_time=first_run + timedelta(seconds=interval_s + rng.uniform(0, jitter_s)),
        )

    def started(event: JobSubmissionEvent) -> None:
        # Lateness against the newest planned time: coalesced older ones were missed, not late.
        if event.job_id != FIRST_CYCLE_ID and event.scheduled_run_times:
            late_s = (datetime.now(UTC) - max(event.scheduled_run_times)).total_seconds()
            runner.metrics.started_late(event.job_id, late_s)

    scheduler.add_listener(started, EVENT_JOB_SUBMITTED)
    return scheduler
