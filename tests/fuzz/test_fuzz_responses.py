"""Fuzzing ``worker.api.responses``: any status, headers and body give a payload or an ApiError."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import DEEP_NESTING, fuzz_settings, headers, json_bodies, statuses
from worker.api.responses import classify_message, interpret, interpret_token
from worker.errors import (
    ApiError,
    AuthError,
    MalformedResponse,
    OwnershipError,
    RateLimited,
    ScopeError,
)

NOW = datetime(2026, 1, 1, tzinfo=UTC)
# An error message is clipped to 300 characters; the prefix adds the status and the code.
MAX_ERROR_TEXT = 600


def _wall() -> float:
    return NOW.timestamp()


def _outcome(status: int, head: Mapping[str, str], body: bytes, idempotent: bool) -> Any:
    try:
        return interpret(status, head, body, idempotent=idempotent, wall=_wall)
    except ApiError as exc:
        return exc


@fuzz_settings(300)
@given(status=statuses, head=headers, body=json_bodies(), idempotent=st.booleans())
@example(status=200, head={}, body=b"[" * DEEP_NESTING, idempotent=True)  # was RecursionError
@example(status=404, head={}, body=b'{"a":' * DEEP_NESTING, idempotent=False)
def test_interpret_returns_a_payload_or_a_typed_error(
    status: int, head: dict[str, str], body: bytes, idempotent: bool
) -> None:
    """Any answer is unwrapped or becomes an ApiError whose kind matches the status."""
    outcome = _outcome(status, head, body, idempotent)
    if not isinstance(outcome, ApiError):
        assert 200 <= status < 300
        return
    assert len(str(outcome)) < MAX_ERROR_TEXT
    if status == 401:
        assert isinstance(outcome, AuthError)
    elif status == 403:
        assert isinstance(outcome, ScopeError)
    elif status == 429:
        assert isinstance(outcome, RateLimited)
    if isinstance(outcome, RateLimited) and outcome.retry_after_s is not None:
        assert math.isfinite(outcome.retry_after_s)
        assert outcome.retry_after_s >= 0


@fuzz_settings(150)
@given(scope=st.text(max_size=30), noise=st.text(max_size=30), body=json_bodies())
def test_www_authenticate_scope_is_read_from_any_header(
    scope: str, noise: str, body: bytes
) -> None:
    """A 403's ``scope="..."`` is the needed scope when present; junk headers give None."""
    challenge = f'Bearer {noise.replace(chr(34), "")} scope="{scope.replace(chr(34), "")}"'
    outcome = _outcome(403, {"www-authenticate": challenge}, body, True)
    assert isinstance(outcome, ScopeError)
    assert outcome.needed_scope == (scope.replace('"', "") or None)
    garbled = _outcome(403, {"WWW-Authenticate": noise}, body, True)
    assert isinstance(garbled, ScopeError)
    assert garbled.needed_scope is None or garbled.needed_scope in noise


@fuzz_settings(200)
@given(status=statuses, head=headers, body=json_bodies())
@example(status=200, head={}, body=b"[" * DEEP_NESTING)  # was RecursionError
@example(status=200, head={}, body=b'{"access_token": "t", "expires_in": NaN}')
def test_interpret_token_returns_an_object_with_a_token_or_a_typed_error(
    status: int, head: dict[str, str], body: bytes
) -> None:
    """The token endpoint's answer is a JSON object carrying a token, or an ApiError."""
    document: dict[str, Any] | ApiError
    try:
        document = interpret_token(status, head, body)
    except ApiError as exc:
        document = exc
    if isinstance(document, MalformedResponse):
        assert document.retryable == (status < 300)
    if isinstance(document, ApiError):
        return
    assert isinstance(document, dict)
    assert document["access_token"]


@fuzz_settings(200)
@given(message=st.text(max_size=80), status=st.none() | statuses)
@example(message="user does not have access to property " + "1" * 5000, status=200)
@example(message="Client not allowed to access this feature: \u0663", status=403)
def test_classify_message_always_types_the_error(message: str, status: int | None) -> None:
    """Any endpoint error text maps to an ApiError; a property uid is an int or None."""
    error = classify_message(message, status=status)
    assert isinstance(error, ApiError)
    assert error.status == status
    if isinstance(error, OwnershipError):
        assert error.property_uid is None or isinstance(error.property_uid, int)


@fuzz_settings(100)
@given(uid=st.integers(0, 10**18 - 1), tail=st.text(max_size=10))
def test_property_uid_round_trips_through_the_ownership_message(uid: int, tail: str) -> None:
    """A plain decimal property uid in the legacy message is recovered exactly."""
    error = classify_message(f"user does not have access to property {uid}{tail}", status=200)
    assert isinstance(error, OwnershipError)
    if not tail[:1].isascii() or not tail[:1].isdigit():
        assert error.property_uid == uid
