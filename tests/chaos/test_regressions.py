"""Regression tests for worker bugs the chaos soak found (one test per fix)."""

from __future__ import annotations

import pytest

from tests.api.client_support import announced, make_settings
from worker.api.client import BookyFlowClient
from worker.api.ratelimit import RetryBudget
from worker.errors import CircuitOpen, ServerError, TokenUnavailable
from worker.sandbox import Sandbox
from worker.settings import BackoffSettings
from worker.sync.gates import PropertyGates
from worker.testing import FakeClock

TOKEN_PATH = "/oauth/token"


async def test_transient_token_failures_are_retried_within_the_call(sandbox: Sandbox) -> None:
    """A proxy 503 and a reset on the token request are retried; the first call still succeeds."""
    await announced(sandbox)
    sandbox.faults.fail_next(503, path=TOKEN_PATH)
    sandbox.faults.reset_next(path=TOKEN_PATH)
    settings = make_settings(sandbox.api_url, base_delay_s=0.01, max_delay_s=0.02)
    async with BookyFlowClient(settings) as client:
        versions = await client.request("GET", "cmf/versions")
    assert versions  # the versions object, whatever its keys
    statuses = [entry.status for entry in sandbox.journal.matching(path=TOKEN_PATH)]
    assert statuses == [503, 0, 200]


async def test_revocations_beyond_the_forced_refresh_cap_are_still_replayed(
    sandbox: Sandbox,
) -> None:
    """A token that worked and was then revoked is replaced every time, cap or no cap."""
    await announced(sandbox)
    async with BookyFlowClient(make_settings(sandbox.api_url)) as client:
        cap = client.settings.token.forced_refresh_cap
        for _ in range(cap + 3):
            await client.request("GET", "cmf/versions")
            sandbox.tokens.revoke_all()
        await client.request("GET", "cmf/versions")
    refused = sandbox.journal.matching(path="cmf/versions")
    assert [e.status for e in refused].count(401) == cap + 3
    assert all(e.status == 200 for e in refused if e.token_state == "valid")


async def test_site_wide_failures_do_not_back_a_property_off() -> None:
    """An open breaker or a missing token is no fault of the property: it stays ready."""
    gates = PropertyGates(FakeClock(), BackoffSettings().property())
    for error in (CircuitOpen("open"), TokenUnavailable("none")):
        with pytest.raises(type(error)):
            async with gates.writing(7):
                raise error
        assert gates.ready(7)
    with pytest.raises(ServerError):
        async with gates.writing(7):
            raise ServerError("HTTP 503", status=503)
    assert not gates.ready(7)


def test_retrying_without_a_token_costs_no_retry_budget() -> None:
    """``TokenUnavailable`` sent nothing: its retries leave the budget for real failures."""
    budget = RetryBudget(10, retry_cost=5, timeout_cost=10, success_refund=1)
    for _ in range(5):
        assert budget.try_acquire(TokenUnavailable("no token"))
    assert budget.available == 10
    assert budget.try_acquire(ServerError("HTTP 503", status=503))
    assert budget.available == 5
