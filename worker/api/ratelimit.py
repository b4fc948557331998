"""How much we may send to one site: its retry budget and its rate gate.

``RetryBudget`` follows the AWS SDK "standard" retry mode: a bucket of 500 tokens; a retry
costs 5 (10 after a timeout); a success refunds 1, or what its own retry cost. When the
bucket is empty failures are returned instead of retried, so a sick site cannot turn every
call into a retry storm. There is one budget per site (per client), never one per process: a
site that is down spends its own tokens, not those of the healthy sites beside it
(``worker.api.retry`` explains the choice). ``SiteGate`` is a token bucket per site plus a
site-wide hold: a proxy's ``Retry-After`` limits the whole client, so nothing more is sent until
it has passed.
"""

from __future__ import annotations

import asyncio

from worker.clock import Clock
from worker.errors import TokenUnavailable
from worker.settings import RetrySettings

__all__ = ["RetryBudget", "SiteGate"]

_EPSILON = 1e-9


class RetryBudget:
    """One site's retry tokens (single event loop: no lock needed)."""

    def __init__(
        self,
        tokens: int = 500,
        *,
        retry_cost: int = 5,
        timeout_cost: int = 10,
        success_refund: int = 1,
    ) -> None:
        self._capacity = tokens
        self._available = tokens
        self._retry_cost = retry_cost
        self._timeout_cost = timeout_cost
        self._success_refund = success_refund

    @classmethod
    def from_settings(cls, s: RetrySettings) -> RetryBudget:
        return cls(
            s.budget_tokens,
            retry_cost=s.budget_retry_cost,
            timeout_cost=s.budget_timeout_cost,
            success_refund=s.budget_success_refund,
        )

    @property
    def available(self) -> int:
        return self._available

    def cost_of(self, exc: BaseException) -> int:
        # Nothing reached the site without a token, so retrying costs it nothing; charging it
        # drained the budget during a token outage and left the token request itself no retries
        # once the endpoint was back (chaos soak: 25 min without a token).
        if isinstance(exc, TokenUnavailable):
            return 0
        return self._timeout_cost if isinstance(exc, TimeoutError) else self._retry_cost

    def try_acquire(self, exc: BaseException) -> bool:
        """Take the cost of retrying after ``exc``; False (and nothing taken) when too few left."""
        cost = self.cost_of(exc)
        if cost > self._available:
            return False
        self._available -= cost
        return True

    def on_success(self, *, released: int = 0) -> None:
        """A call succeeded: refund its last retry's cost, or ``success_refund`` if it had none."""
        refund = released if released > 0 else self._success_refund
        self._available = min(self._capacity, self._available + refund)


class SiteGate:
    """Per-site token bucket (``rate_per_s``, ``burst``) plus a hold until a ``Retry-After``.

    Acquirers queue on a lock, so they are served in arrival order and sleep one at a time
    instead of all waking together to race for the next token. The lock is skipped when nobody
    is queued and a token is there (the common case, and most of the gate's cost per request).
    """

    def __init__(self, rate_per_s: float, burst: int, clock: Clock) -> None:
        if rate_per_s <= 0 or burst < 1:
            raise ValueError("rate_per_s must be > 0 and burst >= 1")
        self._rate = rate_per_s
        self._burst = float(burst)
        self._clock = clock
        self._tokens = float(burst)
        self._refilled_at = clock.now()
        self._hold_until = -float("inf")
        self._lock = asyncio.Lock()
        self._queued = 0  # acquirers inside acquire()'s locked path: newcomers queue behind them

    @property
    def hold_remaining_s(self) -> float:
        return max(0.0, self._hold_until - self._clock.now())

    async def acquire(self) -> None:
        """Wait until this site may be sent one more request."""
        if not self._queued and self._wait_s() <= 0:
            self._tokens -= 1.0
            return
        self._queued += 1
        try:
            async with self._lock:
                while (wait_s := self._wait_s()) > 0:
                    await self._clock.sleep(wait_s)
                self._tokens -= 1.0
        finally:
            self._queued -= 1

    def hold_for(self, seconds: float) -> None:
        """Send nothing to this site for ``seconds``; afterwards restart gently with one token."""
        until = self._clock.now() + max(0.0, seconds)
        if until > self._hold_until:
            self._hold_until = until
            self._tokens, self._refilled_at = 1.0, until

    def _wait_s(self) -> float:
        now = self._clock.now()
        if now < self._hold_until:
            return self._hold_until - now
        elapsed = max(0.0, now - self._refilled_at)
        self._tokens = min(self._burst, self._tokens + elapsed * self._rate)
        self._refilled_at = max(self._refilled_at, now)
        missing = 1.0 - self._tokens
        # A float hair short of a whole token counts as one: a wait too short to move the
        # clock (1e-14 s at a reading of ~5e3, say) would make the loop in acquire() spin forever.
        wait_s = missing / self._rate
        return 0.0 if missing <= _EPSILON or now + wait_s <= now else wait_s
