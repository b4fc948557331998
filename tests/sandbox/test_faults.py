"""Fault injection: the injector's decisions as plain values, then each fault over loopback HTTP."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from email.utils import format_datetime

import aiohttp
import pytest

from tests.conftest import SandboxFactory
from worker.sandbox import FaultInjector, Sandbox
from worker.sandbox.faults import Fault

TOKEN_PATH = "/oauth/token"
ANNOUNCE = "/cmf/channel/announce/acme"


# --- decisions (no I/O) -------------------------------------------------------------------------


def test_queued_failures_fire_in_order_and_only_as_often_as_asked() -> None:
    """fail_next(times=2) answers two requests, then the next rule, then nothing."""
    faults = FaultInjector()
    faults.fail_next(500, times=2)
    faults.fail_next(404)
    decisions = [faults.before("/x") for _ in range(4)]
    assert [d.status if d else None for d in decisions] == [500, 500, 404, None]
    assert faults.pending == 0


def test_path_rules_match_substrings_and_leave_other_paths_alone() -> None:
    """A rule with a path neither fires on nor is consumed by requests elsewhere."""
    faults = FaultInjector()
    faults.fail_next(503, path="/cmf/property")
    assert faults.before("/bookyflow/api/cmf/versions") is None
    assert faults.before("/bookyflow/api/cmf/property/4") == Fault("respond", 503, html=True)
    assert faults.before("/bookyflow/api/cmf/property/4") is None


def test_gateway_errors_default_to_html_and_others_do_not() -> None:
    """502/503/504 are HTML pages unless told otherwise; 429 and 500 are not."""
    faults = FaultInjector()
    faults.fail_next(504)
    faults.fail_next(502, html=False)
    faults.fail_next(500)
    faults.rate_limit_next(retry_after="7")
    got = [faults.before("/") for _ in range(4)]
    assert [(f.status, f.html) for f in got if f] == [
        (504, True),
        (502, False),
        (500, False),
        (429, False),
    ]
    assert got[3] == Fault("respond", 429, retry_after="7")


def test_seeded_random_failures_repeat_exactly() -> None:
    """Two injectors with the same seed fail the same requests with the same statuses."""
    runs = []
    for _ in range(2):
        faults = FaultInjector()
        faults.set_random_failure(0.5, statuses=(500, 503), seed=42)
        runs.append([faults.before("/") for _ in range(40)])
    assert runs[0] == runs[1]
    failed = [f for f in runs[0] if f]
    assert 5 < len(failed) < 35
    assert {f.status for f in failed} == {500, 503}


def test_random_failure_fraction_zero_turns_it_off() -> None:
    """Setting the fraction to 0 stops random failures."""
    faults = FaultInjector()
    faults.set_random_failure(1.0, seed=1)
    assert faults.before("/") is not None
    faults.set_random_failure(0.0)
    assert all(faults.before("/") is None for _ in range(20))


def test_reset_stage_and_after_processing_faults_are_kept_apart() -> None:
    """Resets before the site and faults after it are consumed at their own stage only."""
    faults = FaultInjector()
    faults.truncate_next()
    faults.reset_next(after_processing=True)
    faults.invalid_json_next()
    faults.reset_next()
    assert faults.before("/") == Fault("reset")
    assert faults.before("/") is None
    assert [faults.after("/") for _ in range(4)] == [
        Fault("truncate"),
        Fault("reset"),
        Fault("invalid_json"),
        None,
    ]


def test_latency_stays_within_its_jitter() -> None:
    """Every delay lies between the latency and latency + jitter."""
    faults = FaultInjector(seed=3)
    faults.set_latency(0.2, jitter_s=0.1)
    delays = [faults.delay_s() for _ in range(50)]
    assert all(0.2 <= d <= 0.3 for d in delays)
    assert len(set(delays)) > 1


def test_clear_forgets_rules_randomness_and_latency() -> None:
    """After clear() no request is delayed or failed."""
    faults = FaultInjector()
    faults.fail_next(500, times=3)
    faults.set_random_failure(1.0)
    faults.set_latency(1.0)
    faults.clear()
    assert faults.before("/") is None
    assert faults.delay_s() == 0.0


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda f: f.fail_next(200), "error status"),
        (lambda f: f.fail_next(500, times=0), "at least 1"),
        (lambda f: f.set_random_failure(1.5), "between 0 and 1"),
        (lambda f: f.set_random_failure(0.5, statuses=()), "empty"),
        (lambda f: f.set_latency(-1), "negative"),
    ],
)
def test_nonsense_settings_are_refused(call: object, message: str) -> None:
    """Statuses that are not errors, zero repeats and impossible fractions raise ValueError."""
    with pytest.raises(ValueError, match=message):
        call(FaultInjector())  # type: ignore[operator]


# --- over loopback HTTP -------------------------------------------------------------------------


async def _token(session: aiohttp.ClientSession, sandbox: Sandbox) -> str:
    form = {
        "grant_type": "client_credentials",
        "client_id": "demo",
        "client_secret": "s3cret-demo-secret",
        "scope": "read write delete",
    }
    async with session.post(sandbox.api_url + TOKEN_PATH, data=form) as response:
        assert response.status == 200
        token: str = (await response.json())["access_token"]
        return token


async def _announced(session: aiohttp.ClientSession, sandbox: Sandbox, token: str) -> int:
    headers = {"Authorization": f"Bearer {token}"}
    async with session.get(sandbox.api_url + ANNOUNCE, headers=headers) as response:
        assert response.status == 200
        channel_id: int = (await response.json())["data"]["response"]
        return channel_id


async def _announce(
    session: aiohttp.ClientSession, sandbox: Sandbox, token: str
) -> aiohttp.ClientResponse:
    headers = {"Authorization": f"Bearer {token}"}
    response = await session.post(
        sandbox.api_url + ANNOUNCE + "/Acme", data={"params": "{}"}, headers=headers
    )
    await response.read()
    return response


async def test_fail_next_answers_at_the_proxy_with_an_html_page(sandbox: Sandbox) -> None:
    """A 503 fault returns an HTML page and the announce never reaches the site."""
    async with aiohttp.ClientSession() as session:
        token = await _token(session, sandbox)
        sandbox.faults.fail_next(503, path="/announce", retry_after="3")
        response = await _announce(session, sandbox, token)
        assert response.status == 503
        assert response.headers["Retry-After"] == "3"
        assert response.content_type == "text/html"
        assert (await response.text()).startswith("<html>")
        assert "503 Service Unavailable" in await response.text()
        assert await _announced(session, sandbox, token) == 0


@pytest.mark.parametrize(
    "retry_after", ["2", format_datetime(datetime(2030, 1, 1, tzinfo=UTC), usegmt=True)]
)
async def test_rate_limit_sends_429_with_retry_after(sandbox: Sandbox, retry_after: str) -> None:
    """429 carries Retry-After as given (seconds or an HTTP-date), then the site answers again."""
    async with aiohttp.ClientSession() as session:
        sandbox.faults.rate_limit_next(retry_after=retry_after)
        async with session.get(sandbox.api_url + "/core/endpoints") as limited:
            assert limited.status == 429
            assert limited.headers["Retry-After"] == retry_after
        async with session.get(sandbox.api_url + "/core/endpoints") as served:
            assert served.status == 200


async def test_seeded_random_failures_hit_real_requests(sandbox: Sandbox) -> None:
    """With fraction 1 every request fails with one of the given statuses."""
    sandbox.faults.set_random_failure(1.0, statuses=(502,), seed=7)
    async with aiohttp.ClientSession() as session:
        for _ in range(3):
            async with session.get(sandbox.api_url + "/core/endpoints") as response:
                assert response.status == 502
                assert response.content_type == "text/html"


async def test_latency_sleeps_on_the_injected_clock(sandbox_factory: SandboxFactory) -> None:
    """Every request waits the configured latency, on the sleep the sandbox was given."""
    slept: list[float] = []

    async def fake_sleep(seconds: float) -> None:
        slept.append(seconds)

    sandbox = await sandbox_factory(sleep=fake_sleep)
    sandbox.faults.set_latency(1.5)
    async with aiohttp.ClientSession() as session:
        for _ in range(2):
            async with session.get(sandbox.api_url + "/core/endpoints") as response:
                assert response.status == 200
    assert slept == [1.5, 1.5]


async def test_reset_before_processing_disconnects_and_drops_the_request(sandbox: Sandbox) -> None:
    """The client sees a server disconnect and the announce was not applied."""
    async with aiohttp.ClientSession() as session:
        token = await _token(session, sandbox)
        sandbox.faults.reset_next(path="/announce")
        with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
            await _announce(session, sandbox, token)
        assert await _announced(session, sandbox, token) == 0
    assert sandbox.journal.matching(method="POST", path="/announce")[0].status == 0


async def test_reset_after_processing_applies_the_request_but_loses_the_answer(
    sandbox: Sandbox,
) -> None:
    """The client sees a disconnect, yet the channel was announced."""
    async with aiohttp.ClientSession() as session:
        token = await _token(session, sandbox)
        sandbox.faults.reset_next(path="/announce", after_processing=True)
        with pytest.raises((aiohttp.ServerDisconnectedError, aiohttp.ClientOSError)):
            await _announce(session, sandbox, token)
        assert await _announced(session, sandbox, token) > 0


async def test_truncated_body_is_cut_mid_json_after_the_request_was_applied(
    sandbox: Sandbox,
) -> None:
    """A truncated 200 body does not parse, and the announce took effect."""
    async with aiohttp.ClientSession() as session:
        token = await _token(session, sandbox)
        sandbox.faults.truncate_next(path="/announce")
        response = await _announce(session, sandbox, token)
        body = await response.text()
        assert response.status == 200
        assert body.startswith("{")
        with pytest.raises(json.JSONDecodeError):
            json.loads(body)
        assert await _announced(session, sandbox, token) > 0


async def test_invalid_json_body_after_the_request_was_applied(sandbox: Sandbox) -> None:
    """A PHP notice in front of the body makes it invalid JSON; the announce took effect."""
    async with aiohttp.ClientSession() as session:
        token = await _token(session, sandbox)
        sandbox.faults.invalid_json_next(path="/announce")
        response = await _announce(session, sandbox, token)
        body = await response.text()
        assert body.startswith("<br />")
        with pytest.raises(json.JSONDecodeError):
            json.loads(body)
        assert await _announced(session, sandbox, token) > 0
