"""What the client logs: one line per attempt with the agreed fields, and never a secret."""

from __future__ import annotations

import logging
import traceback
from typing import Any

import pytest
import structlog

from tests.api.client_support import DEMO_SECRET, announced, make_settings, without_refresh_loop
from worker.api.client import BookyFlowClient
from worker.errors import BookyFlowError
from worker.sandbox import Sandbox
from worker.testing import FakeClock

REQUEST_FIELDS = {"request_id", "method", "path", "status", "duration_ms", "attempt"}


async def test_every_attempt_is_logged_once_with_the_agreed_fields(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture
) -> None:
    """A call retried once gives two ``http.request`` lines and one ``http.retry_scheduled``."""
    caplog.set_level(logging.DEBUG, logger="worker.api.client")  # successes log at DEBUG only
    await announced(sandbox)
    sandbox.faults.fail_next(503, path="cmf/versions")
    client = BookyFlowClient(make_settings(sandbox.api_url), clock=FakeClock(auto_advance=True))
    with structlog.testing.capture_logs() as events:
        async with without_refresh_loop(client):
            await client.request("GET", "cmf/versions")
    calls = [e for e in events if e["event"] == "http.request" and e["path"] == "cmf/versions"]
    assert [(e["attempt"], e["status"], e["log_level"]) for e in calls] == [
        (1, 503, "warning"),
        (2, 200, "debug"),
    ]
    assert all(set(e) >= REQUEST_FIELDS for e in calls)
    assert calls[0]["request_id"] == calls[1]["request_id"]
    (retry,) = [e for e in events if e["event"] == "http.retry_scheduled"]
    assert {"request_id", "attempt", "delay_s", "error"} <= set(retry)


def _texts(error: BaseException) -> list[str]:
    """Everything an operator could see of an exception: str, repr and the full traceback."""
    return [str(error), repr(error), "".join(traceback.format_exception(error))]


async def _noisy_session(sandbox: Sandbox, errors: list[BaseException]) -> None:
    """Token fetch, a revoked-token replay, server errors, a scope miss and a bad secret."""
    settings = make_settings(sandbox.api_url, max_attempts=2)
    client = BookyFlowClient(settings, clock=FakeClock(auto_advance=True))
    async with without_refresh_loop(client):
        await client.request("GET", "cmf/versions")
        sandbox.tokens.revoke_all()
        await client.request("GET", "cmf/versions")
        sandbox.faults.fail_next(500, times=5, path="cmf/versions")
        sandbox.faults.fail_next(401, times=5, path="cmf/list/regions")
        for path in ("cmf/versions", "cmf/list/regions", "cmf/property/99"):
            try:
                await client.request("GET", path)
            except BookyFlowError as error:
                errors.append(error)
    wrong = make_settings(sandbox.api_url, secret="wrong-canary-secret-42")
    async with BookyFlowClient(wrong) as client:
        with pytest.raises(BookyFlowError) as info:
            await client.request("GET", "cmf/versions")
        errors.append(info.value)


async def test_canary_secrets_and_tokens_never_reach_logs_or_errors(sandbox: Sandbox) -> None:
    """The client secret and every issued token appear in no log event and no exception text."""
    await announced(sandbox)
    errors: list[BaseException] = []
    with structlog.testing.capture_logs() as events:
        await _noisy_session(sandbox, errors)
    tokens = {
        value.removeprefix("Bearer ")
        for entry in sandbox.journal.entries
        for name, value in entry.headers.items()
        if name.lower() == "authorization"
    }
    assert len(tokens) >= 2
    assert len(errors) == 4
    captured: list[Any] = [*events, *(text for error in errors for text in _texts(error))]
    haystack = "\n".join(repr(item) for item in captured)
    for secret in (DEMO_SECRET, "wrong-canary-secret-42", *tokens):
        assert secret not in haystack
