"""The exception tree: stdlib bases, retryable flags, readable messages."""

from __future__ import annotations

from worker import errors


def test_stdlib_bases_let_plain_except_clauses_work() -> None:
    """RequestTimeout is a TimeoutError, ScopeError a PermissionError, ConfigError a ValueError."""
    assert isinstance(errors.RequestTimeout("t"), TimeoutError)
    assert isinstance(errors.ScopeError("s"), PermissionError)
    assert isinstance(errors.ConfigError("c"), ValueError)
    assert isinstance(errors.ClientRequestError("c"), ValueError)


def test_retryable_defaults_and_override() -> None:
    """Transport, 5xx and 429 retry by default; 4xx do not; an instance may override."""
    assert errors.TransportError("x").retryable
    assert errors.ServerError("x", status=503).retryable
    assert errors.RateLimited("x", status=429, retry_after_s=2).retryable
    assert not errors.ScopeError("x", status=403).retryable
    assert not errors.CredentialsRejected("x").retryable
    assert not errors.ServerError("x", status=501, retryable=False).retryable


def test_api_error_message_names_status_and_code() -> None:
    """str() of an ApiError shows status, code and message."""
    err = errors.ClientRequestError("That Remote ID already exists", status=400, code=0)
    assert str(err) == "HTTP 400 [0]: That Remote ID already exists"
