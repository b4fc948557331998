"""``BookyFlowClient``: the one place that speaks HTTP to a BookyFlow site.

One aiohttp session per site, made by the injected ``session_factory`` (``worker.api.transport``:
by default explicit timeouts, a per-host connection limit and the standard headers). Each logical
call gets an ``X-Request-ID`` and runs through the retry policy (``retry.call_with_retry``) on the
site's own retry budget; each attempt passes the site's circuit breaker and rate gate, carries
the current bearer token, and is replayed once with a new token after a 401. aiohttp exceptions
are translated to ours in exactly one place (``_send``); everything else reads plain values.

Nothing a server sends can break a request or the process (issue 11): a body is read in chunks
and abandoned past ``http.max_response_bytes`` (counted after decompression: a gzip bomb never
inflates further) as ``ResponseTooLarge``; a path that a server-provided value could bend (a dot
segment, a query, a control character) and a header value holding CR, LF or NUL are refused
before sending; a ``Location`` that is not a URL is a ``MalformedResponse``.
"""

from __future__ import annotations

import logging
import os
import random
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any, NamedTuple, Protocol
from urllib.parse import unquote

import aiohttp
from pydantic import ValidationError
from yarl import URL

from worker import __version__
from worker.api.auth import Token, TokenGrant, TokenManager, TokenState, token_state
from worker.api.bodies import read_capped
from worker.api.forms import FORM_CONTENT_TYPE, encode_form
from worker.api.models import TokenResponse
from worker.api.responses import interpret, interpret_token
from worker.api.retry import CircuitBreaker, RetryBudget, RetryPolicy, SiteGate, call_with_retry
from worker.api.routes import route_template
from worker.api.transport import SessionFactory, new_session, without_hidden_retries
from worker.clock import Clock, SystemClock
from worker.closing import AsyncClosing
from worker.errors import (
    BookyFlowError,
    ClientRequestError,
    MalformedResponse,
    RateLimited,
    RequestTimeout,
    TransportError,
)
from worker.logging import get_logger, redactor
from worker.settings import Settings

__all__ = ["CHANNEL_HEADER", "USER_AGENT", "BookyFlowClient", "ClientObserver", "ClientStats"]

USER_AGENT = f"bookyflow-worker/{__version__}"
_STANDARD_HEADERS = {"User-Agent": USER_AGENT, "Accept": "application/json"}
CHANNEL_HEADER = "X-BOOKYFLOW-channel-name"
_RESPONSE_CAP_SETTING = "BOOKYFLOW_HTTP__MAX_RESPONSE_BYTES"
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_MAX_REDIRECTS = 5
_WRITES = frozenset({"POST", "PUT", "DELETE"})
_TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a password
# Bodies are read this much at a time, so at most the cap plus one chunk is ever held.
# What no header value may hold (aiohttp raises a bare ValueError on them: a crash, not an error).
_HEADER_BREAKERS = re.compile(r"[\r\n\x00]")
# What no request path may hold: controls, space, DEL, and the query/fragment/backslash markers.
_PATH_BREAKERS = re.compile(r"[\x00-\x20\x7f?#\\]")
if TYPE_CHECKING:  # the dry-run recorder is optional plumbing, not an API dependency
    from worker.dry_run import WriteRecorder

log = get_logger("worker.api.client")
_debug_log = logging.getLogger("worker.api.client")


@dataclass
class ClientStats:
    """Counters for the heartbeat and summaries: answers by status (``"error"`` = no answer),
    write calls (POST/PUT/DELETE, each logical call once however often it was tried) by route
    template (``routes.route_template``), retries and tokens."""

    requests_by_status: Counter[str] = field(default_factory=Counter)
    writes_by_route: Counter[str] = field(default_factory=Counter)
    retries: int = 0
    auth_replays: int = 0
    token_refreshes: int = 0
    token_failures: int = 0


class ClientObserver(Protocol):
    """Told of every attempt, retry and token request (``telemetry.SiteTelemetry``)."""

    def request_done(self, route: str, method: str, status: int | None, duration_s: float) -> None:
        """One attempt ended: its answer's status, or None when none came."""

    def retried(self) -> None: ...

    def token_refreshed(self, *, ok: bool) -> None: ...


class _Unobserved:
    """The observer of a client nobody watches (``check``, tests, benchmarks)."""

    def request_done(self, route: str, method: str, status: int | None, duration_s: float) -> None:
        pass

    def retried(self) -> None:
        pass

    def token_refreshed(self, *, ok: bool) -> None:
        pass


class _Call(NamedTuple):
    """One logical call; its ``request_id`` is shared by every attempt and replay.

    A named tuple rather than a frozen dataclass: one is built per request, and a frozen
    dataclass pays an ``object.__setattr__`` per field.
    """

    request_id: str
    method: str
    path: str
    route: str  # the path's template, for metrics
    form: Mapping[str, str] | None
    channel: bool
    auth: bool
    idempotent: bool


@dataclass(frozen=True)
class _Answer:
    status: int
    headers: Mapping[str, str]
    body: bytes


class BookyFlowClient(AsyncClosing):
    """HTTP client of one BookyFlow site; use as ``async with BookyFlowClient(settings) as c``.

    ``clock`` is the one clock of its worker (monotonic time for the breaker, gate, tokens and
    retries; wall time for a ``Retry-After`` date). ``session_factory`` makes the aiohttp session
    (``worker.api.transport``: by default ``new_session`` with the standard headers). The retry
    budget is the site's own (``worker.api.retry`` says why it is not shared).
    """

    def __init__(
        self,
        settings: Settings,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        observer: ClientObserver | None = None,
        session_factory: SessionFactory | None = None,
    ) -> None:
        self.settings = settings
        self.clock: Clock = clock or SystemClock()
        self.observer: ClientObserver = observer or _Unobserved()
        # ``sync --once --dry-run``: writes go to this recorder instead of the site.
        self.dry_run: WriteRecorder | None = None
        self._session_factory = session_factory or partial(
            new_session, settings.http, headers=_STANDARD_HEADERS
        )
        self._rng = rng or random.Random()
        retry = settings.retry
        self.policy = RetryPolicy.from_settings(retry)
        self.budget = RetryBudget.from_settings(retry)
        # The token request has a budget of its own: it is single-flight, so it cannot storm,
        # and a call budget drained by an outage must not leave it one attempt when the token
        # endpoint comes back (chaos soak, legacy mode).
        self._token_budget = RetryBudget.from_settings(retry)
        self.breaker = CircuitBreaker(
            retry.breaker_failure_threshold, retry.breaker_reset_s, self.clock,
            site=settings.base_url,
        )  # fmt: skip
        self.gate = SiteGate(
            settings.http.rate_limit_per_s, settings.http.rate_limit_burst, self.clock
        )
        # One redaction owner per site and client id: a site started again (the supervisor's
        # retries) reuses its slots instead of adding new ones.
        self._redaction_owner = f"{settings.base_url} {settings.client_id}"
        self.tokens = TokenManager(
            self._fetch_token,
            settings.token,
            clock=self.clock,
            rng=self._rng,
            on_refresh=self._on_refresh,
            redaction_owner=self._redaction_owner,
        )
        self.stats = ClientStats()
        self._session: aiohttp.ClientSession | None = None
        self._closed = False
        redactor.add_secret(settings.client_secret.get_secret_value())

    async def open(self) -> None:
        """Create the session and start the background token refresh."""
        self._ensure_session()
        await self.tokens.open()

    async def close(self) -> None:
        """Stop refreshing and close the session; safe to call twice."""
        self._closed = True
        await self.tokens.close()
        if self._session is not None:
            session, self._session = self._session, None
            await session.close()

    async def request(
        self,
        method: str,
        path: str,
        *,
        form: Mapping[str, str] | None = None,
        channel: bool = True,
        auth: bool = True,
        idempotent: bool | None = None,
    ) -> Any:
        """Send ``method path`` (relative to the API root) and return the unwrapped payload.

        ``idempotent`` defaults to True for everything but POST; a non-idempotent call is retried
        only when it provably was not sent.
        """
        verb = method.upper()
        if self.dry_run is not None and verb != "GET":
            return self.dry_run.answer(verb, path, form)
        safe = verb != "POST" if idempotent is None else idempotent
        route = route_template(path)
        call = _Call(_request_id(), verb, path, route, form, channel, auth, safe)
        if verb in _WRITES:
            self.stats.writes_by_route[route] += 1
        return await call_with_retry(
            partial(self._attempt, call),
            policy=self.policy,
            budget=self.budget,
            clock=self.clock,
            idempotent=safe,
            rng=self._rng,
            on_retry=partial(self._on_retry, call),
        )

    async def _attempt(self, call: _Call, attempt: int) -> Any:
        """One attempt through the breaker; Retry-After answers hold the whole site.

        The token is fetched first and its failures bypass the breaker: one shared token
        failure must not count once per waiting caller.
        """
        token = await self.tokens.get() if call.auth else None
        self.breaker.before_request()
        try:
            payload = await self._authorized(call, attempt, token)
        except BookyFlowError as exc:
            self._record_failure(exc)
            raise
        self.breaker.record_success()
        return payload

    def _record_failure(self, exc: BookyFlowError) -> None:
        self._hold_if_asked(exc)
        self.breaker.record(exc)  # what counts against the site: breaker.site_failed

    def _hold_if_asked(self, exc: BaseException) -> None:
        """A Retry-After holds the whole site: nothing more is sent until it has passed."""
        if isinstance(exc, RateLimited) and exc.retry_after_s is not None:
            self.gate.hold_for(min(exc.retry_after_s, self.policy.retry_after_cap_s))

    async def _authorized(self, call: _Call, attempt: int, token: Token | None) -> Any:
        """Send with ``token``; after a 401 replay exactly once with a newer one."""
        answer, token = await self._exchange(call, attempt, token)
        if answer.status == 401 and token is not None:
            self.stats.auth_replays += 1
            token = await self.tokens.invalidate(token.generation)
            answer, token = await self._exchange(call, attempt, token)
        if token is not None and answer.status != 401 and answer.status < 429:
            self.tokens.confirm(token.generation)  # the site itself accepted it (not a proxy)
        return interpret(
            answer.status,
            answer.headers,
            answer.body,
            idempotent=call.idempotent,
            wall=self.clock.wall,
        )

    async def _exchange(
        self, call: _Call, attempt: int, token: Token | None
    ) -> tuple[_Answer, Token | None]:
        """One HTTP exchange (following redirects), after the site's rate gate.

        Returns the answer and the token actually sent: a token that expired, or that a 401 to
        another call refused (or a refresh replaced), while the call waited at the gate is
        swapped for the current one first, so no request leaves with a token the client already
        knows to be dead (the chaos soak caught 10–15 such sends per 30 minutes with 10 s
        tokens, and revoked tokens sent after a wait at a busy site's gate).
        """
        await self.gate.acquire()
        if token is not None and (
            self.tokens.superseded(token)
            or token_state(token, self.clock.now()) is TokenState.EXPIRED
        ):
            token = await self.tokens.get()
        headers = self._headers(call, token)
        started = self.clock.now()
        try:
            answer = await self._follow(call.method, self._url(call.path), headers, call.form)
        except BookyFlowError as exc:
            self._log_attempt(call, attempt, started, None, exc)
            raise
        self._log_attempt(call, attempt, started, answer.status, None)
        return answer, token

    def _headers(self, call: _Call, token: Token | None) -> dict[str, str]:
        headers = {"X-Request-ID": call.request_id}
        if token is not None:
            headers["Authorization"] = f"Bearer {token.value}"
        if call.channel:
            headers[CHANNEL_HEADER] = self.settings.channel_name
        for name, value in headers.items():
            if _HEADER_BREAKERS.search(value):
                # The value is never quoted: it may be a token.
                raise ClientRequestError(f"the {name} header value holds CR, LF or NUL")
        return headers

    def _url(self, path: str) -> URL:
        _check_path(path)
        return URL(self.settings.base_url + "/" + path.lstrip("/"), encoded=False)

    async def _follow(
        self, method: str, url: URL, headers: dict[str, str], form: Mapping[str, str] | None
    ) -> _Answer:
        """Follow redirects by hand: same origin keeps headers, another origin never gets auth."""
        for _ in range(_MAX_REDIRECTS + 1):
            answer = await self._send(method, url, headers, form)
            location = answer.headers.get("Location")
            if answer.status not in _REDIRECTS or not location:
                return answer
            if answer.status < 307 and method not in ("GET", "HEAD"):
                return answer  # a 301/302/303 would turn a write into a GET: refuse to guess
            target = _redirect_target(url, location, answer.status)
            if target.origin() != url.origin():
                if form is not None:
                    # A 307/308 would re-send the body, and the token request's body holds the
                    # client secret: never to another origin (found by tests/security).
                    return answer
                headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
            url = target
        raise ClientRequestError("too many redirects", status=answer.status)

    async def _send(
        self, method: str, url: URL, headers: Mapping[str, str], form: Mapping[str, str] | None
    ) -> _Answer:
        """The one boundary where aiohttp exceptions become ours."""
        session = self._ensure_session()
        body = None
        if form is not None:  # encoded here: aiohttp's own form encoding is slow (forms.py)
            body = encode_form(form)
            headers = {**headers, "Content-Type": FORM_CONTENT_TYPE}
        try:
            async with session.request(
                method, url, headers=headers, data=body, allow_redirects=False
            ) as response:
                cap = self.settings.http.max_response_bytes
                content = await read_capped(response, cap, setting=_RESPONSE_CAP_SETTING)
                return _Answer(response.status, response.headers, content)
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(f"cannot connect: {type(exc).__name__}", sent=False) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            raise RequestTimeout("connect timeout", sent=False) from exc
        except TimeoutError as exc:
            raise RequestTimeout("timed out waiting for the answer", sent=True) from exc
        except aiohttp.ClientError as exc:
            raise TransportError(f"connection lost: {type(exc).__name__}", sent=True) from exc

    def _ensure_session(self) -> aiohttp.ClientSession:
        if self._closed:
            raise RuntimeError("the BookyFlow client is closed")
        if self._session is None:
            self._session = without_hidden_retries(self._session_factory())
        return self._session

    async def _fetch_token(self) -> TokenGrant:
        """The ``TokenFetcher``: one client-credentials call, parsed leniently.

        Transient failures (a proxy's 5xx, a reset, a cut-off body) are retried under the
        client's retry policy: repeating a client-credentials request is safe, since a new
        token does not revoke older ones. Without this, one 503 on the token request stopped
        the daemon at start-up and, later, left it tokenless for ``retry_min_interval_s``
        (found by the chaos soak, tests/chaos).
        """
        requested = self.settings.requested_scopes
        form = {
            "grant_type": "client_credentials",
            "client_id": self.settings.client_id,
            "client_secret": self.settings.client_secret.get_secret_value(),
            "scope": " ".join(requested),
        }
        call = _Call(_request_id(), "POST", _TOKEN_PATH, _TOKEN_PATH, form, False, False, True)
        try:
            return await call_with_retry(
                partial(self._token_attempt, call, requested),
                policy=self.policy,
                budget=self._token_budget,
                clock=self.clock,
                idempotent=True,
                rng=self._rng,
                on_retry=partial(self._on_retry, call),
            )
        except Exception:
            self.stats.token_failures += 1
            self.observer.token_refreshed(ok=False)
            raise

    async def _token_attempt(
        self, call: _Call, requested: tuple[str, ...], attempt: int
    ) -> TokenGrant:
        answer, _ = await self._exchange(call, attempt, None)
        try:
            document = interpret_token(
                answer.status, answer.headers, answer.body, wall=self.clock.wall
            )
        except RateLimited as exc:
            self._hold_if_asked(exc)
            raise
        try:
            parsed = TokenResponse.model_validate(document)
        except ValidationError:
            # from None: pydantic's message would quote the input, token included
            raise MalformedResponse("token response has the wrong shape", status=200) from None
        redactor.add_token(parsed.access_token, owner=self._redaction_owner)
        return TokenGrant(
            access_token=parsed.access_token,
            expires_in_s=parsed.expires_in,
            scopes=parsed.granted_scopes(requested),
        )

    def _on_refresh(self, token: Token) -> None:
        self.stats.token_refreshes += 1  # the manager logs token.refreshed itself
        self.observer.token_refreshed(ok=True)

    def _on_retry(self, call: _Call, attempt: int, exc: BaseException, delay_s: float) -> None:
        self.stats.retries += 1
        self.observer.retried()
        log.warning(
            "http.retry_scheduled",
            request_id=call.request_id,
            method=call.method,
            path=call.path,
            attempt=attempt,
            delay_s=round(delay_s, 3),
            error=_describe(exc),
        )

    def _log_attempt(
        self,
        call: _Call,
        attempt: int,
        started: float,
        status: int | None,
        error: BaseException | None,
    ) -> None:
        self.stats.requests_by_status[str(status) if status is not None else "error"] += 1
        duration_s = self.clock.now() - started
        self.observer.request_done(call.route, call.method, status, duration_s)
        failed = error is not None or (status is not None and status >= 400)
        if not failed and not _debug_log.isEnabledFor(logging.DEBUG):
            return  # the hot path: structlog would build the event only to drop it
        fields: dict[str, Any] = {
            "request_id": call.request_id,
            "method": call.method,
            "path": call.path,
            "status": status,
            "attempt": attempt,
            "duration_ms": round(duration_s * 1000, 1),
        }
        if error is not None:
            fields["error"] = _describe(error)
        (log.warning if failed else log.debug)("http.request", **fields)


def _check_path(path: str) -> None:
    """Refuse a path that a server-provided value could bend: the request goes where we say.

    Ids from the site (an image's file name, say) are put into paths; a dot segment there would
    be resolved away (``image/5/..`` deletes elsewhere), ``?``/``#`` would start a query or a
    fragment, and control characters are dropped silently by the URL parser.
    """
    if _PATH_BREAKERS.search(path):
        raise ClientRequestError("the URL path holds a control character, space, ? # or \\")
    if "." not in path and "%" not in path:
        return  # the hot path: no segment can be a dot segment
    for segment in path.split("/"):
        if segment and unquote(segment) in (".", ".."):
            raise ClientRequestError("the URL path holds a dot segment (. or ..)")


def _redirect_target(url: URL, location: str, status: int) -> URL:
    try:
        return url.join(URL(location))
    except ValueError:  # yarl: a bad IPv6 literal, a port out of range, ...
        raise MalformedResponse(
            "the redirect's Location is not a valid URL", status=status, retryable=False
        ) from None


def _request_id() -> str:
    """128 random bits in hex, as ``uuid4().hex`` but without building a ``UUID`` per request."""
    return os.urandom(16).hex()


def _describe(exc: BaseException) -> str:
    """Class name and our own message: never a header, a form value or aiohttp's text."""
    return f"{type(exc).__name__}: {exc}" if isinstance(exc, BookyFlowError) else type(exc).__name__
