"""Tokens through the client against the sandbox: single flight, refresh ahead, 401 replay."""

from __future__ import annotations

import asyncio

import pytest

from tests.api.client_support import announced, make_settings, without_refresh_loop
from tests.conftest import SandboxFactory
from worker.api.client import BookyFlowClient
from worker.errors import AuthError, CredentialsRejected, ServerError, TokenUnavailable
from worker.sandbox import Sandbox
from worker.testing import FakeClock

TOKEN_PATH = "/oauth/token"
VERSIONS = "cmf/versions"


def _token_requests(sandbox: Sandbox) -> int:
    return len(sandbox.journal.matching(method="POST", path=TOKEN_PATH))


async def test_200_concurrent_callers_on_a_cold_start_share_one_token_request(
    any_sandbox: Sandbox,
) -> None:
    """200 callers with no token yet cause exactly one token request, in both modes."""
    await announced(any_sandbox)
    async with BookyFlowClient(make_settings(any_sandbox.api_url)) as client:
        results = await asyncio.gather(*(client.request("GET", VERSIONS) for _ in range(200)))
    assert all(result for result in results)  # the versions object, whatever its keys
    assert _token_requests(any_sandbox) == 1
    assert client.tokens.token_requests == 1


async def test_failing_token_endpoint_gives_every_waiter_the_same_error(
    sandbox: Sandbox,
) -> None:
    """One token request per attempt window; all concurrent waiters share its failure."""
    await announced(sandbox)
    sandbox.faults.fail_next(500, times=10, path=TOKEN_PATH)
    client = BookyFlowClient(make_settings(sandbox.api_url, max_attempts=1), clock=FakeClock())
    async with without_refresh_loop(client):
        first = await asyncio.gather(
            *(client.request("GET", VERSIONS) for _ in range(30)), return_exceptions=True
        )
        second = await asyncio.gather(
            *(client.request("GET", VERSIONS) for _ in range(30)), return_exceptions=True
        )
    assert all(isinstance(error, ServerError) for error in first)
    assert len({id(error) for error in first}) == 1
    assert all(isinstance(error, TokenUnavailable) for error in second)
    assert _token_requests(sandbox) == 1
    assert not sandbox.journal.matching(path=VERSIONS)


async def test_rejected_credentials_are_final(sandbox: Sandbox) -> None:
    """A wrong secret is ``CredentialsRejected`` for everyone, asked once, never retried."""
    await announced(sandbox)
    settings = make_settings(sandbox.api_url, secret="wrong-secret-value")
    async with BookyFlowClient(settings) as client:
        errors = await asyncio.gather(
            *(client.request("GET", VERSIONS) for _ in range(5)), return_exceptions=True
        )
        with pytest.raises(CredentialsRejected):
            await client.request("GET", VERSIONS)
    assert all(isinstance(error, CredentialsRejected) for error in errors)
    assert _token_requests(sandbox) == 1


async def test_short_ttl_never_sends_an_expired_token(sandbox_factory: SandboxFactory) -> None:
    """With 5 s tokens over 30 s of (virtual) traffic, no request reaches the site expired."""
    clock = FakeClock()
    sandbox = await sandbox_factory(token_ttl_s=5, wall_clock=lambda: 1.7e9 + clock.now())
    await announced(sandbox)
    async with BookyFlowClient(make_settings(sandbox.api_url), clock=clock) as client:
        for _ in range(60):
            await asyncio.gather(*(client.request("GET", VERSIONS) for _ in range(3)))
            await clock.run_for(0.5)
    states = [entry.token_state for entry in sandbox.journal.matching(path=VERSIONS)]
    assert len(states) == 180
    assert set(states) == {"valid"}
    assert _token_requests(sandbox) >= 30 // 5


async def test_revoked_tokens_cost_one_token_request_and_every_call_replays(
    any_sandbox: Sandbox,
) -> None:
    """50 calls holding a revoked token: one new token, 50 successful replays."""
    await announced(any_sandbox)
    async with BookyFlowClient(make_settings(any_sandbox.api_url)) as client:
        await client.request("GET", VERSIONS)
        any_sandbox.tokens.revoke_all()
        any_sandbox.journal.clear()
        results = await asyncio.gather(*(client.request("GET", VERSIONS) for _ in range(50)))
    assert len(results) == 50
    assert _token_requests(any_sandbox) == 1
    statuses = [entry.status for entry in any_sandbox.journal.matching(path=VERSIONS)]
    assert statuses.count(200) == 50
    assert client.stats.auth_replays == statuses.count(401)


async def test_persistent_401_means_two_attempts_then_auth_error(any_sandbox: Sandbox) -> None:
    """A site that refuses every token: exactly two sends per call, then ``AuthError``."""
    await announced(any_sandbox)
    any_sandbox.faults.fail_next(401, times=100, path=VERSIONS)
    async with BookyFlowClient(make_settings(any_sandbox.api_url)) as client:
        with pytest.raises(AuthError):
            await client.request("GET", VERSIONS)
    assert len(any_sandbox.journal.matching(path=VERSIONS)) == 2
    assert _token_requests(any_sandbox) == 2


async def test_forced_refreshes_are_capped(sandbox: Sandbox) -> None:
    """Repeated 401s cannot turn into a token-request storm: the per-window cap holds."""
    await announced(sandbox)
    sandbox.faults.fail_next(401, times=1000, path=VERSIONS)
    async with BookyFlowClient(make_settings(sandbox.api_url)) as client:
        for _ in range(10):
            with pytest.raises(AuthError):
                await client.request("GET", VERSIONS)
    cap = client.settings.token.forced_refresh_cap
    assert _token_requests(sandbox) == 1 + cap


async def test_auth_free_calls_carry_no_token(sandbox: Sandbox) -> None:
    """``auth=False`` endpoints are sent without ``Authorization`` and need no token."""
    await announced(sandbox)
    client = BookyFlowClient(make_settings(sandbox.api_url))
    async with without_refresh_loop(client):  # the loop would fetch a token up front
        endpoints = await client.request("GET", "core/endpoints", auth=False, channel=False)
    assert endpoints
    (entry,) = sandbox.journal.matching(path="core/endpoints")
    assert not any(name.lower() == "authorization" for name in entry.headers)
    assert _token_requests(sandbox) == 0


async def test_token_that_expires_while_waiting_at_the_gate_is_swapped_before_sending(
    sandbox: Sandbox,
) -> None:
    """A call held at the gate past its token's expiry sends a new token, not the dead one."""
    await announced(sandbox)
    client = BookyFlowClient(make_settings(sandbox.api_url), clock=FakeClock(auto_advance=True))
    async with without_refresh_loop(client):
        await client.request("GET", VERSIONS)  # token 1
        first = client.tokens.current
        assert first is not None
        client.gate.hold_for(first.expires_at - client.clock.now() + 1)  # a long Retry-After
        sandbox.journal.clear()
        await client.request("GET", VERSIONS)
    sent = [e for e in sandbox.journal.entries if e.path.endswith(VERSIONS)]
    assert [e.token_state for e in sent] == ["valid"]
    assert sent[0].headers["Authorization"] != f"Bearer {first.value}"
    assert _token_requests(sandbox) == 1  # the replacement, fetched after the wait


async def test_token_refused_while_a_call_waits_at_the_gate_is_swapped_before_sending(
    sandbox: Sandbox,
) -> None:
    """A 401 to one call while another waits at the gate: the waiting one sends the new token.

    The many-sites soak's ``revoked`` site caught the old token going out 1.8 s after the site
    had refused it: the waiting call had fetched it before the gate and only checked expiry.
    """
    await announced(sandbox)
    clock = FakeClock()
    client = BookyFlowClient(make_settings(sandbox.api_url), clock=clock)
    async with without_refresh_loop(client):
        await client.request("GET", VERSIONS)  # token 1
        first = client.tokens.current
        assert first is not None
        client.gate.hold_for(5.0)
        sandbox.journal.clear()
        waiting = asyncio.create_task(client.request("GET", VERSIONS))
        await clock.run_until_idle()  # it holds token 1 and sleeps at the gate
        sandbox.tokens.revoke_all()
        refused = asyncio.create_task(client.tokens.invalidate(first.generation))  # a 401
        await clock.run_for(6.0)  # the token request queues at the gate too
        await waiting
        newer = await refused
    sent = [e for e in sandbox.journal.entries if e.path.endswith(VERSIONS)]
    assert [e.token_state for e in sent] == ["valid"]
    assert sent[0].headers["Authorization"] == f"Bearer {newer.value}"
