"""What the running worker knows about itself, as one JSON-able snapshot.

``WorkerMetrics`` is told when each job starts and finishes (and what it left held), and when
the inventory was loaded; ``snapshot()`` joins that with the API client's counters into the
plain dict that the heartbeat file, the ``worker.heartbeat`` log line and the gauges of
``/metrics`` (``worker.telemetry.SnapshotCollector``) all show, so operators see the same numbers
wherever they look. The live histograms and counters are ``worker.telemetry``'s.

**Held items by reason.** Each job counts what its run left waiting (``JobResult.counts``); the
reasons are ``HELD_REASONS``: ``held`` (inventory entries served from their last good version,
or properties a refused prune left in place), ``incomplete`` (properties the site calls
incomplete: not publishable) and ``parked`` (site bookings that cannot be read). A reason's age
is how long its count has stayed above zero without a break, measured from the run that first
reported it (since start-up at most: the counts are not kept across restarts). ``reservation``
(OTA reservations the site refused, or whose cancellation cannot be sent safely) is read from
the state store after each reservations run (``held_in_state``): a refused reservation is
counted by its run only once, and the store knows when it was last updated, across restarts.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from worker.api.client import ClientStats
from worker.clock import Clock, SystemClock

if TYPE_CHECKING:
    from worker.inventory import InventorySnapshot
    from worker.inventory.source import InventorySource

__all__ = [
    "HELD_REASONS",
    "JobObserver",
    "JobStatus",
    "ObservedSource",
    "WorkerMetrics",
    "combine_sites",
    "held_by_reason",
]

HELD_REASONS = ("held", "incomplete", "reservation", "parked")
# Which reason a job's ``held`` count is; every other job's ``held`` is inventory-held. The
# reservations job's (held properties' reservations, held cancellations) is left out: the state
# store's count is the ``reservation`` reason, and the properties job counts held properties.
_HELD_AS: dict[str, str | None] = {"reservations": None, "bookings": "parked"}


def held_by_reason(job: str, counts: Mapping[str, int]) -> dict[str, int]:
    """The items one run of ``job`` left waiting, by reason (see the module docstring)."""
    reason = _HELD_AS.get(job, "held")
    held = {} if reason is None else {reason: counts.get("held", 0)}
    if counts.get("incomplete"):
        held["incomplete"] = counts["incomplete"]
    return held


class JobObserver(Protocol):
    """The live side (``telemetry.SiteTelemetry``): told of every late start and finished run."""

    def job_started_late(self, job: str, late_s: float) -> None: ...

    def job_finished(self, job: str, *, ok: bool, duration_s: float) -> None: ...


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
    held_by_reason: dict[str, int] = field(default_factory=dict)
    failed_items: int = 0  # what the last run could not do (``counts["failed"]``)

    def as_dict(self, now: float, started_at: float) -> dict[str, Any]:
        running = self.running_since
        return {
            "interval_s": self.interval_s,
            "runs": self.runs,
            "failures": self.failures,
            "running_since": running,
            "running_s": 0.0 if running is None else round(now - running, 3),
            "held": self.held,
            "last_ok": self.last_ok,
            # Seconds since the job last succeeded; before its first success, since start-up.
            "lag_s": round(now - (self.last_ok or started_at), 3),
        }


class WorkerMetrics:
    """Job counters kept by the scheduler's runner; read by the heartbeat and ``/metrics``."""

    def __init__(self, intervals: Mapping[str, float], *, clock: Clock | None = None) -> None:
        self.clock: Clock = clock or SystemClock()  # its wall(): UNIX seconds of every mark
        self.started_at = self.clock.wall()
        self.jobs = {name: JobStatus(interval) for name, interval in intervals.items()}
        # Set by the webhook sink (``OutboxStats.as_dict``): its outbox and attempt counters.
        self.webhooks: Callable[[], Mapping[str, float]] | None = None
        self.live: JobObserver | None = None  # the site's live instruments, once bound
        self.inventory_errors: int | None = None  # None until the inventory was loaded
        self._held_since: dict[str, float] = {}  # reason -> since when without a break
        self._state_held: dict[str, tuple[int, float | None]] = {}  # reason -> items, oldest

    def started_late(self, name: str, late_s: float) -> None:
        """A scheduled run of ``name`` started ``late_s`` after its planned time."""
        if self.live is not None:
            self.live.job_started_late(name, max(0.0, late_s))

    def job_started(self, name: str) -> None:
        self.jobs[name].running_since = self.clock.wall()

    def job_finished(
        self,
        name: str,
        *,
        ok: bool,
        counts: Mapping[str, int] | None = None,
        duration_s: float = 0.0,
    ) -> None:
        status, now, counts = self.jobs[name], self.clock.wall(), counts or {}
        status.runs += 1
        status.held_by_reason = held_by_reason(name, counts)
        status.held = counts.get("held", 0) + counts.get("incomplete", 0)
        status.failed_items = counts.get("failed", 0)
        status.running_since = None
        status.last_finished = now
        if ok:
            status.last_ok, status.failing_since = now, None
        else:
            status.failures += 1
            status.failing_since = status.failing_since or now
        self._track_held(now)
        if self.live is not None:
            self.live.job_finished(name, ok=ok, duration_s=duration_s)

    def held_in_state(self, reason: str, items: int, oldest_at: float | None) -> None:
        """Items held for ``reason`` as the state store counts them, the oldest's UNIX time."""
        self._state_held[reason] = (items, oldest_at)

    def inventory_loaded(self, snapshot: InventorySnapshot) -> None:
        self.inventory_errors = len(snapshot.problems)

    def _held_items(self) -> dict[str, int]:
        """Per reason, the most any job's last run reported (jobs see the same properties)."""
        items = dict.fromkeys(HELD_REASONS, 0)
        for status in self.jobs.values():
            for reason, count in status.held_by_reason.items():
                items[reason] = max(items.get(reason, 0), count)
        return items

    def _track_held(self, now: float) -> None:
        for reason, count in self._held_items().items():
            if count <= 0:
                self._held_since.pop(reason, None)
            else:
                self._held_since.setdefault(reason, now)

    def held(self, now: float) -> dict[str, dict[str, float]]:
        """Per reason: items held, and for how long some have been (0 when none)."""
        held = {
            reason: {
                "items": count,
                "oldest_age_s": round(now - self._held_since.get(reason, now), 3),
            }
            for reason, count in self._held_items().items()
        }
        for reason, (items, oldest_at) in self._state_held.items():
            since = now if oldest_at is None or not items else oldest_at
            held[reason] = {"items": items, "oldest_age_s": round(max(0.0, now - since), 3)}
        return held

    def oldest_undelivered_booking_s(self, now: float) -> float:
        """How long the bookings job has been failing (so pulled bookings may wait); 0 if not."""
        status = self.jobs.get("bookings")
        if status is None or status.failing_since is None:
            return 0.0
        return round(now - status.failing_since, 3)

    def bookings(self, now: float) -> dict[str, float]:
        """Bookings not handed to the vendor: the webhook outbox, else the failing job's count.

        With the webhook sink, the outbox's pending and dead-lettered entries and the age of its
        oldest pending one. The file sink (or a plug-in) writes during the job: what a failed
        run could not hand over is counted by property (its ``failed``), aged by the job's
        failing streak.
        """
        webhooks = self.webhooks() if self.webhooks is not None else None
        if webhooks is not None:
            oldest_at = float(webhooks.get("oldest_pending_at") or 0.0)
            return {
                "undelivered": webhooks.get("pending", 0),
                "dead_lettered": webhooks.get("dead_lettered", 0),
                "oldest_undelivered_age_s": round(max(0.0, now - oldest_at), 3)
                if oldest_at
                else 0.0,
            }
        status = self.jobs.get("bookings")
        failing = status is not None and status.failing_since is not None
        return {
            "undelivered": status.failed_items if failing and status is not None else 0,
            "dead_lettered": 0,
            "oldest_undelivered_age_s": self.oldest_undelivered_booking_s(now),
        }

    def snapshot(
        self,
        stats: ClientStats,
        *,
        ready: bool,
        breaker: str | None = None,
        token_expires_in_s: float | None = None,
    ) -> dict[str, Any]:
        """Everything the heartbeat reports, as plain JSON values (``breaker``: its state)."""
        now = self.clock.wall()
        bookings = self.bookings(now)
        snapshot: dict[str, Any] = {
            "written_at": now,
            "uptime_s": round(now - self.started_at, 3),
            "ready": ready,
            "breaker": breaker,
            "token_expires_in_s": token_expires_in_s,
            "requests_by_status": dict(sorted(stats.requests_by_status.items())),
            "retries": stats.retries,
            "token_refreshes": stats.token_refreshes,
            "token_failures": stats.token_failures,
            "jobs": {name: s.as_dict(now, self.started_at) for name, s in self.jobs.items()},
            "held": self.held(now),
            "bookings": bookings,
            "oldest_undelivered_booking_s": bookings["oldest_undelivered_age_s"],
        }
        if self.inventory_errors is not None:
            snapshot["inventory_errors"] = self.inventory_errors
        if self.webhooks is not None:
            snapshot["webhooks"] = dict(self.webhooks())
        return snapshot


class ObservedSource:
    """An ``InventorySource`` that tells ``WorkerMetrics`` what each load found wrong."""

    def __init__(self, source: InventorySource, metrics: WorkerMetrics) -> None:
        self.source, self._metrics = source, metrics

    async def load(self) -> InventorySnapshot:
        snapshot = await self.source.load()
        self._metrics.inventory_loaded(snapshot)
        return snapshot

    def __getattr__(self, name: str) -> Any:  # a plug-in's own extras stay reachable
        return getattr(self.source, name)


def combine_sites(
    sites: Mapping[str, Mapping[str, Any]], *, now: float, started_at: float
) -> dict[str, Any]:
    """One process snapshot from per-site snapshots (``worker.supervisor``).

    Counters are summed, ``ready`` means at least one site is ready, and jobs are keyed
    ``<site>/<job>`` so the heartbeat's stall check sees every site's jobs. ``sites`` keeps each
    site's own snapshot (the ``site``-labelled gauges of ``/metrics`` read them).
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
