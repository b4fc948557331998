"""Retry policy as data, and the one retry loop every API call goes through.

Full-jitter exponential backoff (a ``worker.backoff.Backoff`` built from ``RetrySettings``)
bounded by attempts *and* total time (on the injected clock), ``Retry-After`` honoured up to a
cap, never a retry of cancellation, and non-idempotent calls retried only when the request
provably was not processed. Whether a failure is worth another attempt is the error's own
``retryable`` flag, set once where the error is made (``worker.api.responses`` holds the status
table); this module only reads it.

The retry budget (``RetryBudget``, AWS SDK standard mode) is **per site**, not per process: each
``BookyFlowClient`` holds its own (and one more for its token requests), and the vendor's
inventory URL has one of its own. A budget protects the server that is failing from our retry
storm; shared by many sites in one process, one site that is down would spend it and leave every
healthy site without retries for its passing blips. A spent budget is not an error of its own: the
failure that could not be retried is raised unchanged (and ``retry.budget_exhausted`` logged),
so callers see the site's real answer. ``CircuitBreaker`` and ``SiteGate`` live next door and are
re-exported here so callers import all retry machinery from one place.
"""

from __future__ import annotations

import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Generic, TypeVar

from tenacity import AsyncRetrying, RetryCallState

from worker.api.breaker import CircuitBreaker
from worker.api.ratelimit import RetryBudget, SiteGate
from worker.backoff import Backoff
from worker.clock import Clock
from worker.errors import (
    BookyFlowError,
    CircuitOpen,
    RateLimited,
    TokenUnavailable,
    TransportError,
)
from worker.logging import get_logger
from worker.settings import RetrySettings

__all__ = [
    "CircuitBreaker",
    "RetryBudget",
    "RetryPolicy",
    "SiteGate",
    "call_with_retry",
    "is_transient",
]

T = TypeVar("T")
RetryHook = Callable[[int, BaseException, float], None]

log = get_logger(__name__)

_JITTER = random.Random()


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry one call; built once from ``RetrySettings``."""

    max_attempts: int
    max_total_s: float
    backoff: Backoff
    retry_after_cap_s: float

    @classmethod
    def from_settings(cls, s: RetrySettings) -> RetryPolicy:
        return cls(s.max_attempts, s.max_total_s, s.backoff(), s.retry_after_cap_s)

    @property
    def max_delay_s(self) -> float:
        """The longest backoff (without ``Retry-After``)."""
        return self.backoff.max_s

    def wait_s(self, attempt: int, exc: BaseException | None, rng: random.Random) -> float:
        """Backoff after failed attempt ``attempt`` (1-based), but at least the server's
        ``Retry-After`` (capped) when it sent one."""
        delay = self.backoff.delay_s(attempt, rng)
        if isinstance(exc, RateLimited) and exc.retry_after_s is not None:
            delay = max(delay, min(exc.retry_after_s, self.retry_after_cap_s))
        return delay

    def should_retry(self, exc: BaseException, *, idempotent: bool) -> bool:
        """Whether another attempt can help and is safe; never for cancellation."""
        if not isinstance(exc, BookyFlowError) or isinstance(exc, CircuitOpen):
            # Cancellation and foreign exceptions are not failures to retry; an open breaker
            # means "fail fast", which retrying within the same call would defeat.
            return False
        if not exc.retryable:
            return False
        return idempotent or _provably_not_processed(exc)


def is_transient(exc: BaseException) -> bool:
    """Whether ``exc`` is the site's passing trouble rather than a fault of what we sent.

    The one answer to "may trying again later help?", and it is the error's ``retryable`` flag:
    transport errors, the statuses of ``responses.RETRYABLE_STATUSES``, a spoilt body, an open
    breaker, no token for now. Start-up retries these, jobs log them without a traceback, and
    they never pause a property (``sync``); everything else (a refusal, a bad answer to a good
    request, a bug) would only repeat.
    """
    return isinstance(exc, BookyFlowError) and exc.retryable


def _provably_not_processed(exc: BookyFlowError) -> bool:
    """A POST may be repeated only if the site cannot have acted on it."""
    if isinstance(exc, TransportError):
        return not exc.sent  # connect failures, including connect timeouts
    # 429 (and 503 with Retry-After) come from the proxy in front of the site, before PHP runs;
    # TokenUnavailable is raised before anything is sent.
    return isinstance(exc, RateLimited | TokenUnavailable)


class _RetryRun(Generic[T]):
    """The state of one ``call_with_retry``: tenacity's hooks, read on the injected clock."""

    def __init__(
        self,
        policy: RetryPolicy,
        budget: RetryBudget,
        clock: Clock,
        idempotent: bool,
        rng: random.Random,
        *,
        started_at: float,
        first_failure: BaseException,
    ) -> None:
        self.policy, self.budget, self.clock = policy, budget, clock
        self.idempotent, self.rng = idempotent, rng
        self.started_at = started_at
        self.attempts = 0
        self.last_cost = 0
        self.first_failure = first_failure

    async def call(self, attempt: Callable[[int], Awaitable[T]]) -> T:
        self.attempts += 1
        if self.attempts == 1:
            # The first attempt already ran outside tenacity (the fast path); replaying its
            # failure lets tenacity account for it exactly as if it had run it.
            raise self.first_failure
        return await attempt(self.attempts)

    def retry(self, state: RetryCallState) -> bool:
        exc = _failure(state)
        return exc is not None and self.policy.should_retry(exc, idempotent=self.idempotent)

    def wait(self, state: RetryCallState) -> float:
        return self.policy.wait_s(state.attempt_number, _failure(state), self.rng)

    def stop(self, state: RetryCallState) -> bool:
        """Stop on attempts, on total time (counting the coming sleep), or on an empty budget."""
        if state.attempt_number >= self.policy.max_attempts:
            return True
        elapsed = self.clock.now() - self.started_at + (state.upcoming_sleep or 0.0)
        if elapsed > self.policy.max_total_s:
            return True
        return not self._take_budget(_failure(state))

    def _take_budget(self, exc: BaseException | None) -> bool:
        # Checked last, so tokens are only spent on a retry that will really happen.
        if exc is None or not self.budget.try_acquire(exc):
            log.warning(
                "retry.budget_exhausted",
                available=self.budget.available,
                error=type(exc).__name__,
            )
            return False
        self.last_cost = self.budget.cost_of(exc)
        return True


def _failure(state: RetryCallState) -> BaseException | None:
    outcome = state.outcome
    return outcome.exception() if outcome is not None and outcome.failed else None


async def call_with_retry(
    attempt: Callable[[int], Awaitable[T]],
    *,
    policy: RetryPolicy,
    budget: RetryBudget,
    clock: Clock,
    idempotent: bool,
    rng: random.Random | None = None,
    on_retry: RetryHook | None = None,
) -> T:
    """Run ``attempt(n)`` (n = 1, 2, ...) until it succeeds or the policy says stop.

    The last failure is re-raised unchanged; ``on_retry(n, exc, sleep_s)`` runs before each
    backoff sleep (the client logs ``http.retry_scheduled`` there).
    """
    started_at = clock.now()
    # Fast path: most calls succeed first time, and building tenacity's loop costs more than
    # the rest of the client's per-request work; it is only built once an attempt has failed.
    try:
        result = await attempt(1)
    except BaseException as exc:
        if not policy.should_retry(exc, idempotent=idempotent):
            raise
        first_failure = exc
    else:
        budget.on_success(released=0)
        return result
    run: _RetryRun[T] = _RetryRun(
        policy,
        budget,
        clock,
        idempotent,
        rng or _JITTER,
        started_at=started_at,
        first_failure=first_failure,
    )

    def before_sleep(state: RetryCallState) -> None:
        exc = _failure(state)
        if on_retry is not None and exc is not None:
            on_retry(state.attempt_number, exc, state.upcoming_sleep)

    retrying = AsyncRetrying(
        sleep=clock.sleep,
        stop=run.stop,
        wait=run.wait,
        retry=run.retry,
        before_sleep=before_sleep,
        reraise=True,
    )
    outcome: T = await retrying(run.call, attempt)
    budget.on_success(released=run.last_cost)
    return outcome
