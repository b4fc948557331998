"""Per-site circuit breaker: stop sending to a site that keeps failing, then probe once.

closed → open after ``failure_threshold`` consecutive failures → half-open once ``reset_s`` has
passed, which admits exactly one probe request; the probe's success closes the breaker, its
failure re-opens it for another ``reset_s``. Time comes from the injected clock.
"""

from __future__ import annotations

from typing import Literal

from worker.api.clock import Clock
from worker.errors import CircuitOpen

__all__ = ["BreakerState", "CircuitBreaker"]

BreakerState = Literal["closed", "open", "half_open"]


class CircuitBreaker:
    """One per site. Call ``before_request`` before sending, then record the outcome.

    A probe whose outcome is never recorded (its caller was cancelled) would hold the breaker
    half-open forever, so the probe slot is handed out again after another ``reset_s``.
    """

    def __init__(self, failure_threshold: int, reset_s: float, clock: Clock) -> None:
        if failure_threshold < 1 or reset_s <= 0:
            raise ValueError("failure_threshold must be >= 1 and reset_s > 0")
        self._threshold = failure_threshold
        self._reset_s = reset_s
        self._clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probe_at: float | None = None  # when the half-open probe was admitted

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
        self._opened_at = self._probe_at = None

    def record_failure(self) -> None:
        self._failures += 1
        if self._opened_at is not None or self._failures >= self._threshold:
            # A failed probe (or the threshold reached) opens the breaker for a full period.
            self._opened_at = self._clock.now()
            self._probe_at = None

    def _probe_slot_free(self) -> bool:
        return self._probe_at is None or self._clock.now() - self._probe_at >= self._reset_s
