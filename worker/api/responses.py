"""Pure response classification: (status, headers, body) → unwrapped payload or a typed error.

Every shape the spec lists is decided here, with no I/O, so it can be unit-tested with plain
values: the modern and legacy envelopes, errors inside an HTTP 200, ``{"success": false}`` inside
a success envelope, HTML pages from proxies, empty or truncated bodies, OAuth2 token errors.
Messages carry only status codes, error codes and the server's error text (never a header value).

Whether a status is worth another attempt is decided here, once: ``RETRYABLE_STATUSES`` is the
table, and every error made from an HTTP status takes its ``retryable`` flag from it where it is
made (``server_error``, ``RateLimited``), so the retry policy, ``retry.is_transient`` and the
circuit breaker read ``exc.retryable`` and cannot disagree (501, 505 and 520 are not retried,
not transient and not counted). The site's client, the vendor's inventory URL and the webhook
receiver all build their status errors with these functions.
"""

from __future__ import annotations

import email.utils
import json
import math
import re
from collections.abc import Callable, Mapping
from datetime import UTC
from typing import Any

from worker.clock import SystemClock
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
_SYSTEM_WALL = SystemClock().wall

__all__ = [
    "RETRYABLE_STATUSES",
    "classify_message",
    "interpret",
    "interpret_token",
    "is_rate_limit",
    "parse_retry_after",
    "server_error",
]

# HTTP statuses worth another attempt; every other 4xx/5xx means "this request will not work".
RETRYABLE_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})


def server_error(message: str, *, status: int, code: str | int | None = None) -> ServerError:
    """A 5xx (or a 408/425): retryable exactly when ``RETRYABLE_STATUSES`` lists ``status``."""
    return ServerError(message, status=status, code=code, retryable=status in RETRYABLE_STATUSES)


def is_rate_limit(status: int, retry_after_s: float | None) -> bool:
    """429, or a 503 that says when to come back: ``RateLimited`` (always in the table)."""
    return status == 429 or (status == 503 and retry_after_s is not None)


def parse_retry_after(value: str | None, *, now_wall: float) -> float | None:
    """Seconds to wait from a ``Retry-After`` header (seconds or HTTP-date); None if unusable.

    ``now_wall`` is UNIX seconds (``Clock.wall()``), needed only for an HTTP-date.
    """
    if value is None or not value.strip():
        return None
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        return _seconds_until(text, now_wall)
    return max(0.0, seconds) if math.isfinite(seconds) else None


def _seconds_until(http_date: str, now_wall: float) -> float | None:
    try:
        when = email.utils.parsedate_to_datetime(http_date)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:  # RFC 9110 dates are GMT; "-0000" parses as naive
        when = when.replace(tzinfo=UTC)
    return max(0.0, when.timestamp() - now_wall)


def interpret(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    idempotent: bool = True,
    wall: Callable[[], float] = _SYSTEM_WALL,
) -> Any:
    """Return ``data.response`` of a successful answer, or raise the matching ``ApiError``.

    ``wall`` (``Clock.wall``, UNIX seconds) is read only to turn a ``Retry-After`` HTTP-date into
    seconds.
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
    status: int, headers: Mapping[str, str], body: bytes, wall: Callable[[], float]
) -> ApiError:
    """Errors decided by the status line alone (the body is only a hint)."""
    document = _loads(body)
    if status == 401:
        return AuthError("token rejected", status=401, code=_oauth_error(document))
    if status == 403:
        return _scope_error(headers, document)
    header = _header(headers, "Retry-After")
    retry_after = None if header is None else parse_retry_after(header, now_wall=wall())
    if is_rate_limit(status, retry_after):
        return RateLimited("rate limited", status=status, retry_after_s=retry_after)
    described = _error_message(document) if isinstance(document, dict) else None
    kind = "HTML error page" if _looks_html(body) else "server error"
    return server_error(_clip(described or kind), status=status, code=_error_code(document))


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


def interpret_token(
    status: int,
    headers: Mapping[str, str],
    body: bytes,
    *,
    wall: Callable[[], float] = _SYSTEM_WALL,
) -> dict[str, Any]:
    """The token endpoint's JSON object, or the typed error of its RFC 6749 §5.2 answer."""
    if status == 429 or status >= 500:
        raise _status_error(status, headers, body, wall)
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


def _clip(text: str) -> str:
    return text if len(text) <= _MAX_MESSAGE else text[:_MAX_MESSAGE] + "…"
