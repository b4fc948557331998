"""Many BookyFlow sites in one process: one ``Worker`` per site, kept apart, in one event loop.

Each site (``worker.sites.SiteSettings``) has its own ``Worker``, hence its own HTTP session,
token manager, circuit breaker, rate gate, state store and scheduler. Start-up failures are
handled as the single-site daemon handles them, by their kind:

- the site's passing trouble (down, 5xx, 429, a spoilt body: ``retry.is_transient``) is retried
  by the site's own worker on the start-up backoff (``Settings.backoff.start()``: 1 s doubling
  to 5 min, never before its breaker admits a probe), one ``worker.start_failed`` WARNING per
  attempt. A site answering a burst of 429s at start-up is syncing seconds later, not after a
  minute (the many-sites soak's ``steady`` site, under chaos);
- what trying again soon cannot fix (credentials or scopes refused, a bad inventory path, a
  bug) is logged as ``site.failed`` with its label and error class and tried again on a slow
  schedule (``Settings.backoff.site_restart()`` of the process settings: 60 s doubling to 15
  min).

Either way the other sites run on; one site never stops them.

SIGHUP (``request_reload``) reloads every running site's worker as the single-site daemon does:
its bookings file reopened by name and its inventory re-read now, one ``worker.reload`` line per
site (with ``site``), plus one ``supervisor.reload`` line naming the sites reloaded and those not
running (a site starting or waiting to retry opens and reads everything at its next start-up).

The process has one heartbeat file (``<state root>/heartbeat.json``), one ``/healthz /readyz
/metrics`` server and one ``SignalStop``. Its one metrics registry (``worker.telemetry``) is
shared by every site's worker: counters and gauges carry ``site="<label>"``, the histograms
carry no site (see ``docs/metrics.md``). ``/readyz``
answers ready when at least one site is ready: the process is doing useful work, and one bad
site must not take the others out of a load balancer or restart them. Every log line a site's
tasks write carries ``site=<label>``.

Young garbage collections are made rarer, and once every site has started and once every
running site's first cycle has ended, the process's heap is settled (``worker.heap``): what lives
from then on is no longer walked by every full garbage collection, which at a thousand sites
took a third of the CPU.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from typing import Any, Literal

import structlog

from worker.clock import Clock, SystemClock
from worker.closing import AsyncClosing
from worker.health import HealthServer, HealthSources, start_health
from worker.heap import settle, tune
from worker.logging import get_logger
from worker.metrics import combine_sites
from worker.service import Worker
from worker.settings import Settings
from worker.sites import SiteSettings
from worker.sync.job import Job
from worker.telemetry import Telemetry

__all__ = ["SiteRun", "Supervisor"]

log = get_logger("worker.supervisor")

SiteState = Literal["starting", "running", "failed", "stopped"]


@dataclass
class SiteRun:
    """The supervisor's view of one site: its current worker and how its start-ups went."""

    site: SiteSettings
    state: SiteState = "starting"
    worker: Worker | None = None
    failures: int = 0
    last_error_type: str | None = None
    retry_at: float | None = None

    @property
    def ready(self) -> bool:
        return self.state == "running" and self.worker is not None and self.worker.ready

    def snapshot(self, now: float) -> dict[str, Any]:
        base = self.worker.snapshot() if self.worker is not None else {}
        retry_in_s = None if self.retry_at is None else round(max(0.0, self.retry_at - now), 3)
        return {
            **base,
            "ready": self.ready,
            "state": self.state,
            "failures": self.failures,
            "last_error_type": self.last_error_type,
            "retry_in_s": retry_in_s,
        }


class Supervisor(AsyncClosing):
    """Runs every site of this shard; ``async with Supervisor(...) as s: await s.run()``.

    Its one ``clock`` is every site's worker's clock too (unless ``new_worker`` builds them).
    """

    def __init__(
        self,
        process: Settings,
        sites: Sequence[SiteSettings],
        *,
        jobs: Mapping[str, Job] | None = None,
        clock: Clock | None = None,
        new_worker: Callable[[Settings], Worker] | None = None,
        heartbeat_file_interval_s: float = 10.0,
        heartbeat_log_interval_s: float = 60.0,
    ) -> None:
        self.process = process
        self.runs = {site.label: SiteRun(site) for site in sites}
        self.clock: Clock = clock or SystemClock()
        self._new_worker = new_worker or (
            lambda s: Worker(s, jobs=jobs, clock=self.clock, heartbeat=False, retry_start=True)
        )
        self.restart_backoff = process.backoff.site_restart()
        self.heartbeat_file_interval_s = heartbeat_file_interval_s
        self.heartbeat_log_interval_s = heartbeat_log_interval_s
        self.started_at = self.clock.wall()
        self.telemetry = Telemetry(self.site_snapshots)
        self.health: HealthServer | None = None
        self.running = False
        self.stop_reason: str | None = None
        self._stop = asyncio.Event()
        self._changed = asyncio.Event()  # set when a site's state changes or a first cycle ends
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._stack = AsyncExitStack()
        self._closed = False

    def __repr__(self) -> str:
        return f"Supervisor(sites={len(self.runs)}, running={self.running})"

    @property
    def ready(self) -> bool:
        """At least one site has a valid token and an announced channel (``/readyz``)."""
        return any(run.ready for run in self.runs.values())

    def site_snapshots(self) -> dict[str, dict[str, Any]]:
        """Each site's own snapshot, by label (the gauges of ``/metrics`` read these)."""
        now = self.clock.now()
        return {label: run.snapshot(now) for label, run in self.runs.items()}

    def snapshot(self) -> dict[str, Any]:
        sites = self.site_snapshots()
        return combine_sites(sites, now=self.clock.wall(), started_at=self.started_at)

    def _new_site_worker(self, run: SiteRun) -> Worker:
        worker = self._new_worker(run.site.settings)
        worker.bind_telemetry(self.telemetry.site(run.site.label))
        worker.on_first_cycle_end = self._changed.set
        return worker

    def request_stop(self, reason: str = "requested") -> None:
        """Stop every site (idempotent): running ones drain, starting or waiting ones end now."""
        if self._stop.is_set():
            return
        self.stop_reason = reason
        log.info("supervisor.stopping", signal=reason, sites=len(self.runs))
        self._stop.set()
        for label, run in self.runs.items():
            if run.state == "running" and run.worker is not None:
                run.worker.request_stop(reason)
            elif label in self._tasks:
                self._tasks[label].cancel()

    def request_reload(self, reason: str = "requested") -> None:
        """SIGHUP: every running site reopens its bookings file and re-reads its inventory.

        Returns at once (it runs from a signal handler): each site's ``Worker.request_reload``
        reloads in a task of its own, created with the site's label bound so its
        ``worker.reload`` line says which site it is.
        """
        reloaded: list[str] = []
        for label, run in self.runs.items():
            if run.state == "running" and run.worker is not None:
                with structlog.contextvars.bound_contextvars(site=label):
                    run.worker.request_reload(reason)
                reloaded.append(label)
        waiting = [label for label in self.runs if label not in reloaded]
        log.info("supervisor.reload", signal=reason, sites=reloaded, not_running=waiting)

    async def run(self) -> None:
        """Every site until ``request_stop()``; returns when all of them have stopped."""
        await self._start_health()
        log.info("supervisor.started", sites=list(self.runs), shard=self._shard())
        if not self.runs:
            log.warning("supervisor.no_sites", shard=self._shard())
        loop = asyncio.get_running_loop()
        self._tasks = {
            label: loop.create_task(self._keep(run), name=f"site:{label}")
            for label, run in self.runs.items()
        }
        tune()
        settler = loop.create_task(self._settle_heap(), name="heap")
        self.running = True
        try:
            await self._stop.wait()
            await asyncio.gather(*self._tasks.values(), return_exceptions=True)
        finally:
            # Reached early only on cancellation (a second signal): stop the sites at once.
            settler.cancel()
            for task in self._tasks.values():
                task.cancel()
            await asyncio.gather(settler, *self._tasks.values(), return_exceptions=True)
            self.running = False

    async def _settle_heap(self) -> None:
        """``heap.settle`` once every site has started, and once every running site's first
        cycle has ended (a failed site is not waited for)."""
        runs = self.runs.values()
        await self._until(lambda: all(run.state != "starting" for run in runs))
        settle("sites started")
        await self._until(
            lambda: all(
                run.state != "running" or (run.worker is not None and run.worker.first_cycle_ended)
                for run in runs
            )
        )
        settle("first cycles ended")

    async def _until(self, condition: Callable[[], bool]) -> None:
        """Until ``condition()`` holds, looked at again whenever a site's state changes."""
        while not condition():
            self._changed.clear()
            await self._changed.wait()

    def _shard(self) -> str:
        return f"{self.process.shard_index}/{self.process.shard_count}"

    async def _keep(self, run: SiteRun) -> None:
        """Start the site, run it until the stop, and start it again after a failure."""
        with structlog.contextvars.bound_contextvars(site=run.site.label):
            while not self._stop.is_set():
                if await self._attempt(run):
                    return
                await self.clock.sleep(max(0.0, (run.retry_at or 0.0) - self.clock.now()))

    async def _attempt(self, run: SiteRun) -> bool:
        """One start and run of a site; True when it ran until the stop, False if it failed."""
        worker = self._new_site_worker(run)
        run.worker, run.state = worker, "starting"
        try:
            await worker.start()
            run.state, run.failures, run.retry_at = "running", 0, None
            self._changed.set()
            log.info("site.ready", site=run.site.label, channel_id=worker.channel_id)
            try:
                await worker.run()
            finally:
                await worker.close()
        except Exception as exc:  # one site's failure, whatever it is, must not stop the others
            self._failed(run, exc)
            return False
        run.state = "stopped"
        return True

    def _failed(self, run: SiteRun, exc: Exception) -> None:
        run.state, run.failures = "failed", run.failures + 1
        self._changed.set()
        run.last_error_type = type(exc).__name__
        delay_s = self.restart_backoff.delay_s(run.failures)
        run.retry_at = self.clock.now() + delay_s
        log.error(
            "site.failed",
            site=run.site.label,
            error_type=run.last_error_type,
            error=str(exc),
            failures=run.failures,
            retry_in_s=delay_s,
        )

    async def run_once(self, names: Sequence[str] | None = None) -> dict[str, bool]:
        """Every site's jobs (or those named) once, sites side by side; per site: all ok?"""
        labels = list(self.runs)
        outcomes = await asyncio.gather(*(self._once(self.runs[label], names) for label in labels))
        return dict(zip(labels, outcomes, strict=True))

    async def _once(self, run: SiteRun, names: Sequence[str] | None) -> bool:
        with structlog.contextvars.bound_contextvars(site=run.site.label):
            worker = self._new_site_worker(run)
            run.worker = worker
            try:
                async with worker:
                    run.state = "running"
                    results = await worker.run_once(names)
            except Exception as exc:  # reported per site; the other sites still run
                self._failed(run, exc)
                return False
            run.state = "stopped"
            return all(result.ok for result in results)

    async def _start_health(self) -> None:
        sources = HealthSources(self.snapshot, lambda: self.ready, self.telemetry)
        self.health = await start_health(
            self._stack,
            self.process,
            sources,
            self.clock,
            file_interval_s=self.heartbeat_file_interval_s,
            log_interval_s=self.heartbeat_log_interval_s,
        )

    async def close(self) -> None:
        """Stop the heartbeat and the health server; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        await self._stack.aclose()
        log.info("supervisor.stopped", reason=self.stop_reason)
