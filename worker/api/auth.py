"""Token lifecycle: the single-flight ``TokenManager`` over the pure core in ``tokens.py``.

Expiry is measured on the injected monotonic clock from when the token request was *sent*, so
a slow token endpoint can only make us refresh early, never use a token the server has expired.
One refresh is in flight at a time and every waiter shares its result *or its failure*: a
failing endpoint sees one request per retry window, not one per waiting caller (the refresh
storm that Authlib and google-auth's aiohttp transport suffer after a failed refresh).
"""

from __future__ import annotations

import asyncio
import contextlib
import math
import random
from collections import deque
from collections.abc import Callable

from worker.api.tokens import (
    Token,
    TokenFetcher,
    TokenGrant,
    TokenState,
    parse_granted_scopes,
    refresh_delay_s,
    token_state,
)
from worker.clock import Clock
from worker.closing import AsyncClosing
from worker.errors import AuthError, CredentialsRejected, ScopeRejected, TokenUnavailable
from worker.logging import get_logger, redactor
from worker.settings import TokenSettings

__all__ = [
    "Token",
    "TokenFetcher",
    "TokenGrant",
    "TokenManager",
    "TokenState",
    "parse_granted_scopes",
    "refresh_delay_s",
    "token_state",
]

log = get_logger(__name__)


def _retrieve_exception(task: asyncio.Task[Token]) -> None:
    # Waiters may all have gone (or none existed, for a background refresh); the failure is
    # already logged, so mark it retrieved instead of letting asyncio report it at GC.
    if not task.cancelled():
        task.exception()


class TokenManager(AsyncClosing):
    """Holds the current token, refreshes it ahead of expiry, and shares one refresh among all.

    ``get()`` never waits while the token is fresh or stale; it waits only when no unexpired
    token is held. ``invalidate(generation)`` is the 401 path. Rejected credentials or scopes
    are final: they are raised to every caller and never requested again.
    """

    def __init__(
        self,
        fetch: TokenFetcher,
        settings: TokenSettings,
        *,
        clock: Clock,
        rng: random.Random | None = None,
        on_refresh: Callable[[Token], None] | None = None,
        redaction_owner: str | None = None,
    ) -> None:
        self._fetch = fetch
        # Whose token slots in the redactor this manager's tokens take (the site, for a client).
        self._redaction_owner = redaction_owner or f"token-manager-{id(self)}"
        self._settings = settings
        self._backoff = settings.retry_backoff()
        self._clock = clock
        self._rng = rng or random.Random()
        self._on_refresh = on_refresh
        self._token: Token | None = None
        self._granted: frozenset[str] = frozenset()
        self._generation = 0
        self._confirmed_generation = 0
        self._requests = 0
        self._inflight: asyncio.Task[Token] | None = None
        self._failures = 0
        self._last_error: Exception | None = None
        self._fatal: AuthError | None = None
        self._next_attempt_at = -math.inf
        self._forced: deque[float] = deque()
        self._loop_task: asyncio.Task[None] | None = None
        self._closed = False

    @property
    def current(self) -> Token | None:
        return self._token

    @property
    def ready(self) -> bool:
        """A token that has not expired is held (what the readiness probe reports)."""
        return token_state(self._token, self._clock.now()) is not TokenState.EXPIRED

    @property
    def granted_scopes(self) -> frozenset[str]:
        return self._granted

    @property
    def token_requests(self) -> int:
        return self._requests

    @property
    def last_error(self) -> Exception | None:
        return self._last_error

    async def get(self) -> Token:
        """The token to send now; waits for the shared refresh only when none is usable."""
        token = self._token
        state = token_state(token, self._clock.now())
        if token is None or state is TokenState.EXPIRED:
            return await asyncio.shield(self._refresh_task())
        if state is TokenState.STALE and self._may_start_refresh():
            self._refresh_task()
        return token

    def superseded(self, token: Token) -> bool:
        """Whether a newer token replaced ``token``, or a 401 refused it and none is held yet."""
        current = self._token
        return current is None or current.generation != token.generation

    def confirm(self, generation: int) -> None:
        """The site accepted a token of ``generation``: a later 401 on it is a revocation."""
        self._confirmed_generation = max(self._confirmed_generation, generation)

    async def invalidate(self, generation: int) -> Token:
        """After a 401: refresh if ``generation`` is still current, else return the newer token.

        Only tokens the site never accepted count toward the forced-refresh cap: that is the
        "server rejects every new token" loop the cap guards against. A token that worked and
        was then revoked is replaced every time (the chaos soak revokes all tokens every 30 s;
        counting those tripped the cap and failed calls until the window slid by).
        """
        current = self._token
        if current is not None and current.generation == generation:
            if generation > self._confirmed_generation:
                self._count_forced_refresh()
            self._token = None  # the server refused it: nobody else may send it again
        return await self.get()

    async def open(self) -> None:
        """Start the background refresh loop (idempotent)."""
        if self._loop_task is None and not self._closed:
            loop = asyncio.get_running_loop()
            self._loop_task = loop.create_task(self._refresh_loop(), name="token-refresh-loop")

    async def close(self) -> None:
        """Stop the loop and any refresh in flight; safe to call more than once."""
        self._closed = True
        tasks = [task for task in (self._loop_task, self._inflight) if task is not None]
        self._loop_task = self._inflight = None
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _may_start_refresh(self) -> bool:
        idle = self._inflight is None or self._inflight.done()
        allowed = self._fatal is None and not self._closed
        return idle and allowed and self._clock.now() >= self._next_attempt_at

    def _refresh_task(self) -> asyncio.Task[Token]:
        """The one refresh in flight, started now if allowed; raises when it is not."""
        if self._inflight is not None and not self._inflight.done():
            return self._inflight
        if self._fatal is not None:
            raise self._fatal.with_traceback(None)
        if self._closed:
            raise TokenUnavailable("the token manager is closed")
        if self._clock.now() < self._next_attempt_at:
            raise TokenUnavailable("no valid token; the token endpoint is failing") from (
                self._last_error
            )
        task = asyncio.get_running_loop().create_task(self._request_token(), name="token-refresh")
        task.add_done_callback(_retrieve_exception)
        self._inflight = task
        return task

    async def _request_token(self) -> Token:
        sent_at = self._clock.now()
        self._requests += 1
        try:
            return self._accept(await self._fetch(), sent_at)
        except Exception as exc:
            self._record_failure(exc, sent_at)
            raise
        finally:
            self._inflight = None

    def _accept(self, grant: TokenGrant, sent_at: float) -> Token:
        redactor.add_token(grant.access_token, owner=self._redaction_owner)
        now = self._clock.now()
        if sent_at + grant.expires_in_s <= now:
            raise TokenUnavailable("the token endpoint issued a token that had already expired")
        self._generation += 1
        refresh_in = refresh_delay_s(grant.expires_in_s, self._settings, self._rng)
        token = Token(
            value=grant.access_token,
            generation=self._generation,
            issued_at=sent_at,
            refresh_at=sent_at + refresh_in,
            expires_at=sent_at + grant.expires_in_s,
            scopes=grant.scopes,
        )
        self._token, self._granted = token, grant.scopes
        self._failures, self._last_error, self._next_attempt_at = 0, None, -math.inf
        log.info(
            "token.refreshed",
            generation=token.generation,
            expires_in_s=grant.expires_in_s,
            scopes=sorted(grant.scopes),
            duration_ms=round((now - sent_at) * 1000),
        )
        if self._on_refresh is not None:
            self._on_refresh(token)
        return token

    def _record_failure(self, exc: Exception, sent_at: float) -> None:
        self._last_error = exc
        retry_in_s: float | None = None
        if isinstance(exc, CredentialsRejected | ScopeRejected):
            self._fatal = exc
        else:
            self._failures += 1
            # Backing off protects a failing token endpoint while a valid token still serves;
            # once none is held the worker is down, so it asks again at the floor rate (one
            # request per retry_min_interval_s) instead of waiting up to minutes (chaos soak:
            # a legacy site stayed tokenless for 12 minutes after its endpoint recovered).
            delay_s = (
                self._backoff.delay_s(self._failures, self._rng)
                if self.ready
                else self._settings.retry_min_interval_s
            )
            self._next_attempt_at = sent_at + delay_s
            retry_in_s = round(max(0.0, self._next_attempt_at - self._clock.now()), 3)
        log.warning(
            "token.refresh_failed",
            error=type(exc).__name__,
            retry_in_s=retry_in_s,
            failures=self._failures,
            token_valid=self.ready,
        )

    def _count_forced_refresh(self) -> None:
        """At most ``forced_refresh_cap`` 401-driven refreshes per window: no 401 loops."""
        now, window = self._clock.now(), self._settings.forced_refresh_window_s
        while self._forced and self._forced[0] <= now - window:
            self._forced.popleft()
        if len(self._forced) >= self._settings.forced_refresh_cap:
            raise AuthError(
                f"{len(self._forced)} forced token refreshes within {window:g} s; "
                "the server keeps rejecting new tokens",
                status=401,
            )
        self._forced.append(now)

    def _seconds_until_due(self) -> float:
        due_at = self._next_attempt_at
        if self._token is not None:
            due_at = max(due_at, self._token.refresh_at)
        return max(0.0, due_at - self._clock.now())

    async def _refresh_loop(self) -> None:
        # Sleeps are capped so a token dropped by a 401 (or a failure) is noticed within one
        # retry interval even when the next planned refresh is hours away.
        while self._fatal is None:
            wait_s = self._seconds_until_due()
            await self._clock.sleep(min(wait_s, self._settings.retry_min_interval_s))
            if self._seconds_until_due() > 0:
                continue
            with contextlib.suppress(Exception):  # logged and scheduled by _record_failure
                await asyncio.shield(self._refresh_task())
