"""Per-site circuit breaker: stop sending to a site that keeps failing, then probe once.

closed → open after ``failure_threshold`` consecutive failures, provided at least three quarters
of the last ``4 × failure_threshold`` outcomes failed → half-open once ``reset_s`` has passed,
which admits exactly one probe request; the probe's success closes the breaker, its failure
re-opens it for another ``reset_s``. Time comes from the injected clock.

The window is what tells a site that is down from one that is flaky (issue 11): under 30 % random
503s five failures in a row come every few hundred requests, and opening then stopped every sync
for 30 s or more (a failed probe, one in three, doubled it). A site that stopped answering fails
everything and opens the breaker as soon as the window says so; the flaky one is left to the
retry policy, which copes with it.

Each outage is logged once per transition (issue 11), never per refused request:
``breaker.opened`` (WARNING) when it leaves closed, ``breaker.half_open`` (INFO) at the first
probe, ``breaker.closed`` (INFO, with ``open_s``) when a success ends it. The further probes and
re-openings of a long outage are DEBUG lines. Each line names the site: ``site`` is the label a
supervisor bound to the context, else the site's API URL.

What counts (``site_failed``): a failure of the site itself, which is an error whose
``retryable`` flag is set — no connection, a timeout, a status of ``RETRYABLE_STATUSES``, a
spoilt body — except a rate limit (429, or 503 with ``Retry-After``: the site is up and asked us
to wait; the rate gate holds it). Everything else the site answered (a 4xx, a 501, 505 or 520,
an oversized body) proves it up and counts as a success. The flag is the same one the retry
policy and ``retry.is_transient`` read, so the three agree on every status.
"""

from __future__ import annotations

from collections import deque
from typing import Any, Literal

import structlog

from worker.clock import Clock
from worker.errors import ApiError, CircuitOpen, RateLimited, TransportError
from worker.logging import get_logger

__all__ = ["BreakerState", "CircuitBreaker", "site_failed"]

BreakerState = Literal["closed", "open", "half_open"]

log = get_logger(__name__)
WINDOW_PER_THRESHOLD = 4  # outcomes remembered per unit of the threshold
TRIP_FRACTION = 0.75  # the share of them that must have failed


def site_failed(exc: BaseException) -> bool:
    """Whether ``exc`` counts against the site (module doc): retryable, and not a rate limit."""
    if isinstance(exc, RateLimited) or not isinstance(exc, TransportError | ApiError):
        return False
    return exc.retryable


class CircuitBreaker:
    """One per site. Call ``before_request`` before sending, then record the outcome.

    A probe whose outcome is never recorded (its caller was cancelled) would hold the breaker
    half-open forever, so the probe slot is handed out again after another ``reset_s``.
    """

    def __init__(
        self, failure_threshold: int, reset_s: float, clock: Clock, *, site: str = ""
    ) -> None:
        if failure_threshold < 1 or reset_s <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_s > 0")
        self._threshold = failure_threshold
        self._reset_s = reset_s
        self._clock = clock
        self._site = site
        self._failures = 0
        # The last outcomes (True: failed), and how many of them failed.
        self._window: deque[bool] = deque(maxlen=WINDOW_PER_THRESHOLD * failure_threshold)
        self._window_failures = 0
        self._opened_at: float | None = None
        self._probe_at: float | None = None  # when the half-open probe was admitted
        self._outage_at: float | None = None  # when it left closed (for breaker.closed's open_s)
        self._probes = 0  # probes admitted during this outage

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return "closed"
        if self._clock.now() - self._opened_at < self._reset_s:
            return "open"
        return "half_open"

    @property
    def consecutive_failures(self) -> int:
        return self._failures

    def before_request(self) -> None:
        """Admit the request, or raise ``CircuitOpen`` (it is then not sent at all)."""
        state = self.state
        if state == "closed":
            return
        if state == "half_open" and self._probe_slot_free():
            self._probe_at = self._clock.now()
            self._probes += 1
            self._log("info" if self._probes == 1 else "debug", "breaker.half_open",
                      probe=self._probes)  # fmt: skip
            return
        raise CircuitOpen(f"circuit open; next probe in {self.retry_in_s():.1f} s")

    def retry_in_s(self) -> float:
        """Seconds until a request may be admitted again (0 when closed)."""
        if self._opened_at is None:
            return 0.0
        start = self._opened_at if self._probe_at is None else self._probe_at
        return max(0.0, start + self._reset_s - self._clock.now())

    def record_success(self) -> None:
        self._failures = 0
        self._remember(False)
        if self._outage_at is not None:  # the hot path is one comparison
            open_s = round(self._clock.now() - self._outage_at, 3)
            self._log("info", "breaker.closed", open_s=open_s, probes=self._probes)
            self._outage_at, self._probes = None, 0
        self._opened_at = self._probe_at = None

    def record(self, exc: BaseException | None) -> None:
        """Record one attempt's outcome: ``exc`` (None: a success) as ``site_failed`` judges it."""
        if exc is not None and site_failed(exc):
            self.record_failure()
        else:  # the site answered: it is up, whatever it said
            self.record_success()

    def record_failure(self) -> None:
        self._failures += 1
        self._remember(True)
        if self._opened_at is not None or self._tripped():
            # A failed probe (or the threshold reached) opens the breaker for a full period.
            self._opened_at = self._clock.now()
            self._probe_at = None
            self._opened()

    def _opened(self) -> None:
        if self._outage_at is None:
            self._outage_at = self._opened_at
            self._log("warning", "breaker.opened", failures=self._failures, reset_s=self._reset_s)
        else:
            self._log("debug", "breaker.reopened", failures=self._failures, reset_s=self._reset_s)

    def _remember(self, failed: bool) -> None:
        window = self._window
        if len(window) == window.maxlen:
            self._window_failures -= window[0]
        window.append(failed)
        self._window_failures += failed

    def _tripped(self) -> bool:
        """Enough failures in a row, and most of the recent outcomes failed (module doc)."""
        if self._failures < self._threshold:
            return False
        return self._window_failures >= TRIP_FRACTION * len(self._window)

    def _probe_slot_free(self) -> bool:
        return self._probe_at is None or self._clock.now() - self._probe_at >= self._reset_s

    def _log(self, level: str, event: str, **fields: Any) -> None:
        """One transition line; ``site`` from the context (a supervisor's label) wins."""
        if "site" not in structlog.contextvars.get_contextvars():
            fields["site"] = self._site
        getattr(log, level)(event, **fields)
