"""The vendor's inventory from its own URL: ``BOOKYFLOW_INVENTORY=https://...``.

The same document, the same validation and the same last-good-document rule as the JSON file
(``source.JsonFileInventorySource``), read with a conditional GET so that an unchanged inventory
costs one ``304 Not Modified`` and no parse:

- the ``ETag`` of the last answer is sent back as ``If-None-Match``; a 304 returns the very
  snapshot served last time (not re-parsed, not re-logged). A 200 whose body hashes like the last
  one (a server without ETags, or one that changes them) is not parsed either;
- the bearer token is read from ``BOOKYFLOW_INVENTORY_TOKEN_FILE`` on every load (a rotated file
  is picked up without a restart), registered with the log redactor, and never logged;
- the body is read with the ``BOOKYFLOW_INVENTORY_MAX_BYTES`` bound (after decompression): a
  larger one is refused like an invalid document and never held whole;
- every GET goes through the shared retry policy (``worker.api.retry.call_with_retry``: full
  jitter, ``Retry-After``, attempts and total time bounded), with its own retry budget;
- redirects are not followed: the bearer token must not travel to a place the operator did not
  name.

Failures never stop the worker once a document was read: the last good one stays in force and the
problem is reported (``inventory.unreadable``). At start-up, with nothing read yet, a refusal
that only the operator can fix (401/403 — the token — or another 4xx such as 404, or a missing
token file) is a ``ConfigError`` (exit 78), as a missing inventory file is; the vendor's server
being down for now (5xx, a timeout, a refused connection) is not: nothing is known, so nothing is
pushed or removed, and the next cycle asks again.

The change watcher (``worker.inventory.changes``) asks every ``BOOKYFLOW_CHANGE_POLL_S``: one
conditional GET each time, a 304 while nothing changed. While a worker runs the source it holds
it open with ``keep_alive()``: every load reuses one pooled session, so a poll a second is a
request on a kept-alive connection, not a TCP (and TLS) handshake each time — a thousand sites
would otherwise open a thousand connections a second to the vendor. Outside ``keep_alive()`` (a
one-off ``check``, tests) each load opens a session and closes it after.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import random
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from worker.api.bodies import read_capped
from worker.api.ratelimit import RetryBudget
from worker.api.responses import RETRYABLE_STATUSES, is_rate_limit, parse_retry_after, server_error
from worker.api.retry import RetryPolicy, call_with_retry
from worker.api.transport import new_session, without_hidden_retries
from worker.clock import Clock, SystemClock
from worker.errors import (
    ApiError,
    AuthError,
    BookyFlowError,
    ClientRequestError,
    ConfigError,
    RateLimited,
    RequestTimeout,
    ResponseTooLarge,
    TransportError,
)
from worker.inventory.document import (
    DOCUMENT_PATH,
    InventoryProblem,
    InventorySnapshot,
    parse_bytes,
)
from worker.inventory.source import DEFAULT_MAX_BYTES, log_snapshot
from worker.logging import get_logger, redactor
from worker.settings import HttpSettings, RetrySettings, Settings

__all__ = ["HttpInventorySource", "display_url"]

log = get_logger("worker.inventory")

_USER_AGENT = "bookyflow-worker (inventory)"


def display_url(url: str) -> str:
    """The URL as logged: no user info, no query, no fragment (a signed URL's secret is there)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    netloc = f"[{host}]" if ":" in host else host
    if parts.port is not None:
        netloc += f":{parts.port}"
    return urlunsplit((parts.scheme, netloc, parts.path, "", ""))


@dataclass(frozen=True)
class _Answer:
    """One 200 or 304: the body (None for 304) and the ETag to send back next time."""

    status: int
    etag: str | None
    data: bytes | None


class HttpInventorySource:
    """The inventory document at ``url`` (``spec/inventory.md``), fetched once per ``load()``."""

    def __init__(
        self,
        url: str,
        *,
        token_file: Path | None = None,
        max_bytes: int = DEFAULT_MAX_BYTES,
        http: HttpSettings | None = None,
        retry: RetrySettings | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.url = url
        self.token_file = token_file
        self.max_bytes = max_bytes
        self.http = http or HttpSettings()
        retry = retry or RetrySettings()
        self.policy = RetryPolicy.from_settings(retry)
        self.budget = RetryBudget.from_settings(retry)
        self.clock: Clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.parses = 0  # documents parsed: an unchanged one (304, same bytes) is not
        self._etag: str | None = None
        self._digest: bytes | None = None
        self._parsed: InventorySnapshot | None = None
        self._lock = asyncio.Lock()  # jobs loading at once share one GET
        self._pooled: aiohttp.ClientSession | None = None  # inside keep_alive()
        self.sessions_opened = 0  # for tests: one per load, or one per keep_alive()

    @classmethod
    def from_settings(
        cls, settings: Settings, *, clock: Clock | None = None
    ) -> HttpInventorySource:
        assert settings.inventory_url is not None
        return cls(
            settings.inventory_url,
            token_file=settings.inventory_token_file,
            max_bytes=settings.inventory_max_bytes,
            http=settings.http,
            retry=settings.retry,
            clock=clock,
        )

    def __repr__(self) -> str:
        return f"HttpInventorySource({display_url(self.url)!r})"

    async def changed(self) -> bool:
        """Always worth asking: ``load()``'s conditional GET is the cheap check (a 304 returns
        the very snapshot served last time, which the change watcher takes for no change)."""
        return True

    async def load(self) -> InventorySnapshot:
        """The current snapshot (see the module docstring for what a failure gives)."""
        async with self._lock:
            try:
                answer = await self._fetch()
            except BookyFlowError as exc:
                return self._failed(exc)
            if answer.status == 304:
                return self._parsed or self._failed(_UNASKED_304)
            self._etag = answer.etag
            return await self._parse(answer.data or b"")

    async def _parse(self, data: bytes) -> InventorySnapshot:
        """Parse a new body off the event loop; the same bytes as last time are not parsed."""
        digest = hashlib.sha256(data).digest()
        if digest == self._digest and self._parsed is not None:
            return self._parsed
        previous = self._parsed or InventorySnapshot(fresh=False)
        self.parses += 1
        snapshot = await asyncio.to_thread(parse_bytes, data, previous)
        self._digest, self._parsed = digest, snapshot
        log_snapshot(snapshot, url=display_url(self.url))
        return snapshot

    def _failed(self, exc: BookyFlowError) -> InventorySnapshot:
        """The last good snapshot kept in force (or, at start-up, the rule of the module doc)."""
        if isinstance(exc, ResponseTooLarge):
            return self._oversized()
        reason = str(exc)
        if self._parsed is None and _operators_to_fix(exc):
            raise ConfigError(
                f"inventory {display_url(self.url)} cannot be read: {reason}"
            ) from None
        log.error("inventory.unreadable", url=display_url(self.url), reason=reason)
        message = f"cannot read {display_url(self.url)}: {reason}; the last good inventory stays"
        previous = self._parsed or InventorySnapshot(fresh=False)
        return previous.stale(InventoryProblem(DOCUMENT_PATH, message))

    def _oversized(self) -> InventorySnapshot:
        """Refused like an invalid document; the next answer is read (and judged) afresh."""
        message = (
            f"the document passed {self.max_bytes} bytes (BOOKYFLOW_INVENTORY_MAX_BYTES); "
            "the last good inventory stays in force"
        )
        previous = self._parsed or InventorySnapshot(fresh=False)
        snapshot = previous.stale(InventoryProblem(DOCUMENT_PATH, message))
        log_snapshot(snapshot, url=display_url(self.url))
        return snapshot

    # -- HTTP ---------------------------------------------------------------------------------

    @contextlib.asynccontextmanager
    async def keep_alive(self) -> AsyncIterator[None]:
        """Loads share one pooled session until the block ends (then it is closed)."""
        session = self._session()
        self._pooled = session
        try:
            yield
        finally:
            self._pooled = None
            await session.close()

    async def _fetch(self) -> _Answer:
        """One conditional GET through the shared retry policy."""
        headers = await self._headers()
        if self._pooled is not None:
            return await self._fetch_with(self._pooled, headers)
        async with self._session() as session:
            return await self._fetch_with(session, headers)

    async def _fetch_with(self, session: aiohttp.ClientSession, headers: dict[str, str]) -> _Answer:
        async def attempt(number: int) -> _Answer:
            return await self._get(session, headers, number)

        return await call_with_retry(
            attempt,
            policy=self.policy,
            budget=self.budget,
            clock=self.clock,
            idempotent=True,
            rng=self.rng,
            on_retry=self._on_retry,
        )

    async def _headers(self) -> dict[str, str]:
        headers = {"Accept": "application/json", "User-Agent": _USER_AGENT}
        if self._etag is not None and self._parsed is not None:
            headers["If-None-Match"] = self._etag
        if self.token_file is not None:
            headers["Authorization"] = f"Bearer {await self._token()}"
        return headers

    async def _token(self) -> str:
        """The bearer token, read afresh (rotation needs no restart) and known to the redactor."""
        assert self.token_file is not None
        try:
            text = await asyncio.to_thread(self.token_file.read_text, encoding="utf-8")
        except OSError as exc:
            raise _TokenFileError(
                f"BOOKYFLOW_INVENTORY_TOKEN_FILE {self.token_file} cannot be read: "
                f"{exc.strerror or type(exc).__name__}"
            ) from None
        token = text.strip()
        if not token:
            raise _TokenFileError(f"BOOKYFLOW_INVENTORY_TOKEN_FILE {self.token_file} is empty")
        redactor.add_secret(token)
        return token

    def _session(self) -> aiohttp.ClientSession:
        """The site client's kind of session (``worker.api.transport``)."""
        self.sessions_opened += 1
        return without_hidden_retries(new_session(self.http))

    async def _get(
        self, session: aiohttp.ClientSession, headers: dict[str, str], attempt: int
    ) -> _Answer:
        """The one place where this source's aiohttp exceptions become ours."""
        started = self.clock.now()
        try:
            async with session.get(self.url, headers=headers, allow_redirects=False) as response:
                answer = await self._answer(response)
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(f"cannot connect: {type(exc).__name__}", sent=False) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            raise RequestTimeout("connect timeout", sent=False) from exc
        except TimeoutError as exc:
            raise RequestTimeout("timed out waiting for the answer") from exc
        except aiohttp.ClientError as exc:
            raise TransportError(f"connection lost: {type(exc).__name__}") from exc
        log.debug(
            "inventory.fetched",
            url=display_url(self.url),
            status=answer.status,
            attempt=attempt,
            duration_ms=round((self.clock.now() - started) * 1000, 1),
        )
        return answer

    async def _answer(self, response: aiohttp.ClientResponse) -> _Answer:
        status = response.status
        etag = response.headers.get("ETag")
        if status == 304:
            return _Answer(status, etag, None)
        if status == 200:
            return _Answer(
                status,
                etag,
                await read_capped(
                    response, self.max_bytes, setting="BOOKYFLOW_INVENTORY_MAX_BYTES"
                ),
            )
        raise _status_error(status, response.headers.get("Retry-After"), now_wall=self.clock.wall)

    def _on_retry(self, attempt: int, exc: BaseException, delay_s: float) -> None:
        log.warning(
            "inventory.retry_scheduled",
            url=display_url(self.url),
            attempt=attempt,
            delay_s=round(delay_s, 3),
            error=f"{type(exc).__name__}: {exc}",
        )


_UNASKED_304 = ClientRequestError("answered 304 to a GET without If-None-Match", status=304)


class _TokenFileError(ConfigError):
    """The token file is missing, unreadable or empty: only the operator can fix it."""


def _operators_to_fix(exc: BookyFlowError) -> bool:
    """A failure another attempt cannot help: the token, the URL, the token file."""
    if isinstance(exc, ConfigError | AuthError):
        return True
    return isinstance(exc, ApiError) and not exc.retryable


def _status_error(
    status: int, retry_after: str | None, *, now_wall: Callable[[], float]
) -> ApiError:
    """Our error for an answer that is neither 200 nor 304 (``retryable`` from the status table
    of ``worker.api.responses``); ``now_wall`` is read only for an HTTP-date ``Retry-After``."""
    if status in (401, 403):
        return AuthError(
            "the inventory URL refused the bearer token; check BOOKYFLOW_INVENTORY_TOKEN_FILE",
            status=status,
        )
    wait_s = None if retry_after is None else parse_retry_after(retry_after, now_wall=now_wall())
    if is_rate_limit(status, wait_s):
        return RateLimited("the inventory URL asks to wait", status=status, retry_after_s=wait_s)
    if status >= 500 or status in RETRYABLE_STATUSES:
        return server_error("the inventory URL failed", status=status)
    if 300 <= status < 400:
        return ClientRequestError(
            "redirects are not followed; set BOOKYFLOW_INVENTORY to the final URL", status=status
        )
    return ClientRequestError("the inventory URL answered neither 200 nor 304", status=status)
