"""Pure response classification: every envelope and error shape of the spec, as plain values."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from worker.api.responses import classify_message, interpret, interpret_token
from worker.errors import (
    AuthError,
    ChannelError,
    ClientRequestError,
    CredentialsRejected,
    MalformedResponse,
    OperationFailed,
    OwnershipError,
    RateLimited,
    ScopeError,
    ScopeRejected,
    ServerError,
)

NOW = datetime(2024, 5, 1, 12, 0, 0, tzinfo=UTC)
HTML = b"<!DOCTYPE html><html><body><h1>502 Bad Gateway</h1></body></html>"


def _body(document: Any) -> bytes:
    return json.dumps(document).encode()


def _envelope(response: Any) -> bytes:
    return _body({"data": {"response": response}, "meta": {"code": 200}})


def _error(message: str, code: int = 400) -> bytes:
    return _body({"code": code, "error_message": message, "meta": {}, "lines": []})


def test_success_envelope_is_unwrapped() -> None:
    """A modern 200 envelope yields exactly ``data.response``."""
    assert interpret(200, {}, _envelope({"bookyflow": "9.1", "cmf": "1.0"})) == {
        "bookyflow": "9.1",
        "cmf": "1.0",
    }


@pytest.mark.parametrize("payload", [0, False, [], {}, "text"])
def test_falsy_and_scalar_payloads_survive_unwrapping(payload: Any) -> None:
    """Falsy payloads such as channel id ``0`` are returned, not mistaken for absent data."""
    assert interpret(200, {}, _envelope(payload)) == payload


def test_bare_payload_without_envelope_is_returned_as_is() -> None:
    """``X-BOOKYFLOW-NO-ENVELOPE`` answers carry the payload at the top level."""
    assert interpret(200, {}, _body([{"room_uid": 1}])) == [{"room_uid": 1}]


def test_modern_400_error_envelope_becomes_client_request_error() -> None:
    """An endpoint error in HTTP 400 is a non-retryable ``ClientRequestError`` with its text."""
    with pytest.raises(ClientRequestError) as info:
        interpret(400, {}, _error("First set the Base rate"))
    assert info.value.status == 400
    assert "First set the Base rate" in str(info.value)
    assert not info.value.retryable


@pytest.mark.parametrize(
    "body",
    [
        _error("First set the Base rate", code=204),
        _body({"meta": {"code": 204, "error_message": "First set the Base rate"}}),
    ],
)
def test_legacy_error_inside_http_200_is_an_error(body: bytes) -> None:
    """Old servers send the error envelope (or only ``meta.error_message``) with HTTP 200."""
    with pytest.raises(ClientRequestError, match="First set the Base rate"):
        interpret(200, {}, body)


@pytest.mark.parametrize("status", [200, 400])
def test_legacy_scope_message_becomes_scope_error(status: int) -> None:
    """'Client not allowed to access this feature : delete' names the needed scope."""
    body = _error("Client not allowed to access this feature : delete")
    with pytest.raises(ScopeError) as info:
        interpret(status, {}, body)
    assert info.value.needed_scope == "delete"


def test_403_takes_needed_scope_from_www_authenticate() -> None:
    """A 403 is a ``ScopeError`` naming the scope from the ``WWW-Authenticate`` header."""
    headers = {"www-authenticate": 'Bearer error="insufficient_scope", scope="write"'}
    body = _body({"error": "forbidden", "error_description": "Insufficient scope"})
    with pytest.raises(ScopeError) as info:
        interpret(403, headers, body)
    assert info.value.needed_scope == "write"
    assert not info.value.retryable


def test_channel_not_set_and_not_announced_are_told_apart() -> None:
    """Both channel errors are ``ChannelError``; only the second is ``not_announced``."""
    with pytest.raises(ChannelError) as unset:
        interpret(400, {}, _error("Channel not set"))
    text = "User 7 does not have access to this channel acme"
    with pytest.raises(ChannelError) as unknown:
        interpret(200, {}, _error(text))
    assert not unset.value.not_announced
    assert unknown.value.not_announced


def test_ownership_message_names_the_property() -> None:
    """The manager/property message becomes ``OwnershipError`` carrying the property uid."""
    text = (
        "Manager 3 does not have access to property 42 on channel 5, "
        "or the property does not exist."
    )
    with pytest.raises(OwnershipError) as info:
        interpret(400, {}, _error(text))
    assert info.value.property_uid == 42


@pytest.mark.parametrize("slot", ["response", "property", "calendar", "delete_tariffs"])
def test_success_false_inside_a_success_envelope_is_operation_failed(slot: str) -> None:
    """``{"success": false}`` in any of the legacy slots is an ``OperationFailed``."""
    body = _body({"data": {slot: {"success": False, "message": "dates booked"}}, "meta": {}})
    with pytest.raises(OperationFailed, match="dates booked"):
        interpret(200, {}, body)


def test_success_true_payload_is_returned() -> None:
    """A ``success: true`` payload (black booking) is returned unchanged."""
    assert interpret(200, {}, _envelope({"success": True, "contract_id": 9})) == {
        "success": True,
        "contract_id": 9,
    }


def test_401_is_auth_error_keyed_on_status_not_text() -> None:
    """Any 401 body (modern or legacy wording) is an ``AuthError``."""
    legacy = _body({"error": "invalid_token", "error_description": "The access token expired"})
    with pytest.raises(AuthError):
        interpret(401, {}, legacy)
    with pytest.raises(AuthError):
        interpret(401, {}, b"")


@pytest.mark.parametrize("value", ["2", "Wed, 01 May 2024 12:00:02 GMT"])
def test_429_carries_retry_after_in_seconds_or_http_date(value: str) -> None:
    """``Retry-After`` as seconds or as an HTTP-date both give 2 s from ``now_wall``."""
    with pytest.raises(RateLimited) as info:
        interpret(429, {"Retry-After": value}, b"", wall=NOW.timestamp)
    assert info.value.retry_after_s == pytest.approx(2.0)
    assert info.value.retryable


def test_503_with_retry_after_is_rate_limited_and_without_is_server_error() -> None:
    """A 503 that says when to come back is a rate limit; a bare 503 page a server error."""
    with pytest.raises(RateLimited):
        interpret(503, {"Retry-After": "5"}, HTML, wall=NOW.timestamp)
    with pytest.raises(ServerError, match="HTML") as info:
        interpret(503, {}, HTML)
    assert info.value.retryable


@pytest.mark.parametrize("status", [408, 425, 500, 502, 504])
def test_retryable_statuses_are_server_errors(status: int) -> None:
    """Gateway errors, timeouts and empty 500 bodies are retryable server errors."""
    with pytest.raises(ServerError) as info:
        interpret(status, {}, b"")
    assert info.value.status == status
    assert info.value.retryable


def test_html_404_is_a_client_request_error() -> None:
    """A route whose segments do not match may produce an HTML 404 page."""
    with pytest.raises(ClientRequestError, match="HTML"):
        interpret(404, {}, b"<html><body>Not Found</body></html>")


def test_json_404_unknown_route_is_a_client_request_error() -> None:
    """The modern unknown-route answer keeps its message."""
    with pytest.raises(ClientRequestError, match="unknown"):
        interpret(404, {}, _error("Request /cmf/nope unknown", code=404))


@pytest.mark.parametrize("body", [b"", b"   ", b'{"data": {"respon', b"<html>oops</html>"])
def test_broken_200_body_is_malformed_and_retryable_only_when_idempotent(body: bytes) -> None:
    """Empty or truncated 200 bodies are ``MalformedResponse``; a POST must not retry them."""
    with pytest.raises(MalformedResponse) as safe:
        interpret(200, {}, body, idempotent=True)
    with pytest.raises(MalformedResponse) as unsafe:
        interpret(200, {}, body, idempotent=False)
    assert safe.value.retryable
    assert not unsafe.value.retryable


def test_long_server_messages_are_clipped() -> None:
    """A runaway error text does not flood logs or exception messages."""
    with pytest.raises(ClientRequestError) as info:
        interpret(400, {}, _error("x" * 5000))
    assert len(info.value.message) < 400


def test_plain_message_maps_to_client_request_error() -> None:
    """Any text without a known pattern is an ordinary request error."""
    error = classify_message("That Remote ID already exists in the system.", status=400)
    assert type(error) is ClientRequestError


def test_token_success_returns_the_document() -> None:
    """A 200 with ``access_token`` is handed on for lenient parsing."""
    document = {"access_token": "abc", "expires_in": "3600", "token_type": "bearer"}
    assert interpret_token(200, {}, _body(document)) == document


@pytest.mark.parametrize(
    ("status", "error", "kind"),
    [
        (400, "invalid_client", CredentialsRejected),
        (401, "invalid_client", CredentialsRejected),
        (400, "invalid_scope", ScopeRejected),
        (400, "unsupported_grant_type", AuthError),
        (405, "invalid_request", AuthError),
    ],
)
def test_token_errors_map_to_auth_errors(status: int, error: str, kind: type[Exception]) -> None:
    """RFC 6749 errors become the matching non-retryable ``AuthError``."""
    body = _body({"error": error, "error_description": "nope"})
    with pytest.raises(kind) as info:
        interpret_token(status, {}, body)
    assert type(info.value) is kind
    assert not getattr(info.value, "retryable", True)


def test_token_endpoint_5xx_and_garbage_are_retryable() -> None:
    """A failing token endpoint is retryable (the manager paces the retries)."""
    with pytest.raises(ServerError):
        interpret_token(502, {}, HTML)
    with pytest.raises(MalformedResponse) as info:
        interpret_token(200, {}, b'{"access_tok')
    assert info.value.retryable


def test_a_php_notice_after_the_token_error_is_ignored() -> None:
    """The real engine prints a PHP notice after its ``invalid_client`` JSON: still rejected
    credentials (exit 78), not a malformed answer; other trailing junk stays malformed."""
    body = (
        b'{"error":"invalid_client","error_description":"The client credentials are invalid"}'
        b"<br />\n<b>Deprecated</b>:  DateTime::__construct(): Passing null ... <br />\n"
    )
    with pytest.raises(CredentialsRejected):
        interpret_token(400, {}, body)
    with pytest.raises(MalformedResponse):
        interpret_token(400, {}, b'{"error":"invalid_client"}{"again": 1}')
