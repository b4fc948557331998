"""The worker's one exception tree.

Every failure the worker can meet is one of these; nothing above ``worker.api.client`` sees an
aiohttp exception. ``retryable`` is the one answer to "can trying again help?": the retry
policy, ``retry.is_transient`` (start-up, the sync jobs' gates) and the circuit breaker all read
it and nothing else. It is a class default below, except that an error made from an HTTP status
takes it from ``worker.api.responses.RETRYABLE_STATUSES`` where it is made
(``responses.server_error``), so a 501, 505 or 520 is a ``ServerError`` that is not retryable::

    BookyFlowError(retryable=False)
    ├── TransportError(OSError)            retryable: connection refused/reset, DNS, TLS
    │   └── RequestTimeout(TimeoutError)   retryable: connect/read/total timeout
    ├── ApiError(status, code, message)    the server answered, and said no
    │   ├── RateLimited(retry_after_s)     retryable: 429 (and 503 with Retry-After)
    │   ├── ServerError                    5xx, 408/425, HTML error pages; retryable when the
    │   │                                  status is in the table (500, 502, 503, 504, 408, 425)
    │   ├── MalformedResponse              retryable: empty/truncated/non-JSON body, or a
    │   │                                  server value unfit for a header or a URL path
    │   ├── ResponseTooLarge               body over the cap (after decompression), never retried
    │   ├── AuthError                      401 after one replay, or a refused token request
    │   │   ├── CredentialsRejected        invalid_client: wrong id/secret, never retried
    │   │   └── ScopeRejected              invalid_scope: none of the scopes is allowed
    │   ├── ScopeError(PermissionError)    403: the token lacks ``needed_scope``
    │   ├── ChannelError                   channel header not set / channel not announced
    │   ├── OwnershipError(PermissionError) property of another channel, or none
    │   └── ClientRequestError(ValueError) any other 4xx or endpoint error
    │       └── OperationFailed            ``{"success": false}`` inside a success envelope
    ├── CircuitOpen                        the site's breaker is open; not sent at all
    ├── TokenUnavailable                   no valid token and the token endpoint is failing
    └── ConfigError(ValueError)            bad settings or inventory path (exit code 78)
        ├── StateLocked                    another daemon holds the state directory (its pid)
        └── StateUnwritable                the state directory cannot be created or written

Messages never contain secrets or tokens: they are built from status codes, error codes and the
server's error text, which BookyFlow never fills with credentials.
"""

from __future__ import annotations

__all__ = [
    "ApiError",
    "AuthError",
    "BookyFlowError",
    "ChannelError",
    "CircuitOpen",
    "ClientRequestError",
    "ConfigError",
    "CredentialsRejected",
    "MalformedResponse",
    "OperationFailed",
    "OwnershipError",
    "RateLimited",
    "RequestTimeout",
    "ResponseTooLarge",
    "ScopeError",
    "ScopeRejected",
    "ServerError",
    "StateLocked",
    "StateUnwritable",
    "TokenUnavailable",
    "TransportError",
    "already_exists",
]


class BookyFlowError(Exception):
    """Root of every error the worker raises on purpose."""

    retryable: bool = False

    def __init__(self, message: str = "", *, retryable: bool | None = None) -> None:
        super().__init__(message)
        self.message = message
        if retryable is not None:
            self.retryable = retryable


class TransportError(BookyFlowError, OSError):
    """The request did not complete: refused, reset, DNS or TLS failure.

    ``sent`` is False when the request provably never left the client (connect failure), which
    is what makes retrying a non-idempotent call safe.
    """

    retryable = True

    def __init__(self, message: str = "", *, sent: bool = True) -> None:
        super().__init__(message)
        self.sent = sent


class RequestTimeout(TransportError, TimeoutError):
    """A connect, read or total timeout expired."""


class ApiError(BookyFlowError):
    """The server answered with an error."""

    def __init__(
        self,
        message: str = "",
        *,
        status: int | None = None,
        code: str | int | None = None,
        retryable: bool | None = None,
    ) -> None:
        super().__init__(message, retryable=retryable)
        self.status = status
        self.code = code

    def __str__(self) -> str:
        prefix = f"HTTP {self.status}" if self.status is not None else "API error"
        code = f" [{self.code}]" if self.code not in (None, "") else ""
        return f"{prefix}{code}: {self.message}" if self.message else f"{prefix}{code}"


class RateLimited(ApiError):
    """429 (or 503 with ``Retry-After``): wait ``retry_after_s`` before sending to the site."""

    retryable = True

    def __init__(self, message: str = "", *, retry_after_s: float | None = None, **kw: object):
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.retry_after_s = retry_after_s


class ServerError(ApiError):
    """5xx, or an HTML error page from a proxy in front of the site.

    Made by ``worker.api.responses.server_error``, which sets ``retryable`` from the status
    table; the class default (True) serves only one made without a status.
    """

    retryable = True


class MalformedResponse(ApiError):
    """The body could not be understood: empty, truncated, not JSON, or the wrong shape."""

    retryable = True


class ResponseTooLarge(ApiError):
    """The body passed ``max_bytes`` (counted after decompression); reading stopped there.

    Never retried: the same request would get the same body. The limit is what keeps a gzip
    bomb or a runaway endpoint from taking the daemon's memory.
    """

    def __init__(self, message: str = "", *, max_bytes: int, **kw: object) -> None:
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.max_bytes = max_bytes


class AuthError(ApiError):
    """Authentication failed: 401 after the one replay, or the token request was refused."""


class CredentialsRejected(AuthError):
    """``invalid_client``: the client id or secret is wrong. Retrying cannot help."""


class ScopeRejected(AuthError):
    """``invalid_scope``: none of the requested scopes is allowed for this client."""


class ScopeError(ApiError, PermissionError):
    """403 (or the legacy 'Client not allowed to access this feature'): missing ``needed_scope``."""

    def __init__(self, message: str = "", *, needed_scope: str | None = None, **kw: object):
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.needed_scope = needed_scope


class ChannelError(ApiError):
    """``Channel not set`` or the channel is not announced (``not_announced`` tells which)."""

    def __init__(self, message: str = "", *, not_announced: bool = False, **kw: object):
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.not_announced = not_announced


class OwnershipError(ApiError, PermissionError):
    """The property belongs to another channel, does not exist, or is not in our owned set."""

    def __init__(self, message: str = "", *, property_uid: int | None = None, **kw: object):
        super().__init__(message, **kw)  # type: ignore[arg-type]
        self.property_uid = property_uid


class ClientRequestError(ApiError, ValueError):
    """Any other 4xx or endpoint error: our request was wrong. Never retried."""


class OperationFailed(ClientRequestError):
    """The server reported ``{"success": false}`` inside a success envelope."""


class CircuitOpen(BookyFlowError):
    """The site's circuit breaker is open: the request was not sent."""

    retryable = True


class TokenUnavailable(BookyFlowError):
    """The token expired and the token endpoint keeps failing; requests would only 401."""

    retryable = True


class ConfigError(BookyFlowError, ValueError):
    """Settings, credentials or the inventory path are unusable. The CLI exits 78."""


class StateLocked(ConfigError):
    """Another daemon (``holder_pid``, when it could be read) holds the state directory's lock."""

    def __init__(self, message: str = "", *, holder_pid: int | None = None) -> None:
        super().__init__(message)
        self.holder_pid = holder_pid


class StateUnwritable(ConfigError):
    """The state directory cannot be created or written (read-only, permissions, not a dir)."""


def already_exists(exc: ApiError) -> bool:
    """An endpoint's "already exists" refusal, in any of the engine's wordings.

    ``That Remote ID already exists in the system.``, ``A tariff already exists ...`` and the
    real engine's ``Tariffs already exist for this property ...`` all say a previous attempt landed.
    """
    return "already exist" in exc.message.lower()
