"""Token lifecycle: pure freshness, single-flight refresh, failing endpoint, 401 path."""

from __future__ import annotations

import asyncio
import itertools
import random

import pytest
from structlog.testing import capture_logs

from worker.api.auth import (
    Token,
    TokenGrant,
    TokenManager,
    TokenState,
    parse_granted_scopes,
    refresh_delay_s,
    token_state,
)
from worker.errors import (
    AuthError,
    CredentialsRejected,
    ScopeRejected,
    ServerError,
    TokenUnavailable,
)
from worker.logging import REDACTED, redactor
from worker.settings import TokenSettings
from worker.testing import FakeClock

SETTINGS = TokenSettings()


class FakeFetcher:
    """A token endpoint: counts requests, can hold them on a gate, fail, and take virtual time."""

    def __init__(self, clock: FakeClock, *, ttl_s: float = 3600.0, latency_s: float = 0.0) -> None:
        self.clock = clock
        self.ttl_s = ttl_s
        self.latency_s = latency_s
        self.calls = 0
        self.gate: asyncio.Event | None = None
        self.fail_with: Exception | None = None
        self.scopes = frozenset({"read", "write"})
        self.server_expiry: dict[str, float] = {}  # token value -> when the server expires it
        self.sent: list[float] = []  # when each request was sent

    async def __call__(self) -> TokenGrant:
        self.calls += 1
        self.sent.append(self.clock.now())
        if self.gate is not None:
            await self.gate.wait()
        if self.latency_s:
            await self.clock.sleep(self.latency_s / 2)
        if self.fail_with is not None:
            raise self.fail_with
        value = f"tok-{self.calls:04d}-secretvalue"
        self.server_expiry[value] = self.clock.now() + self.ttl_s  # server starts the clock late
        if self.latency_s:
            await self.clock.sleep(self.latency_s / 2)
        return TokenGrant(access_token=value, expires_in_s=self.ttl_s, scopes=self.scopes)


def _token(**kw: float) -> Token:
    fields = {"issued_at": 0.0, "refresh_at": 80.0, "expires_at": 100.0, **kw}
    return Token(value="v" * 10, generation=1, scopes=frozenset(), **fields)


def _manager(fetch: FakeFetcher, **settings: float) -> TokenManager:
    return TokenManager(
        fetch,
        TokenSettings(**settings),
        clock=fetch.clock,
        rng=random.Random(7),
    )


def test_token_state_is_fresh_then_stale_then_expired() -> None:
    """The pure core classifies by refresh_at and expires_at; no token counts as expired."""
    token = _token()
    assert token_state(token, 79.9) is TokenState.FRESH
    assert token_state(token, 80.0) is TokenState.STALE
    assert token_state(token, 100.0) is TokenState.EXPIRED
    assert token_state(None, 0.0) is TokenState.EXPIRED


def test_token_value_never_appears_in_reprs() -> None:
    """Token and grant reprs leave the secret value out."""
    grant = TokenGrant(access_token="sekrit-token-value", expires_in_s=1, scopes=frozenset())
    assert "sekrit" not in repr(grant)
    assert "sekrit" not in repr(_token())


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("read write", {"read", "write"}),
        ("read,write", {"read", "write"}),
        (" read , delete ", {"read", "delete"}),
        (None, {"read", "asked"}),
        ("", {"read", "asked"}),
    ],
)
def test_granted_scopes_accept_spaces_commas_and_absence(
    raw: str | None, expected: set[str]
) -> None:
    """Granted scopes are split on spaces or commas; absent means the requested set."""
    assert parse_granted_scopes(raw, ("read", "asked")) == expected


def test_refresh_lands_in_the_jitter_window_and_respects_max_age() -> None:
    """Refresh is at 75–85 % of the lifetime, but never later than max_age_s."""
    rng = random.Random(1)
    delays = [refresh_delay_s(3600, SETTINGS, rng) for _ in range(500)]
    assert 0.75 * 3600 <= min(delays) < max(delays) <= 0.85 * 3600
    assert refresh_delay_s(365 * 86400, SETTINGS, rng) == SETTINGS.max_age_s


def test_failed_refresh_backoff_is_jittered_but_never_below_the_interval() -> None:
    """Retry delays (the token settings' Backoff) never go under retry_min_interval_s, spread out
    as failures repeat, and stay under retry_max_interval_s."""
    rng = random.Random(3)
    backoff = SETTINGS.retry_backoff()
    delays = [backoff.delay_s(n, rng) for n in range(1, 200)]
    assert min(delays) >= SETTINGS.retry_min_interval_s
    assert max(delays) > SETTINGS.retry_min_interval_s * 2
    assert max(delays) <= SETTINGS.retry_max_interval_s


async def test_200_concurrent_callers_on_a_cold_start_cause_one_token_request() -> None:
    """Single-flight: every caller waits on the same request and gets the same token."""
    fetch = FakeFetcher(FakeClock())
    fetch.gate = asyncio.Event()
    manager = _manager(fetch)
    callers = [asyncio.create_task(manager.get()) for _ in range(200)]
    await fetch.clock.run_until_idle()
    fetch.gate.set()
    tokens = await asyncio.gather(*callers)
    assert fetch.calls == 1 == manager.token_requests
    assert {t.generation for t in tokens} == {1}
    assert manager.ready
    assert manager.granted_scopes == {"read", "write"}


async def test_failing_endpoint_gives_every_waiter_the_same_error_and_one_request() -> None:
    """All waiters share one failure; no waiter retries it, and the next try waits a window."""
    fetch = FakeFetcher(FakeClock())
    fetch.gate, fetch.fail_with = asyncio.Event(), ServerError("down", status=503)
    manager = _manager(fetch)
    callers = [asyncio.create_task(manager.get()) for _ in range(200)]
    await fetch.clock.run_until_idle()
    fetch.gate.set()
    results = await asyncio.gather(*callers, return_exceptions=True)
    assert all(r is fetch.fail_with for r in results)
    with pytest.raises(TokenUnavailable) as unavailable:
        await manager.get()
    assert unavailable.value.__cause__ is fetch.fail_with
    fetch.clock.advance(SETTINGS.retry_min_interval_s - 0.01)
    with pytest.raises(TokenUnavailable):
        await manager.get()
    assert fetch.calls == 1
    fetch.clock.advance(300.0)
    fetch.fail_with = None
    assert (await manager.get()).generation == 1
    assert fetch.calls == 2
    assert manager.ready
    assert manager.last_error is None


async def test_rejected_credentials_reach_every_waiter_and_are_never_retried() -> None:
    """invalid_client is final: every caller gets CredentialsRejected and no request follows."""
    fetch = FakeFetcher(FakeClock())
    fetch.fail_with = CredentialsRejected("invalid_client", status=400, code="invalid_client")
    manager = _manager(fetch)
    results = await asyncio.gather(*(manager.get() for _ in range(20)), return_exceptions=True)
    assert all(r is fetch.fail_with for r in results)
    await manager.open()
    await fetch.clock.run_for(3600)
    with pytest.raises(CredentialsRejected):
        await manager.get()
    assert fetch.calls == 1
    await manager.close()


async def test_rejected_scope_is_final_too() -> None:
    """invalid_scope is not retried either."""
    fetch = FakeFetcher(FakeClock())
    fetch.fail_with = ScopeRejected("invalid_scope", status=400)
    manager = _manager(fetch)
    for _ in range(3):
        with pytest.raises(ScopeRejected):
            await manager.get()
    assert fetch.calls == 1


async def test_stale_token_is_served_at_once_while_one_background_refresh_runs() -> None:
    """The hot path never waits for the endpoint while the held token is still valid."""
    fetch = FakeFetcher(FakeClock(), ttl_s=100.0)
    manager = _manager(fetch)
    first = await manager.get()
    fetch.clock.advance(first.refresh_at - fetch.clock.now())
    fetch.gate = asyncio.Event()
    served = [await manager.get() for _ in range(50)]
    assert {t.generation for t in served} == {1}
    fetch.gate.set()
    await fetch.clock.run_until_idle()
    assert fetch.calls == 2
    assert (await manager.get()).generation == 2


async def test_endpoint_down_before_expiry_keeps_the_token_and_retries_politely() -> None:
    """While the token lives it is served; refreshes retry at most once per interval."""
    fetch = FakeFetcher(FakeClock(), ttl_s=600.0)
    manager = _manager(fetch)
    token = await manager.get()
    fetch.fail_with = TimeoutError("token endpoint timed out")
    await manager.open()
    with capture_logs() as logs:
        while fetch.clock.now() < token.expires_at - 0.5:
            assert (await manager.get()) is token
            await fetch.clock.run_for(0.5)
    retries = fetch.sent[1:]  # the first request was the successful cold start
    gaps = [b - a for a, b in itertools.pairwise(retries)]
    assert len(retries) >= 3
    assert min(gaps) >= SETTINGS.retry_min_interval_s
    failed = [e for e in logs if e["event"] == "token.refresh_failed"]
    assert failed[0]["error"] == "TimeoutError"
    assert failed[0]["retry_in_s"] >= SETTINGS.retry_min_interval_s
    await manager.close()


async def test_at_hard_expiry_callers_are_refused_and_the_manager_is_not_ready() -> None:
    """Once the token expires with the endpoint down, get() raises and ready turns False."""
    fetch = FakeFetcher(FakeClock(), ttl_s=60.0)
    manager = _manager(fetch)
    token = await manager.get()
    fetch.fail_with = ServerError("down", status=502)
    fetch.clock.advance(token.expires_at - fetch.clock.now())
    assert not manager.ready
    with pytest.raises(ServerError):
        await manager.get()
    with pytest.raises(TokenUnavailable):
        await manager.get()
    assert fetch.calls == 2


async def test_without_a_valid_token_the_endpoint_is_asked_again_at_the_floor_rate() -> None:
    """Tokenless, failures retry every retry_min_interval_s instead of backing off to minutes."""
    fetch = FakeFetcher(FakeClock(), ttl_s=60.0)
    manager = _manager(fetch)
    token = await manager.get()
    fetch.fail_with = ServerError("down", status=502)
    fetch.clock.advance(token.expires_at - fetch.clock.now())
    await manager.open()
    await fetch.clock.run_for(600.0)
    gaps = [b - a for a, b in itertools.pairwise(fetch.sent[1:])]
    assert len(gaps) >= 10  # a growing backoff would allow only a handful in 10 minutes
    assert all(
        SETTINGS.retry_min_interval_s <= gap <= SETTINGS.retry_min_interval_s + 1 for gap in gaps
    )
    await manager.close()


async def test_short_ttl_over_a_long_run_never_uses_an_expired_token() -> None:
    """5 s tokens with latency over 30 virtual seconds: every use is before server expiry."""
    fetch = FakeFetcher(FakeClock(), ttl_s=5.0, latency_s=0.4)
    manager = _manager(fetch)
    await manager.open()
    uses, late = 0, 0

    async def user() -> None:
        nonlocal uses, late
        while True:
            token = await manager.get()
            uses += 1
            late += fetch.clock.now() >= fetch.server_expiry[token.value]
            await fetch.clock.sleep(0.05)

    traffic = asyncio.create_task(user())
    await fetch.clock.run_for(30.0)
    traffic.cancel()
    await manager.close()
    assert uses > 500
    assert late == 0
    assert 6 <= fetch.calls <= 10


async def test_401_on_the_current_generation_forces_exactly_one_refresh() -> None:
    """Fifty requests rejected with the same token share one new token request."""
    fetch = FakeFetcher(FakeClock())
    manager = _manager(fetch)
    old = await manager.get()
    fresh = await asyncio.gather(*(manager.invalidate(old.generation) for _ in range(50)))
    assert {t.generation for t in fresh} == {2}
    assert fetch.calls == 2


async def test_401_with_an_older_generation_returns_the_newer_token_without_a_request() -> None:
    """A request that used an already replaced token just replays with the current one."""
    fetch = FakeFetcher(FakeClock())
    manager = _manager(fetch)
    old = await manager.get()
    await manager.invalidate(old.generation)
    again = await manager.invalidate(old.generation)
    assert again.generation == 2
    assert fetch.calls == 2


async def test_forced_refreshes_are_capped_per_window() -> None:
    """Past the cap a 401 becomes AuthError; after the window it is allowed again."""
    fetch = FakeFetcher(FakeClock())
    manager = _manager(fetch, forced_refresh_cap=3, forced_refresh_window_s=300.0)
    token = await manager.get()
    for _ in range(3):
        token = await manager.invalidate(token.generation)
    with pytest.raises(AuthError, match="forced token refreshes"):
        await manager.invalidate(token.generation)
    assert manager.current is token
    fetch.clock.advance(300.0)
    assert (await manager.invalidate(token.generation)).generation == token.generation + 1


async def test_refresh_is_logged_and_the_token_value_is_registered_for_redaction() -> None:
    """token.refreshed carries generation, lifetime, scopes, duration; the value is redacted."""
    fetch = FakeFetcher(FakeClock(), latency_s=0.25)
    manager = _manager(fetch)
    with capture_logs() as logs:
        task = asyncio.create_task(manager.get())
        await fetch.clock.run_for(1.0)
        token = await task
    (event,) = [e for e in logs if e["event"] == "token.refreshed"]
    assert event == {
        "event": "token.refreshed",
        "log_level": "info",
        "generation": 1,
        "expires_in_s": 3600.0,
        "scopes": ["read", "write"],
        "duration_ms": 250,
    }
    assert token.value not in str(logs)
    assert redactor.redact_text(f"Bearer-less {token.value}") == f"Bearer-less {REDACTED}"


async def test_expiry_is_measured_from_when_the_request_was_sent() -> None:
    """A slow token response shortens the token's life on our side instead of extending it."""
    fetch = FakeFetcher(FakeClock(), ttl_s=100.0, latency_s=10.0)
    manager = _manager(fetch)
    sent = fetch.clock.now()
    task = asyncio.create_task(manager.get())
    await fetch.clock.run_for(10.0)
    token = await task
    assert token.issued_at == sent
    assert token.expires_at == sent + 100.0


async def test_close_is_idempotent_and_stops_the_loop() -> None:
    """close twice is fine; afterwards a missing token is reported, not fetched."""
    fetch = FakeFetcher(FakeClock())
    async with _manager(fetch) as manager:
        await fetch.clock.run_until_idle()
        assert manager.ready
    await manager.close()
    fetch.clock.advance(3600.0)
    with pytest.raises(TokenUnavailable, match="closed"):
        await manager.get()
    assert fetch.calls == 1
