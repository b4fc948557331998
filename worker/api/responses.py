"""Pure response classification: (status, headers, body) → unwrapped payload or a typed error.

Every shape the spec lists is decided here, with no I/O, so it can be unit-tested with plain
values: the modern and legacy envelopes, errors inside an HTTP 200, ``{"success": false}`` inside
a success envelope, HTML pages from proxies, empty or truncated bodies, OAuth2 token errors.
Messages carry only status codes, error codes and the server's error text (never a header value).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from typing import Any

from worker.api.retry import RETRYABLE_STATUSES, parse_retry_after
from worker.errors import (
    ApiError,
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

# Where legacy servers report a write's failure inside a 200 success envelope.
_FAILURE_SLOTS = ("response", "property", "calendar", "delete_tariffs")
_SCOPE_MESSAGE = re.compile(r"not allowed to access this feature\s*:\s*(\S+)", re.IGNORECASE)
_WWW_AUTH_SCOPE = re.compile(r'scope="([^"]*)"')
# ASCII digits, at most 18: ``int()`` of a longer run raises ValueError (Python's 4300-digit
# limit), and ``\d`` would also match other scripts' digits. Found by tests/fuzz.
_PROPERTY_UID = re.compile(r"access to property ([0-9]{1,18})(?![0-9])")
_MAX_MESSAGE = 300


def interpret(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    idempotent: bool = True,
    wall: Callable[[], datetime] | None = None,
) -> Any:
    """Return ``data.response`` of a successful answer, or raise the matching ``ApiError``.

    ``wall`` reads the wall clock, needed only to turn a ``Retry-After`` HTTP-date into seconds.
    """
    if status in (401, 403) or status in RETRYABLE_STATUSES or status >= 500:
        raise _status_error(status, headers, body, wall)
    document = _decode(status, body, idempotent=idempotent)
    message = _error_message(document)
    if message is not None or not 200 <= status < 300:
        raise classify_message(
            message or f"unexpected HTTP {status}", status=status, code=_error_code(document)
        )
    return _unwrap(document, status)


def _status_error(
    status: int, headers: Mapping[str, str], body: bytes, wall: Callable[[], datetime] | None
) -> ApiError:
    """Errors decided by the status line alone (the body is only a hint)."""
    document = _loads(body)
    if status == 401:
        return AuthError("token rejected", status=401, code=_oauth_error(document))
    if status == 403:
        return _scope_error(headers, document)
    retry_after = parse_retry_after(_header(headers, "Retry-After"), now_wall=_wall(wall))
    if status == 429 or (status == 503 and retry_after is not None):
        return RateLimited("rate limited", status=status, retry_after_s=retry_after)
    described = _error_message(document) if isinstance(document, dict) else None
    kind = "HTML error page" if _looks_html(body) else "server error"
    return ServerError(_clip(described or kind), status=status, code=_error_code(document))


def _scope_error(headers: Mapping[str, str], document: Any) -> ScopeError:
    match = _WWW_AUTH_SCOPE.search(_header(headers, "WWW-Authenticate") or "")
    needed = match.group(1) if match and match.group(1) else None
    return ScopeError(
        "insufficient scope", status=403, code=_oauth_error(document), needed_scope=needed
    )


def classify_message(
    message: str, *, status: int | None, code: str | int | None = None
) -> ApiError:
    """Map an endpoint's ``error_message`` text to the typed error it stands for."""
    text = _clip(message)
    scope = _SCOPE_MESSAGE.search(message)
    if scope:
        return ScopeError(text, status=status, code=code, needed_scope=scope.group(1))
    if "channel not set" in message.lower():
        return ChannelError(text, status=status, code=code, not_announced=False)
    if "does not have access to this channel" in message:
        return ChannelError(text, status=status, code=code, not_announced=True)
    if "does not have access to property" in message:
        uid = _PROPERTY_UID.search(message)
        return OwnershipError(
            text, status=status, code=code, property_uid=int(uid.group(1)) if uid else None
        )
    return ClientRequestError(text, status=status, code=code)


def _decode(status: int, body: bytes, *, idempotent: bool) -> Any:
    """JSON body of a 2xx/4xx answer; HTML 4xx pages and broken JSON become typed errors."""
    document = _loads(body)
    if document is not _INVALID:
        return document
    if not 200 <= status < 300:
        kind = "HTML error page" if _looks_html(body) else "non-JSON error body"
        raise ClientRequestError(kind, status=status)
    what = "empty body" if not body.strip() else "body is not valid JSON"
    raise MalformedResponse(what, status=status, retryable=idempotent)


def _unwrap(document: Any, status: int) -> Any:
    """``data.response`` of the envelope (or the bare payload), failing on ``success: false``."""
    if not (isinstance(document, dict) and isinstance(document.get("data"), dict)):
        return document  # X-BOOKYFLOW-NO-ENVELOPE or an already bare payload
    data: dict[str, Any] = document["data"]
    for slot in _FAILURE_SLOTS:
        failure = data.get(slot)
        if isinstance(failure, dict) and _is_false(failure.get("success", True)):
            reason = failure.get("message") or failure.get("error") or "operation failed"
            raise OperationFailed(_clip(str(reason)), status=status)
    return data.get("response", data)


def _error_message(document: Any) -> str | None:
    """``error_message`` at the top level or under ``meta`` (legacy 200 errors use both)."""
    if not isinstance(document, dict):
        return None
    message = document.get("error_message")
    meta = document.get("meta")
    if not message and isinstance(meta, dict):
        message = meta.get("error_message")
    if message:
        return str(message)
    error = document.get("error")
    if isinstance(error, str) and error and "data" not in document:
        return str(document.get("error_description") or error)
    return None


def _error_code(document: Any) -> str | int | None:
    if not isinstance(document, dict):
        return None
    code = document.get("code")
    if code is None and isinstance(document.get("meta"), dict):
        code = document["meta"].get("code")
    return code if isinstance(code, str | int) else None


def _oauth_error(document: Any) -> str | None:
    if isinstance(document, dict) and isinstance(document.get("error"), str):
        return str(document["error"])
    return None


def interpret_token(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """The token endpoint's JSON object, or the typed error of its RFC 6749 §5.2 answer."""
    if status == 429 or status >= 500:
        raise _status_error(status, headers, body, None)
    document = _loads(body)
    if status in (401, 403) and not isinstance(document, dict):
        # A plain-text "401 Unauthorized" (a proxy, a PHP error page) is a refusal all the same.
        raise AuthError("token request refused", status=status)
    if not isinstance(document, dict):
        retryable = status < 300
        raise MalformedResponse(
            "token response is not a JSON object", status=status, retryable=retryable
        )
    if status < 300 and document.get("access_token"):
        return document
    error = _oauth_error(document) or "invalid_response"
    kind = {"invalid_client": CredentialsRejected, "invalid_scope": ScopeRejected}
    raise kind.get(error, AuthError)("token request refused", status=status, code=error)


_INVALID = object()


def _loads(body: bytes) -> Any:
    # An empty or blank body is invalid JSON too: no need to copy the body to strip it first.
    try:
        return json.loads(body)
    except (ValueError, UnicodeDecodeError, RecursionError):
        # RecursionError: nesting deeper than the interpreter's limit ("[[[[..."), which the C
        # decoder reports instead of a JSONDecodeError. Found by tests/fuzz.
        return _with_php_notice(body)


_PHP_NOTICE = re.compile(rb"\s*(<br\s*/?>|<b>|(Deprecated|Notice|Warning|Fatal error):)", re.I)
_DECODER = json.JSONDecoder()


def _with_php_notice(body: bytes) -> Any:
    """A JSON document followed by a PHP notice (the real engine prints ``<br /><b>Deprecated</b>
    ...`` after its ``invalid_client`` answer): the document, else ``_INVALID``. Anything else
    after the document (a second one, truncation) stays invalid."""
    try:
        text = body.decode()
        document, end = _DECODER.raw_decode(text.lstrip())
    except (ValueError, UnicodeDecodeError, RecursionError):
        return _INVALID
    rest = text.lstrip()[end:].encode()
    return document if _PHP_NOTICE.match(rest) else _INVALID


def _looks_html(body: bytes) -> bool:
    head = body.lstrip()[:64].lower()
    return head.startswith((b"<!doctype html", b"<html", b"<head", b"<body", b"<"))


def _is_false(value: Any) -> bool:
    return value is False or value in (0, "0", "false", "")


def _header(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is None:
        lowered = name.lower()
        value = next((v for k, v in headers.items() if k.lower() == lowered), None)
    return value


def _wall(wall: Callable[[], datetime] | None) -> datetime:
    return wall() if wall is not None else datetime.now(UTC)


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "…"
