"""Circuit breaker: opens on consecutive failures and half-opens for exactly one probe."""

from __future__ import annotations

import asyncio

import pytest

from worker.api.clock import FakeClock
from worker.api.retry import CircuitBreaker
from worker.errors import CircuitOpen


def _opened(clock: FakeClock, threshold: int = 3, reset_s: float = 30.0) -> CircuitBreaker:
    breaker = CircuitBreaker(threshold, reset_s, clock)
    for _ in range(threshold):
        breaker.before_request()
        breaker.record_failure()
    return breaker


def test_breaker_opens_only_after_consecutive_failures() -> None:
    """Failures interrupted by a success do not open it; N in a row do."""
    clock = FakeClock()
    breaker = CircuitBreaker(3, 30.0, clock)
    breaker.record_failure()
    breaker.record_failure()
    breaker.record_success()
    breaker.record_failure()
    breaker.before_request()  # still closed: the failures were not consecutive
    breaker.record_failure()
    breaker.record_failure()
    assert breaker.state == "open"
    with pytest.raises(CircuitOpen, match=r"next probe in 30\.0 s"):
        breaker.before_request()


async def test_half_open_admits_exactly_one_probe_among_100_callers() -> None:
    """After reset_s, one of 100 concurrent callers is let through; 99 get CircuitOpen."""
    clock = FakeClock()
    breaker = _opened(clock)
    clock.advance(30.0)
    assert breaker.state == "half_open"

    async def caller() -> bool:
        await asyncio.sleep(0)
        try:
            breaker.before_request()
        except CircuitOpen:
            return False
        return True

    admitted = await asyncio.gather(*(caller() for _ in range(100)))
    assert admitted.count(True) == 1


def test_successful_probe_closes_the_breaker() -> None:
    """The probe's success closes it and resets the failure count."""
    clock = FakeClock()
    breaker = _opened(clock)
    clock.advance(30.0)
    breaker.before_request()
    breaker.record_success()
    assert breaker.state == "closed"
    assert breaker.consecutive_failures == 0
    breaker.before_request()


def test_failed_probe_reopens_for_a_full_period() -> None:
    """A failing probe opens the breaker again for another reset_s."""
    clock = FakeClock()
    breaker = _opened(clock)
    clock.advance(30.0)
    breaker.before_request()
    breaker.record_failure()
    assert breaker.state == "open"
    clock.advance(29.9)
    with pytest.raises(CircuitOpen):
        breaker.before_request()
    clock.advance(0.1)
    breaker.before_request()


def test_a_lost_probe_is_replaced_after_another_period() -> None:
    """If the probe never reports (its caller was cancelled), a new probe is admitted later."""
    clock = FakeClock()
    breaker = _opened(clock)
    clock.advance(30.0)
    breaker.before_request()
    clock.advance(10.0)
    with pytest.raises(CircuitOpen):
        breaker.before_request()
    assert breaker.retry_in_s() == 20.0
    clock.advance(20.0)
    breaker.before_request()


def test_breaker_rejects_nonsense_settings() -> None:
    """A zero threshold or reset period is a programming error."""
    with pytest.raises(ValueError, match="failure_threshold"):
        CircuitBreaker(0, 30.0, FakeClock())
