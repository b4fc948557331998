"""Retries through the client against the sandbox, timed on a fake clock."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from functools import partial
from typing import Any

import aiohttp
import pytest

from tests.api.client_support import announced, make_settings, without_refresh_loop
from tests.conftest import SandboxFactory
from worker.api.client import BookyFlowClient
from worker.api.transport import new_session
from worker.errors import CircuitOpen, RateLimited, ScopeError, ServerError, TransportError
from worker.sandbox import Sandbox
from worker.sandbox.store import ClientSpec
from worker.testing import FakeClock

VERSIONS = "cmf/versions"
WALL = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)


def _client(
    sandbox: Sandbox, clock: FakeClock, *, traced: aiohttp.TraceConfig | None = None, **retry: Any
) -> BookyFlowClient:
    settings = make_settings(sandbox.api_url, **retry)
    factory = partial(new_session, settings.http, trace_configs=[traced] if traced else ())
    return BookyFlowClient(settings, clock=clock, session_factory=factory)


def _sent(sandbox: Sandbox, path: str = VERSIONS) -> int:
    return len(sandbox.journal.matching(path=path))


@pytest.mark.parametrize("legacy", [False, True])
async def test_missing_scope_is_scope_error_and_not_retried(
    sandbox_factory: SandboxFactory, legacy: bool
) -> None:
    """A client without ``delete`` gets ``ScopeError(needed_scope="delete")`` after one send."""
    reader = ClientSpec("reader", "reader-secret-123456", ("read", "write"))
    sandbox = await sandbox_factory(clients=(reader,), legacy=legacy)
    settings = make_settings(sandbox.api_url, client_id="reader", secret="reader-secret-123456")
    client = BookyFlowClient(settings, clock=FakeClock(auto_advance=True))
    async with without_refresh_loop(client):
        with pytest.raises(ScopeError) as info:
            await client.request("DELETE", "cmf/property/local/1")
    assert info.value.needed_scope == "delete"
    assert _sent(sandbox, "cmf/property/local/1") == 1
    assert client.stats.retries == 0


@pytest.mark.parametrize("retry_after", ["2", format_datetime(WALL + timedelta(seconds=2), True)])
async def test_429_retry_after_delays_the_next_attempt(sandbox: Sandbox, retry_after: str) -> None:
    """``Retry-After: 2`` (seconds or HTTP-date) makes the next attempt wait at least 2 s."""
    await announced(sandbox)
    clock = FakeClock(auto_advance=True, wall_start=WALL.timestamp())
    sandbox.faults.rate_limit_next(retry_after=retry_after, path=VERSIONS)
    async with without_refresh_loop(_client(sandbox, clock)) as client:
        await client.request("GET", "cmf/list/countries")  # the token, before timing starts
        started = clock.now()
        assert await client.request("GET", VERSIONS)
    assert clock.now() - started >= 2.0
    assert _sent(sandbox) == 2


async def test_retry_after_holds_the_whole_site(sandbox: Sandbox) -> None:
    """After a 429 with ``Retry-After: 2`` no other call is sent before 2 s have passed."""
    await announced(sandbox)
    clock = FakeClock(auto_advance=True)
    sandbox.faults.rate_limit_next(retry_after="2", path=VERSIONS)
    async with without_refresh_loop(_client(sandbox, clock, max_attempts=1)) as client:
        await client.request("GET", "cmf/list/countries")
        with pytest.raises(RateLimited):
            await client.request("GET", VERSIONS)
        limited_at = clock.now()
        await client.request("GET", "cmf/list/regions")
    assert clock.now() - limited_at >= 2.0


async def test_503_burst_recovers_with_backoff(any_sandbox: Sandbox) -> None:
    """Three HTML 503 pages in a row, then success: the caller sees only the payload."""
    await announced(any_sandbox)
    clock = FakeClock(auto_advance=True)
    any_sandbox.faults.fail_next(503, times=3, path=VERSIONS)
    async with without_refresh_loop(_client(any_sandbox, clock)) as client:
        assert await client.request("GET", VERSIONS)
    assert _sent(any_sandbox) == 4
    assert client.stats.retries == 3
    assert client.stats.requests_by_status["503"] == 3


async def test_attempts_are_bounded(sandbox: Sandbox) -> None:
    """A site that keeps failing is tried ``max_attempts`` times, then the error surfaces."""
    await announced(sandbox)
    clock = FakeClock(auto_advance=True)
    sandbox.faults.fail_next(502, times=50, path=VERSIONS)
    async with without_refresh_loop(_client(sandbox, clock, max_attempts=3)) as client:
        with pytest.raises(ServerError):
            await client.request("GET", VERSIONS)
    assert _sent(sandbox) == 3


async def test_post_is_not_retried_after_a_server_error(sandbox: Sandbox) -> None:
    """A 500 to a POST may have been processed: it is not sent again."""
    await announced(sandbox)
    clock = FakeClock(auto_advance=True)
    sandbox.faults.fail_next(500, times=5, path="cmf/property")
    async with without_refresh_loop(_client(sandbox, clock)) as client:
        with pytest.raises(ServerError):
            await client.request("POST", "cmf/property", form={"property_name": "x"})
    assert _sent(sandbox, "cmf/property") == 1


async def test_lost_response_to_a_put_marked_unsafe_is_not_retried(sandbox: Sandbox) -> None:
    """A connection lost after processing is not re-sent for a non-idempotent PUT."""
    await announced(sandbox)
    clock = FakeClock(auto_advance=True)
    sandbox.faults.reset_next(path="cmf/reservations/add", after_processing=True)
    async with without_refresh_loop(_client(sandbox, clock)) as client:
        with pytest.raises(TransportError) as info:
            await client.request(
                "PUT", "cmf/reservations/add", form={"reservations": "{}"}, idempotent=False
            )
    assert info.value.sent is True
    assert _sent(sandbox, "cmf/reservations/add") == 1


async def test_cancellation_is_never_retried(sandbox: Sandbox) -> None:
    """Cancelling a call in flight propagates ``CancelledError``, and no retry is sent however
    long the clock then runs (an hour of fake time: far past any backoff)."""
    await announced(sandbox)
    sandbox.faults.set_latency(1.0)
    on_the_wire = asyncio.Event()
    sends: list[str] = []

    async def sent(_: object, __: object, params: aiohttp.TraceRequestHeadersSentParams) -> None:
        sends.append(params.url.path)
        on_the_wire.set()

    traced = aiohttp.TraceConfig()
    traced.on_request_headers_sent.append(sent)
    clock = FakeClock()
    async with without_refresh_loop(_client(sandbox, clock, traced=traced, max_attempts=5)) as c:
        call = asyncio.create_task(c.request("GET", VERSIONS, auth=False))
        await on_the_wire.wait()  # the request has left: the site is working on it
        call.cancel()
        with pytest.raises(asyncio.CancelledError):
            await call
        sandbox.faults.set_latency(0.0)
        await clock.run_for(3600.0)
    assert len(sends) == 1
    assert sends[0].endswith(VERSIONS)
    assert c.stats.retries == 0


async def test_breaker_admits_one_probe_among_100_callers(sandbox: Sandbox) -> None:
    """After the breaker opens and resets, 100 callers send exactly one probe between them."""
    await announced(sandbox)
    clock = FakeClock()
    client = _client(sandbox, clock, max_attempts=1, breaker_failure_threshold=3)
    async with without_refresh_loop(client):
        await client.request("GET", "cmf/list/countries")
        sandbox.faults.fail_next(500, times=3, path=VERSIONS)
        for _ in range(3):
            with pytest.raises(ServerError):
                await client.request("GET", VERSIONS)
        with pytest.raises(CircuitOpen):
            await client.request("GET", VERSIONS)
        clock.advance(client.settings.retry.breaker_reset_s)
        outcomes = await asyncio.gather(
            *(client.request("GET", VERSIONS) for _ in range(100)), return_exceptions=True
        )
    assert sum(isinstance(outcome, CircuitOpen) for outcome in outcomes) == 99
    assert _sent(sandbox) == 3 + 1
    assert client.breaker.state == "closed"
