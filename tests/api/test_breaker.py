"""Circuit breaker: opens on consecutive failures, half-opens for exactly one probe, and logs
each transition of an outage once."""

from __future__ import annotations

import asyncio
import random

import pytest
import structlog
from structlog.testing import capture_logs

from worker.api.retry import CircuitBreaker
from worker.errors import CircuitOpen
from worker.testing import FakeClock


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


def test_an_outage_logs_each_transition_once_with_the_site() -> None:
    """A long outage (three failed probes) logs opened, half_open and closed once each, at
    WARNING/INFO with the site; the probes and re-openings between are DEBUG lines."""
    clock = FakeClock()
    breaker = CircuitBreaker(3, 30.0, clock, site="https://hotel.example/api")
    with capture_logs() as logs:
        for _ in range(3):
            breaker.before_request()
            breaker.record_failure()
        for _ in range(3):  # refused requests while open log nothing
            with pytest.raises(CircuitOpen):
                breaker.before_request()
        for _ in range(3):
            clock.advance(30.0)
            breaker.before_request()
            breaker.record_failure()
        clock.advance(30.0)
        breaker.before_request()
        breaker.record_success()
        breaker.record_success()  # closed already: nothing more
    loud = [(e["event"], e["log_level"]) for e in logs if e["log_level"] != "debug"]
    assert loud == [
        ("breaker.opened", "warning"),
        ("breaker.half_open", "info"),
        ("breaker.closed", "info"),
    ]
    assert {e["site"] for e in logs} == {"https://hotel.example/api"}
    closed = logs[-1]
    assert (closed["open_s"], closed["probes"]) == (120.0, 4)
    quiet = [e["event"] for e in logs if e["log_level"] == "debug"]
    assert quiet == ["breaker.reopened", "breaker.half_open"] * 3


def test_a_supervisors_site_label_names_the_site() -> None:
    """Under a supervisor the bound ``site`` label is kept, not replaced by the API URL."""
    clock = FakeClock()
    breaker = CircuitBreaker(1, 30.0, clock, site="https://hotel.example/api")
    with capture_logs() as logs, structlog.contextvars.bound_contextvars(site="alpha"):
        breaker.record_failure()
    assert [(e["event"], e.get("site")) for e in logs] == [("breaker.opened", None)]


def test_a_flaky_site_never_opens_it_and_a_dead_one_does() -> None:
    """30 % random failures (seeded) in 20,000 requests never open it; when the site then stops
    answering, it opens within the window (4 × threshold failures)."""
    clock = FakeClock()
    breaker = CircuitBreaker(5, 30.0, clock)
    rng = random.Random(11)
    for _ in range(20_000):
        breaker.before_request()
        if rng.random() < 0.3:
            breaker.record_failure()
        else:
            breaker.record_success()
    assert breaker.state == "closed"
    failures = 0
    while breaker.state == "closed":
        breaker.before_request()
        breaker.record_failure()
        failures += 1
    assert 5 <= failures <= 20
