"""The job runner (one run per job, ordered first cycle, drain) and the APScheduler wiring."""

from __future__ import annotations

import asyncio
import random
import re
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any, cast

import pytest
from structlog.testing import capture_logs

from tests.test_service import StandInJob
from worker.metrics import WorkerMetrics
from worker.scheduler import (
    FIRST_CYCLE_ID,
    JobRunner,
    build_scheduler,
    interval_jitter_s,
    misfire_grace_s,
)
from worker.sync.context import SyncContext
from worker.sync.job import Job
from worker.telemetry import Telemetry
from worker.testing import FakeClock

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
INTERVALS = {"properties": 600.0, "ari": 300.0, "reservations": 60.0, "bookings": 2.0}


class NoJitter(random.Random):
    """Every draw is the low end of its range, so schedules are exact."""

    def uniform(self, a: float, b: float) -> float:
        return a


def runner_for(jobs: dict[str, StandInJob]) -> JobRunner:
    # The stand-in jobs never read the context; ``run_job`` reads only its clock.
    ctx = cast(SyncContext, SimpleNamespace(clock=FakeClock()))
    metrics = WorkerMetrics({name: 60.0 for name in jobs}, clock=FakeClock(wall_start=1000.0))
    return JobRunner(cast(dict[str, Job], jobs), ctx, metrics)


def test_every_job_is_scheduled_with_explicit_limits() -> None:
    """Each interval job has max_instances=1, coalescing, a misfire grace and jitter."""
    scheduler = build_scheduler(runner_for({}), INTERVALS, now=NOW, rng=NoJitter())
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {FIRST_CYCLE_ID, *INTERVALS}
    for name, interval_s in INTERVALS.items():
        job: Any = jobs[name]
        assert (job.max_instances, job.coalesce) == (1, True)
        assert job.misfire_grace_time == misfire_grace_s(interval_s)
        assert job.trigger.interval == timedelta(seconds=interval_s)
        assert job.trigger.jitter == interval_jitter_s(interval_s)
        assert job.next_run_time == NOW + timedelta(seconds=interval_s)
    first_cycle: Any = jobs[FIRST_CYCLE_ID]
    assert first_cycle.trigger.run_date == NOW


def test_jitter_and_grace_scale_with_the_interval_and_are_capped() -> None:
    """Jitter is 10 % of the interval up to 30 s; a misfire grace is half an interval, ≥ 1 s."""
    assert interval_jitter_s(60) == pytest.approx(6.0)
    assert interval_jitter_s(3600) == 30.0
    assert misfire_grace_s(0.5) == 1
    assert misfire_grace_s(600) == 300


async def test_first_cycle_runs_every_job_in_order_right_after_start() -> None:
    """The scheduler's first cycle runs properties, ari, reservations, bookings in that order."""
    order: list[str] = []
    jobs = {name: StandInJob(name, log=order) for name in INTERVALS}
    runner = runner_for(jobs)
    scheduler = build_scheduler(runner, INTERVALS, rng=NoJitter())
    scheduler.start()
    try:
        await jobs["bookings"].started.wait()
    finally:
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)  # shutdown is scheduled on the loop
    assert order == list(INTERVALS)


async def test_a_job_never_runs_twice_at_once() -> None:
    """While a run of a job is in progress, another run of it is skipped and logged."""
    gate = asyncio.Event()
    job = StandInJob("ari", gate=gate)
    runner = runner_for({"ari": job})
    first = asyncio.create_task(runner.run("ari"))
    await job.started.wait()
    with capture_logs() as logs:
        assert await runner.run("ari") is None
    assert logs[0]["event"] == "job.skipped"
    gate.set()
    assert await first is not None
    assert job.runs == 1


async def test_drain_waits_for_running_jobs_then_blocks_new_runs() -> None:
    """drain() lets a running job finish, reports a clean stop and refuses later runs."""
    gate = asyncio.Event()
    job = StandInJob("bookings", gate=gate)
    runner = runner_for({"bookings": job})
    running = asyncio.create_task(runner.run("bookings"))
    await job.started.wait()
    draining = asyncio.create_task(runner.drain(grace_s=30))
    await asyncio.sleep(0)
    gate.set()
    assert await draining is True
    assert (await running) is not None
    assert await runner.run("bookings") is None
    assert job.runs == 1


async def test_drain_cancels_what_outlives_the_grace_period() -> None:
    """A job still running at the end of the grace period is cancelled; drain reports it."""
    job = StandInJob("ari", gate=asyncio.Event())
    runner = runner_for({"ari": job})
    running = asyncio.create_task(runner.scheduled("ari"))
    await job.started.wait()
    with capture_logs() as logs:
        assert await runner.drain(grace_s=0.01) is False
        await running
    assert job.finished == 0
    assert [entry["event"] for entry in logs] == ["job.cancelled"]
    assert runner.running == ()


async def test_runs_are_counted_in_the_metrics() -> None:
    """Each finished run bumps the job's run counter and marks its last success."""
    runner = runner_for({"properties": StandInJob("properties")})
    await runner.run_in_order(["properties"])
    status = runner.metrics.jobs["properties"]
    assert (status.runs, status.failures, status.last_ok) == (1, 0, 1000.0)


async def test_a_scheduled_run_reports_how_late_it_started() -> None:
    """Each scheduled run (not the first cycle) observes its lateness in the lag histogram."""
    jobs = {"bookings": StandInJob("bookings")}
    runner = runner_for(jobs)
    telemetry = Telemetry(dict)
    runner.metrics.live = telemetry.site("default")
    scheduler = build_scheduler(runner, {"bookings": 0.2}, rng=NoJitter())
    scheduler.start()
    try:
        for _ in range(3):  # the first cycle's run, then scheduled ones
            jobs["bookings"].started.clear()
            await asyncio.wait_for(jobs["bookings"].started.wait(), timeout=5)
    finally:
        scheduler.shutdown(wait=False)
        await asyncio.sleep(0)
    text = telemetry.render().decode()
    count = re.search(r'bookyflow_scheduler_lag_seconds_count\{job="bookings"\} (\S+)', text)
    assert count is not None, text
    assert float(count.group(1)) >= 1
    assert 'bookyflow_scheduler_lag_seconds_count{job="first-cycle"}' not in text


async def test_a_scheduled_run_is_skipped_while_the_first_cycle_runs() -> None:
    """The first cycle runs every job in order; a scheduled run beside it is skipped, and once
    the cycle has ended scheduled runs happen again."""
    gate = asyncio.Event()
    jobs = {"properties": StandInJob("properties", gate=gate), "ari": StandInJob("ari")}
    runner = runner_for(jobs)
    cycle = asyncio.ensure_future(runner.first_cycle(["properties", "ari"]))
    await jobs["properties"].started.wait()
    with capture_logs() as logs:
        await runner.scheduled("ari")
    assert [e["reason"] for e in logs if e["event"] == "job.skipped"] == [
        "the first cycle is still running"
    ]
    assert not jobs["ari"].started.is_set()
    gate.set()
    await cycle
    assert jobs["ari"].started.is_set()  # the cycle's own run
    jobs["ari"].started.clear()
    await runner.scheduled("ari")
    assert jobs["ari"].started.is_set()
