"""What the running worker counts, as one JSON-able snapshot and as Prometheus text.

``WorkerMetrics`` is told when each job starts and finishes; ``snapshot()`` joins that with the
API client's counters into the plain dict that the heartbeat file, the ``worker.heartbeat`` log
line and ``/metrics`` all show, so operators see the same numbers wherever they look.
``render_prometheus`` is a pure function of that dict (text format 0.0.4, rendered by hand: a
handful of series does not justify a dependency).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from worker.api.client import ClientStats

__all__ = ["JobStatus", "WorkerMetrics", "render_prometheus"]


@dataclass
class JobStatus:
    """One job's run counters and wall-clock marks (UNIX seconds)."""

    interval_s: float
    runs: int = 0
    failures: int = 0
    running_since: float | None = None
    last_finished: float | None = None
    last_ok: float | None = None
    failing_since: float | None = None  # first failure of the current run of failures

    def as_dict(self, now: float) -> dict[str, Any]:
        return {
            "interval_s": self.interval_s,
            "runs": self.runs,
            "failures": self.failures,
            "running_since": self.running_since,
            "last_ok": self.last_ok,
            # Seconds since the job last succeeded; None before its first success.
            "lag_s": None if self.last_ok is None else round(now - self.last_ok, 3),
        }


class WorkerMetrics:
    """Job counters kept by the scheduler's runner; read by the heartbeat and ``/metrics``."""

    def __init__(
        self, intervals: Mapping[str, float], *, wall: Callable[[], float] = time.time
    ) -> None:
        self.wall = wall
        self.started_at = wall()
        self.jobs = {name: JobStatus(interval) for name, interval in intervals.items()}

    def job_started(self, name: str) -> None:
        self.jobs[name].running_since = self.wall()

    def job_finished(self, name: str, *, ok: bool) -> None:
        status, now = self.jobs[name], self.wall()
        status.runs += 1
        status.running_since = None
        status.last_finished = now
        if ok:
            status.last_ok, status.failing_since = now, None
        else:
            status.failures += 1
            status.failing_since = status.failing_since or now

    def oldest_undelivered_booking_s(self, now: float) -> float:
        """How long the bookings job has been failing (so pulled bookings may wait); 0 if not."""
        status = self.jobs.get("bookings")
        if status is None or status.failing_since is None:
            return 0.0
        return round(now - status.failing_since, 3)

    def snapshot(self, stats: ClientStats, *, ready: bool) -> dict[str, Any]:
        """Everything the heartbeat reports, as plain JSON values."""
        now = self.wall()
        return {
            "written_at": now,
            "uptime_s": round(now - self.started_at, 3),
            "ready": ready,
            "requests_by_status": dict(sorted(stats.requests_by_status.items())),
            "retries": stats.retries,
            "token_refreshes": stats.token_refreshes,
            "jobs": {name: status.as_dict(now) for name, status in self.jobs.items()},
            "oldest_undelivered_booking_s": self.oldest_undelivered_booking_s(now),
        }


def _series(name: str, kind: str, help_text: str, samples: list[tuple[str, float]]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{labels} {value:g}" for labels, value in samples]
    return lines


def _by_job(snapshot: Mapping[str, Any], key: str) -> list[tuple[str, float]]:
    jobs: Mapping[str, Mapping[str, Any]] = snapshot.get("jobs", {})
    return [
        (f'{{job="{name}"}}', float(job[key]))
        for name, job in jobs.items()
        if job.get(key) is not None
    ]


def render_prometheus(snapshot: Mapping[str, Any]) -> str:
    """The snapshot as Prometheus text exposition format (names prefixed ``bookyflow_``)."""
    by_status = [
        (f'{{status="{status}"}}', float(count))
        for status, count in snapshot.get("requests_by_status", {}).items()
    ]
    lines = [
        *_series("bookyflow_requests_total", "counter", "API answers by status.", by_status),
        *_series(
            "bookyflow_retries_total", "counter", "Retried attempts.", [("", snapshot["retries"])]
        ),
        *_series(
            "bookyflow_token_refreshes_total",
            "counter",
            "Tokens obtained.",
            [("", snapshot["token_refreshes"])],
        ),
        *_series("bookyflow_job_runs_total", "counter", "Job runs.", _by_job(snapshot, "runs")),
        *_series(
            "bookyflow_job_failures_total", "counter", "Failed runs.", _by_job(snapshot, "failures")
        ),
        *_series(
            "bookyflow_sync_lag_seconds",
            "gauge",
            "Seconds since the job last succeeded.",
            _by_job(snapshot, "lag_s"),
        ),
        *_series(
            "bookyflow_oldest_undelivered_booking_seconds",
            "gauge",
            "How long site bookings may have waited for delivery.",
            [("", snapshot["oldest_undelivered_booking_s"])],
        ),
        *_series(
            "bookyflow_ready",
            "gauge",
            "Token valid and channel announced.",
            [("", 1.0 if snapshot.get("ready") else 0.0)],
        ),
    ]
    return "\n".join(lines) + "\n"
