"""What the running worker counts, as one JSON-able snapshot and as Prometheus text.

``WorkerMetrics`` is told when each job starts and finishes; ``snapshot()`` joins that with the
API client's counters into the plain dict that the heartbeat file, the ``worker.heartbeat`` log
line and ``/metrics`` all show, so operators see the same numbers wherever they look.
``render_prometheus`` is a pure function of that dict (text format 0.0.4, rendered by hand: a
handful of series does not justify a dependency).
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from worker.api.client import ClientStats

__all__ = ["JobStatus", "WorkerMetrics", "combine_sites", "render_prometheus"]


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
    held: int = 0  # properties the last run left held, incomplete or unpublishable

    def as_dict(self, now: float) -> dict[str, Any]:
        return {
            "interval_s": self.interval_s,
            "runs": self.runs,
            "failures": self.failures,
            "running_since": self.running_since,
            "held": self.held,
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
        # Set by the webhook sink (``OutboxStats.as_dict``): its outbox and attempt counters.
        self.webhooks: Callable[[], Mapping[str, int]] | None = None

    def job_started(self, name: str) -> None:
        self.jobs[name].running_since = self.wall()

    def job_finished(self, name: str, *, ok: bool, held: int = 0) -> None:
        status, now = self.jobs[name], self.wall()
        status.runs += 1
        status.held = held
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

    def snapshot(
        self, stats: ClientStats, *, ready: bool, breaker: str | None = None
    ) -> dict[str, Any]:
        """Everything the heartbeat reports, as plain JSON values (``breaker``: its state)."""
        now = self.wall()
        return {
            "written_at": now,
            "uptime_s": round(now - self.started_at, 3),
            "ready": ready,
            "breaker": breaker,
            "requests_by_status": dict(sorted(stats.requests_by_status.items())),
            "retries": stats.retries,
            "token_refreshes": stats.token_refreshes,
            "jobs": {name: status.as_dict(now) for name, status in self.jobs.items()},
            "oldest_undelivered_booking_s": self.oldest_undelivered_booking_s(now),
            **({"webhooks": dict(self.webhooks())} if self.webhooks is not None else {}),
        }


def combine_sites(
    sites: Mapping[str, Mapping[str, Any]], *, now: float, started_at: float
) -> dict[str, Any]:
    """One process snapshot from per-site snapshots (``worker.supervisor``).

    Counters are summed, ``ready`` means at least one site is ready, and jobs are keyed
    ``<site>/<job>`` so the heartbeat's stall check sees every site's jobs. ``sites`` keeps each
    site's own snapshot for ``/metrics`` (rendered with a ``site`` label).
    """
    by_status: Counter[str] = Counter()
    jobs: dict[str, Any] = {}
    for label, site in sites.items():
        by_status.update(site.get("requests_by_status", {}))
        jobs.update({f"{label}/{name}": job for name, job in site.get("jobs", {}).items()})
    return {
        "written_at": now,
        "uptime_s": round(now - started_at, 3),
        "ready": any(site.get("ready") for site in sites.values()),
        "sites_ready": sum(1 for site in sites.values() if site.get("ready")),
        "sites_total": len(sites),
        "requests_by_status": dict(sorted(by_status.items())),
        "retries": sum(site.get("retries", 0) for site in sites.values()),
        "token_refreshes": sum(site.get("token_refreshes", 0) for site in sites.values()),
        "jobs": jobs,
        "oldest_undelivered_booking_s": max(
            (site.get("oldest_undelivered_booking_s", 0.0) for site in sites.values()),
            default=0.0,
        ),
        "sites": {label: dict(site) for label, site in sites.items()},
    }


Samples = list[tuple[str, float]]  # (labels inside the braces, value)


def _series(name: str, kind: str, help_text: str, samples: Samples) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    lines += [f"{name}{{{labels}}} {value:g}" if labels else f"{name} {value:g}"
              for labels, value in samples]  # fmt: skip
    return lines


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _by_job(key: str) -> Callable[[Mapping[str, Any]], Samples]:
    def pick(snapshot: Mapping[str, Any]) -> Samples:
        jobs: Mapping[str, Mapping[str, Any]] = snapshot.get("jobs", {})
        return [
            (f'job="{_label_value(name)}"', float(job[key]))
            for name, job in jobs.items()
            if job.get(key) is not None
        ]

    return pick


def _scalar(key: str) -> Callable[[Mapping[str, Any]], Samples]:
    return lambda snapshot: [("", float(snapshot.get(key) or 0))]


def _by_status(snapshot: Mapping[str, Any]) -> Samples:
    return [
        (f'status="{_label_value(str(status))}"', float(count))
        for status, count in snapshot.get("requests_by_status", {}).items()
    ]


def _webhooks(keys: Mapping[str, str], label: str) -> Callable[[Mapping[str, Any]], Samples]:
    """Samples of the webhook sink's counters ``keys`` (snapshot key → label value)."""

    def pick(snapshot: Mapping[str, Any]) -> Samples:
        webhooks: Mapping[str, int] | None = snapshot.get("webhooks")
        if webhooks is None:  # the file sink or a plug-in: no series samples
            return []
        return [(f'{label}="{value}"', float(webhooks.get(key, 0))) for key, value in keys.items()]

    return pick


# (name, type, help, samples of one site's snapshot)
_SERIES: tuple[tuple[str, str, str, Callable[[Mapping[str, Any]], Samples]], ...] = (
    ("bookyflow_requests_total", "counter", "API answers by status.", _by_status),
    ("bookyflow_retries_total", "counter", "Retried attempts.", _scalar("retries")),
    ("bookyflow_token_refreshes_total", "counter", "Tokens obtained.",
     _scalar("token_refreshes")),
    ("bookyflow_job_runs_total", "counter", "Job runs.", _by_job("runs")),
    ("bookyflow_job_failures_total", "counter", "Failed runs.", _by_job("failures")),
    ("bookyflow_sync_lag_seconds", "gauge", "Seconds since the job last succeeded.",
     _by_job("lag_s")),
    ("bookyflow_held_items", "gauge",
     "Items the job's last run left waiting (incomplete properties, held entries).",
     _by_job("held")),
    ("bookyflow_oldest_undelivered_booking_seconds", "gauge",
     "How long site bookings may have waited for delivery.",
     _scalar("oldest_undelivered_booking_s")),
    ("bookyflow_ready", "gauge", "Started, token valid and the site's breaker closed.",
     lambda snapshot: [("", 1.0 if snapshot.get("ready") else 0.0)]),
    ("bookyflow_breaker_open", "gauge",
     "1 while the site's circuit breaker is open or half-open (the site stopped answering).",
     lambda snapshot: [("", 1.0 if snapshot.get("breaker") in ("open", "half_open") else 0.0)]),
    ("bookyflow_webhook_outbox", "gauge",
     "Site bookings in the webhook outbox: pending delivery, or dead-lettered until re-driven.",
     _webhooks({"pending": "pending", "dead_lettered": "dead_lettered"}, "state")),
    ("bookyflow_webhook_attempts_total", "counter", "Webhook deliveries tried, by outcome.",
     _webhooks({"delivered_total": "delivered", "failed_total": "failed",
                "dead_lettered_total": "dead_lettered"}, "outcome")),
)  # fmt: skip


def render_prometheus(snapshot: Mapping[str, Any]) -> str:
    """The snapshot as Prometheus text exposition format (names prefixed ``bookyflow_``).

    A process serving many sites (a snapshot with ``sites``) labels every sample ``site="..."``.
    """
    sites: Mapping[str, Mapping[str, Any]] | None = snapshot.get("sites")
    parts = (
        [("", snapshot)]
        if sites is None
        else [(f'site="{_label_value(label)}"', site) for label, site in sites.items()]
    )
    lines: list[str] = []
    for name, kind, help_text, pick in _SERIES:
        samples = [
            (",".join(label for label in (site_label, labels) if label), value)
            for site_label, part in parts
            for labels, value in pick(part)
        ]
        lines += _series(name, kind, help_text, samples)
    return "\n".join(lines) + "\n"
