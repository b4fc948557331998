"""Prometheus metrics, rendered by ``prometheus-client`` from one registry per process.

``Telemetry`` owns a ``CollectorRegistry`` of its own (never the library's global ``REGISTRY``:
tests build many workers in one process, and a supervisor runs many sites in one). It holds:

- live instruments the client and the job runner observe as things happen, through a
  ``SiteTelemetry`` bound to one site label: the request-latency and job-duration histograms
  (which never carry ``site``: a thousand sites times the buckets would be millions of series),
  and the request, retry, token-refresh and job-run counters (which do; being live, they keep
  counting across a site's restarts by the supervisor);
- ``SnapshotCollector``, which turns each site's snapshot (``worker.metrics``: the same plain
  dict the heartbeat file and the ``worker.heartbeat`` log line show) into gauges at scrape time.

``docs/metrics.md`` lists every series with its labels and meaning.
"""

from __future__ import annotations

import itertools
import platform
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_PLAIN_0_0_4,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from worker import __version__
from worker.heap import GcPauses, pauses

__all__ = [
    "CONTENT_TYPE",
    "SiteSnapshots",
    "SiteTelemetry",
    "SnapshotCollector",
    "Telemetry",
    "status_class",
]

# The classic text format: what every Prometheus (2.x and 3.x) and other scrapers parse.
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4
SiteSnapshots = Callable[[], Mapping[str, Mapping[str, Any]]]  # site label -> its snapshot
# Seconds. A request on loopback takes milliseconds; a PHP host under load, seconds.
REQUEST_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
# Seconds. A job on a small site takes a second; on a big one (or through retries), minutes.
JOB_BUCKETS = (0.1, 0.5, 1.0, 5.0, 15.0, 30.0, 60.0, 120.0, 300.0, 600.0, 1800.0, 3600.0)
# Seconds a scheduled job started after its planned time (jitter included in the plan): an idle
# loop starts it within milliseconds; a saturated one, seconds late.
LAG_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
BREAKER_STATES = {"closed": 0.0, "half_open": 1.0, "open": 2.0}


def status_class(status: int | None) -> str:
    """``2xx`` ... ``5xx`` for an answer, ``error`` for none (a transport failure, a timeout)."""
    return "error" if status is None else f"{status // 100}xx"


class Telemetry:
    """The process's registry and its live instruments; ``render()`` is the ``/metrics`` body."""

    def __init__(self, sites: SiteSnapshots) -> None:
        self.registry = CollectorRegistry()
        registry = self.registry
        self.request_duration = Histogram(
            "bookyflow_http_request_duration_seconds",
            "Duration of one HTTP attempt to a BookyFlow site, by route template.",
            ("route", "method", "status_class"),
            buckets=REQUEST_BUCKETS,
            registry=registry,
        )
        self.requests = Counter(
            "bookyflow_http_requests",
            "HTTP attempts to the site, by method and status class (error: no answer).",
            ("site", "method", "status_class"),
            registry=registry,
        )
        self.retries = Counter(
            "bookyflow_http_retries", "Attempts scheduled again.", ("site",), registry=registry
        )
        self.token_refreshes = Counter(
            "bookyflow_token_refreshes",
            "Token requests, by outcome (ok, failed).",
            ("site", "outcome"),
            registry=registry,
        )
        self.job_duration = Histogram(
            "bookyflow_job_duration_seconds",
            "Duration of one job run.",
            ("job",),
            buckets=JOB_BUCKETS,
            registry=registry,
        )
        self.scheduler_lag = Histogram(
            "bookyflow_scheduler_lag_seconds",
            "How late a scheduled job run started after its planned time.",
            ("job",),
            buckets=LAG_BUCKETS,
            registry=registry,
        )
        self.job_runs = Counter(
            "bookyflow_job_runs",
            "Job runs, by outcome (ok, failed).",
            ("site", "job", "outcome"),
            registry=registry,
        )
        registry.register(SnapshotCollector(sites))
        registry.register(GcPauseCollector(pauses()))

    def site(self, label: str) -> SiteTelemetry:
        """The instruments bound to one site (a new binding after a restart counts on)."""
        return SiteTelemetry(self, label)

    def render(self) -> bytes:
        """The Prometheus text exposition of everything, for ``/metrics`` (``CONTENT_TYPE``)."""
        return generate_latest(self.registry)


class SiteTelemetry:
    """What the client and the job runner of one site report to (``site`` label bound)."""

    def __init__(self, telemetry: Telemetry, site: str) -> None:
        self.telemetry, self.site = telemetry, site
        self._retries = telemetry.retries.labels(site)
        # (route, method, status class) -> its histogram and counter children: bounded by the
        # route templates, and cheaper on the hot path than ``labels()`` twice per request.
        self._requests: dict[tuple[str, str, str], tuple[Any, Any]] = {}

    def request_done(self, route: str, method: str, status: int | None, duration_s: float) -> None:
        key = (route, method, status_class(status))
        children = self._requests.get(key)
        if children is None:
            telemetry = self.telemetry
            children = self._requests[key] = (
                telemetry.request_duration.labels(*key),
                telemetry.requests.labels(self.site, method, key[2]),
            )
        children[0].observe(duration_s)
        children[1].inc()

    def retried(self) -> None:
        self._retries.inc()

    def token_refreshed(self, *, ok: bool) -> None:
        self.telemetry.token_refreshes.labels(self.site, "ok" if ok else "failed").inc()

    def job_started_late(self, job: str, late_s: float) -> None:
        self.telemetry.scheduler_lag.labels(job).observe(late_s)

    def job_finished(self, job: str, *, ok: bool, duration_s: float) -> None:
        self.telemetry.job_duration.labels(job).observe(duration_s)
        self.telemetry.job_runs.labels(self.site, job, "ok" if ok else "failed").inc()


class SnapshotCollector(Collector):
    """Gauges (and the webhook counters) read from every site's snapshot at scrape time."""

    def __init__(self, sites: SiteSnapshots) -> None:
        self._sites = sites

    def collect(self) -> Iterator[Metric]:
        build = GaugeMetricFamily(
            "bookyflow_build_info", "The worker's version.", labels=("version", "python")
        )
        build.add_metric((__version__, platform.python_version()), 1.0)
        yield build
        families = _Families()
        for label, snapshot in self._sites().items():
            families.add_site(label, snapshot)
        yield from families.all()


class GcPauseCollector(Collector):
    """``bookyflow_gc_pause_seconds{generation}`` from the process's ``GcPauses``."""

    def __init__(self, recorded: GcPauses) -> None:
        self._recorded = recorded

    def collect(self) -> Iterator[Metric]:
        family = HistogramMetricFamily(
            "bookyflow_gc_pause_seconds",
            "How long one garbage collection stopped the process, by generation.",
            labels=("generation",),
        )
        recorded = self._recorded
        bounds = [*(str(bound) for bound in recorded.buckets), "+Inf"]
        for generation, counts in recorded.counts.items():
            cumulative = list(itertools.accumulate(counts))
            family.add_metric(
                (str(generation),),
                list(zip(bounds, map(float, cumulative), strict=True)),
                recorded.sums[generation],
            )
        yield family


def _gauge(name: str, help_text: str, *labels: str) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, help_text, labels=("site", *labels))


class _Families:
    """The snapshot series, filled site by site."""

    def __init__(self) -> None:
        g = _gauge
        self.expires = g("bookyflow_token_expires_in_seconds", "Seconds until the token expires.")
        self.breaker = g(
            "bookyflow_breaker_state", "Circuit breaker: 0 closed, 1 half-open, 2 open."
        )
        self.ready = g("bookyflow_site_ready", "1 when started, token held and breaker closed.")
        self.interval = g("bookyflow_job_interval_seconds", "The job's schedule interval.", "job")
        self.lag = g(
            "bookyflow_job_lag_seconds",
            "Seconds since the job last succeeded (before its first success: since start-up).",
            "job",
        )
        self.running = g(
            "bookyflow_job_running_seconds", "How long the current run has taken; 0 idle.", "job"
        )
        self.held = g("bookyflow_held_items", "Items the last runs left held.", "reason")
        self.held_age = g(
            "bookyflow_held_oldest_age_seconds",
            "How long items have been held for this reason without a break.",
            "reason",
        )
        self.inventory = g("bookyflow_inventory_errors", "Entries the last load rejected.")
        self.undelivered = g(
            "bookyflow_bookings_undelivered", "Site bookings not yet handed to the vendor."
        )
        self.dead = g("bookyflow_bookings_dead_lettered", "Bookings set aside until re-driven.")
        self.oldest = g(
            "bookyflow_bookings_oldest_undelivered_age_seconds",
            "Age of the oldest undelivered booking; 0 when none.",
        )
        self.attempts = CounterMetricFamily(
            "bookyflow_webhook_attempts",
            "Webhook deliveries tried, by outcome (webhook sink only).",
            labels=("site", "outcome"),
        )

    def all(self) -> list[Metric]:
        return [value for value in vars(self).values() if isinstance(value, Metric)]

    def add_site(self, site: str, snap: Mapping[str, Any]) -> None:
        if snap.get("token_expires_in_s") is not None:
            self.expires.add_metric((site,), float(snap["token_expires_in_s"]))
        if snap.get("breaker") in BREAKER_STATES:
            self.breaker.add_metric((site,), BREAKER_STATES[snap["breaker"]])
        self.ready.add_metric((site,), 1.0 if snap.get("ready") else 0.0)
        for job, status in dict(snap.get("jobs") or {}).items():
            self.interval.add_metric((site, job), float(status["interval_s"]))
            self.lag.add_metric((site, job), float(status.get("lag_s") or 0.0))
            self.running.add_metric((site, job), float(status.get("running_s") or 0.0))
        for reason, held in dict(snap.get("held") or {}).items():
            self.held.add_metric((site, reason), float(held["items"]))
            self.held_age.add_metric((site, reason), float(held["oldest_age_s"]))
        if "inventory_errors" in snap:
            self.inventory.add_metric((site,), float(snap["inventory_errors"]))
        self._bookings(site, snap)

    def _bookings(self, site: str, snap: Mapping[str, Any]) -> None:
        bookings = snap.get("bookings")
        if bookings is not None:
            self.undelivered.add_metric((site,), float(bookings["undelivered"]))
            self.dead.add_metric((site,), float(bookings["dead_lettered"]))
            self.oldest.add_metric((site,), float(bookings["oldest_undelivered_age_s"]))
        webhooks = snap.get("webhooks")
        if webhooks is not None:
            for outcome in ("delivered", "failed", "dead_lettered"):
                self.attempts.add_metric((site, outcome), float(webhooks[f"{outcome}_total"]))
