"""Retry policy: what is retried, how long it waits, and when it stops."""

from __future__ import annotations

import asyncio
import random
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
from structlog.testing import capture_logs

from worker.api.responses import parse_retry_after, server_error
from worker.api.retry import (
    RetryBudget,
    RetryPolicy,
    call_with_retry,
    is_transient,
)
from worker.backoff import Backoff
from worker.errors import (
    AuthError,
    BookyFlowError,
    CircuitOpen,
    ClientRequestError,
    MalformedResponse,
    OperationFailed,
    RateLimited,
    RequestTimeout,
    ResponseTooLarge,
    ServerError,
    TokenUnavailable,
    TransportError,
)
from worker.settings import RetrySettings
from worker.testing import FakeClock

NOW = datetime(2025, 3, 1, 12, 0, 0, tzinfo=UTC)
NOW_WALL = NOW.timestamp()
POLICY = RetryPolicy.from_settings(RetrySettings())


def _policy(
    attempts: int, total_s: float, first_s: float, max_s: float, cap_s: float
) -> RetryPolicy:
    return RetryPolicy(attempts, total_s, Backoff(first_s, max_s, jitter=1.0), cap_s)


class ZeroJitter(random.Random):
    """Full jitter that always picks the shortest wait, so only Retry-After can delay."""

    def random(self) -> float:
        return 1.0  # Backoff: ceiling * (1 - jitter * U) is then 0


class Script:
    """An attempt function that raises the scripted errors in order, then returns "ok"."""

    def __init__(self, clock: FakeClock, *errors: BaseException) -> None:
        self.clock = clock
        self.errors = list(errors)
        self.started: list[float] = []

    async def __call__(self, attempt: int) -> str:
        self.started.append(self.clock.now())
        assert attempt == len(self.started)
        if self.errors:
            raise self.errors.pop(0)
        return "ok"


async def _run(
    script: Script,
    *,
    idempotent: bool = True,
    policy: RetryPolicy = POLICY,
    budget: RetryBudget | None = None,
    rng: random.Random | None = None,
) -> str:
    return await call_with_retry(
        script,
        policy=policy,
        budget=budget or RetryBudget(),
        clock=script.clock,
        idempotent=idempotent,
        rng=rng or random.Random(5),
    )


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("2", 2.0),
        (" 120 ", 120.0),
        ("1.5", 1.5),
        ("-3", 0.0),
        (format_datetime(NOW + timedelta(seconds=2), usegmt=True), 2.0),
        ("Sat, 01 Mar 2025 12:01:00 GMT", 60.0),
        ("Sat, 01 Mar 2025 11:00:00 GMT", 0.0),
        (None, None),
        ("", None),
        ("soon", None),
        ("nan", None),
        ("inf", None),
    ],
)
def test_retry_after_accepts_seconds_and_http_dates(
    header: str | None, expected: float | None
) -> None:
    """Retry-After parses as seconds or HTTP-date; past dates and negatives clamp to 0."""
    assert parse_retry_after(header, now_wall=NOW_WALL) == expected


def test_backoff_is_full_jitter_under_a_doubling_capped_ceiling() -> None:
    """wait_s(n) is uniform in (0, min(max_delay, base * 2**(n-1))], even for huge n."""
    rng = random.Random(11)
    for attempt, ceiling in ((1, 0.5), (3, 2.0), (7, 30.0), (10_000, 30.0)):
        delays = [POLICY.wait_s(attempt, None, rng) for _ in range(300)]
        assert 0.0 <= min(delays) < ceiling / 4
        assert ceiling * 3 / 4 < max(delays) <= ceiling


@pytest.mark.parametrize(
    ("exc", "idempotent", "expected"),
    [
        (TransportError("reset"), True, True),
        (TransportError("reset"), False, False),
        (TransportError("refused", sent=False), False, True),
        (RequestTimeout("read timeout"), True, True),
        (RequestTimeout("read timeout"), False, False),
        (RequestTimeout("connect timeout", sent=False), False, True),
        (RateLimited("slow down", status=429), False, True),
        (server_error("bad gateway", status=502), True, True),
        (server_error("bad gateway", status=502), False, False),
        (server_error("not implemented", status=501), True, False),
        (MalformedResponse("truncated", status=200), True, True),
        (server_error("timeout", status=408), True, True),
        (server_error("too early", status=425), True, True),
        (ClientRequestError("bad", status=400), True, False),
        (AuthError("unauthorized", status=401), True, False),
        (TokenUnavailable("down"), False, True),
        (CircuitOpen("open"), True, False),
        (asyncio.CancelledError(), True, False),
        (KeyError("bug"), True, False),
        (BookyFlowError("generic"), True, False),
    ],
)
def test_should_retry_matrix(exc: BaseException, idempotent: bool, expected: bool) -> None:
    """Retry transport errors, timeouts and 408/425/429/5xx-listed; POST only if not processed."""
    assert POLICY.should_retry(exc, idempotent=idempotent) is expected


async def test_retry_after_seconds_delays_the_next_attempt() -> None:
    """A 429 with Retry-After: 2 makes the next attempt start at least 2 s later."""
    clock = FakeClock(auto_advance=True)
    wait = parse_retry_after("2", now_wall=NOW_WALL)
    script = Script(clock, RateLimited("429", status=429, retry_after_s=wait))
    assert await _run(script, rng=ZeroJitter()) == "ok"
    assert script.started[1] - script.started[0] >= 2.0


async def test_retry_after_http_date_delays_the_next_attempt() -> None:
    """A 429 whose Retry-After is an HTTP-date 2 s ahead also waits at least 2 s."""
    clock = FakeClock(auto_advance=True)
    header = format_datetime(NOW + timedelta(seconds=2), usegmt=True)
    script = Script(
        clock,
        RateLimited("429", status=429, retry_after_s=parse_retry_after(header, now_wall=NOW_WALL)),
    )
    assert await _run(script, rng=ZeroJitter()) == "ok"
    assert script.started[1] - script.started[0] >= 2.0


async def test_retry_after_is_capped() -> None:
    """A huge Retry-After waits only retry_after_cap_s (here within max_total_s)."""
    clock = FakeClock(auto_advance=True)
    policy = _policy(3, 1000.0, 0.5, 30.0, cap_s=60.0)
    script = Script(clock, RateLimited("429", status=429, retry_after_s=86400.0))
    assert await _run(script, policy=policy, rng=ZeroJitter()) == "ok"
    assert script.started[1] - script.started[0] == 60.0


async def test_cancellation_is_never_retried() -> None:
    """CancelledError from an attempt propagates after that one attempt."""
    clock = FakeClock(auto_advance=True)
    script = Script(clock, asyncio.CancelledError())
    with pytest.raises(asyncio.CancelledError):
        await _run(script)
    assert len(script.started) == 1


async def test_cancelling_during_backoff_stops_the_call() -> None:
    """A task cancelled while it sleeps between attempts makes no further attempt."""
    clock = FakeClock()
    script = Script(clock, ServerError("503", status=503), ServerError("503", status=503))
    task = asyncio.create_task(_run(script))
    await clock.run_until_idle()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await clock.run_for(100.0)
    assert len(script.started) == 1


async def test_attempts_are_bounded() -> None:
    """After max_attempts failures the last error is raised unchanged."""
    clock = FakeClock(auto_advance=True)
    errors = [ServerError(f"e{n}", status=500) for n in range(10)]
    script = Script(clock, *errors)
    with pytest.raises(ServerError) as raised:
        await _run(script)
    assert len(script.started) == POLICY.max_attempts
    assert raised.value is errors[POLICY.max_attempts - 1]


async def test_total_time_is_bounded_on_the_injected_clock() -> None:
    """No sleep may end past max_total_s, measured on the fake clock."""
    clock = FakeClock(auto_advance=True)
    policy = _policy(100, 10.0, 1.0, 4.0, 300.0)
    script = Script(clock, *[TransportError("reset") for _ in range(100)])
    with pytest.raises(TransportError):
        await _run(script, policy=policy, rng=random.Random(1))
    assert script.started[-1] - script.started[0] <= 10.0
    assert 3 < len(script.started) < 100


async def test_non_idempotent_call_is_not_retried_after_it_may_have_been_sent() -> None:
    """A POST that timed out after sending is returned, not repeated."""
    clock = FakeClock(auto_advance=True)
    script = Script(clock, RequestTimeout("read"), TransportError("x"))
    with pytest.raises(RequestTimeout):
        await _run(script, idempotent=False)
    assert len(script.started) == 1


async def test_non_idempotent_call_is_retried_when_provably_not_sent() -> None:
    """A POST whose connection was refused is safe to send again."""
    clock = FakeClock(auto_advance=True)
    script = Script(clock, TransportError("refused", sent=False))
    assert await _run(script, idempotent=False) == "ok"
    assert len(script.started) == 2


async def test_client_errors_are_not_retried() -> None:
    """A 400 is raised after one attempt."""
    clock = FakeClock(auto_advance=True)
    script = Script(clock, ClientRequestError("bad", status=400))
    with pytest.raises(ClientRequestError):
        await _run(script)
    assert len(script.started) == 1


async def test_empty_budget_returns_the_failure_instead_of_retrying() -> None:
    """With too few budget tokens the first failure is raised and the event is logged."""
    clock = FakeClock(auto_advance=True)
    budget = RetryBudget(tokens=7)
    script = Script(clock, *[ServerError("500", status=500) for _ in range(3)])
    with capture_logs() as logs, pytest.raises(ServerError):
        await _run(script, budget=budget)
    assert len(script.started) == 2
    assert budget.available == 2
    assert [e["event"] for e in logs] == ["retry.budget_exhausted"]


async def test_success_after_a_retry_refunds_its_cost() -> None:
    """A retried call that succeeds gives back what its retry took."""
    clock = FakeClock(auto_advance=True)
    budget = RetryBudget(tokens=500)
    script = Script(clock, RequestTimeout("read"))
    await _run(script, budget=budget)
    assert budget.available == 500
    budget = RetryBudget(tokens=500)
    script = Script(clock, RequestTimeout("read"), ServerError("503", status=503))
    await _run(script, budget=budget)
    assert budget.available == 500 - 10


async def test_on_retry_hook_sees_attempt_error_and_sleep() -> None:
    """on_retry(n, exc, sleep_s) runs before each backoff sleep with the planned wait."""
    clock = FakeClock(auto_advance=True)
    err = RateLimited("429", status=429, retry_after_s=3.0)
    seen: list[tuple[int, BaseException, float]] = []
    result = await call_with_retry(
        Script(clock, err),
        policy=POLICY,
        budget=RetryBudget(),
        clock=clock,
        idempotent=True,
        rng=ZeroJitter(),
        on_retry=lambda n, exc, s: seen.append((n, exc, s)),
    )
    assert result == "ok"
    assert seen == [(1, err, 3.0)]
    assert clock.slept == [3.0]


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (server_error("HTTP 503", status=503), True),
        (RateLimited("HTTP 429", status=429), True),
        (TransportError("reset"), True),
        (MalformedResponse("not JSON", status=200), True),
        (CircuitOpen("open"), True),
        (TokenUnavailable("none"), True),
        (ClientRequestError("HTTP 400", status=400), False),
        (OperationFailed("success false", status=200), False),
        (AuthError("HTTP 401", status=401), False),
        (server_error("HTTP 501", status=501), False),
        (ResponseTooLarge("too big", status=200, max_bytes=1, retryable=False), False),
        (KeyError("a bug"), False),
    ],
)
def test_is_transient_tells_the_sites_trouble_from_ours(
    error: BaseException, transient: bool
) -> None:
    """One table decides what start-up retries, jobs log without traceback and never pauses a
    property: the site's passing trouble yes, a refusal or a bug no."""
    assert is_transient(error) is transient
