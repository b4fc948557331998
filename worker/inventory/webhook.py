"""The webhook sink (``BOOKYFLOW_SINK=webhook``): site bookings POSTed to the vendor, signed.

``deliver`` does no HTTP: it commits the revision to the outbox in the state store, in the same
transaction that marks it handled (``StateStore.enqueue_webhook``), and returns. The delivery
loop (``worker.inventory.outbox``), started and stopped with the sink, POSTs each entry as the
JSON object the file sink writes (``webhook_body``), signed per Standard Webhooks with the
``standardwebhooks`` library::

    webhook-id:        the revision, <booking_id>:<last_modified> (stable across retries)
    webhook-timestamp: UNIX seconds of this attempt
    webhook-signature: v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">

Only a 2xx counts; redirects are not followed. This module is the one boundary where aiohttp's
exceptions become ours (``TransportError``, ``RequestTimeout``), as ``api/client.py`` is for the
site; the signing secret is registered with the log redactor and never logged, and the endpoint
is logged without its query string.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from standardwebhooks import Webhook

from worker import __version__
from worker.api.responses import RETRYABLE_STATUSES, is_rate_limit, parse_retry_after, server_error
from worker.api.retry import RetryPolicy
from worker.backoff import Backoff
from worker.clock import Clock, SystemClock
from worker.errors import (
    ApiError,
    ClientRequestError,
    ConfigError,
    RateLimited,
    RequestTimeout,
    TransportError,
)
from worker.inventory.outbox import OutboxLoop, OutboxStats
from worker.inventory.sink import FLAGS, RECORD_FIELDS, encodable
from worker.logging import get_logger, redactor
from worker.settings import WebhookSettings
from worker.state import OutboxEntry, StateStore

__all__ = [
    "WebhookSender",
    "WebhookSink",
    "answer_error",
    "redrive",
    "webhook_body",
    "webhook_policy",
]

log = get_logger("worker.inventory.webhook")


def webhook_policy(settings: WebhookSettings) -> RetryPolicy:
    """The shared retry maths with the webhook's figures (full jitter from ``base_delay_s``
    doubling to ``max_delay_s``); ``max_total_s`` is the max age."""
    first_s = settings.base_delay_s
    return RetryPolicy(
        max_attempts=2**31,  # bounded by age, not by count
        max_total_s=settings.max_age_s,
        backoff=Backoff(first_s, max(first_s, settings.max_delay_s), jitter=1.0),
        retry_after_cap_s=settings.retry_after_cap_s,
    )


def webhook_body(record: Mapping[str, Any], *, received_at: datetime) -> bytes:
    """The JSON object the file sink writes for ``record`` (its line without the newline).

    ``received_at`` stamps a record that has none; a test holds this to the file sink's line.
    """
    missing = [name for name in RECORD_FIELDS[:-1] if name not in record]
    if missing or not isinstance(record["revision"], str):
        raise ValueError(f"booking record lacks {missing or ['a string revision']}")
    cleaned, _ = encodable(record)
    stamp = received_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    stamped = {**cleaned, "received_at": cleaned.get("received_at") or stamp}
    ordered = {name: stamped[name] for name in RECORD_FIELDS}
    if stamped.get(FLAGS):
        ordered[FLAGS] = stamped[FLAGS]
    text = json.dumps(ordered, ensure_ascii=False, separators=(",", ":"), default=str)
    return text.encode("utf-8")


def answer_error(status: int, retry_after: str | None, *, now_wall: float) -> ApiError | None:
    """None for a 2xx; else the error the retry policy judges (pure; ``now_wall`` UNIX seconds).

    429, and 503 with ``Retry-After``, wait at least that long; 5xx and 408/425 are server
    errors, retryable (the receiver's passing trouble) when ``responses.RETRYABLE_STATUSES``
    lists them; anything else (3xx, 4xx) is an answer to this one body.
    """
    if 200 <= status < 300:
        return None
    wait_s = parse_retry_after(retry_after, now_wall=now_wall)
    if is_rate_limit(status, wait_s):
        return RateLimited("receiver asks to wait", status=status, retry_after_s=wait_s)
    if status >= 500 or status in RETRYABLE_STATUSES:
        return server_error("receiver failed", status=status)
    return ClientRequestError("receiver refused", status=status)


def _endpoint(url: str) -> str:
    """The URL as logged: no query string (it may carry the vendor's routing key)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}{parts.path}"


class WebhookSender:
    """Signs and POSTs outbox entries to the vendor's endpoint over one aiohttp session."""

    def __init__(self, settings: WebhookSettings) -> None:
        if settings.url is None or settings.secret is None:
            raise ConfigError("invalid configuration: the webhook sink needs a URL and a secret")
        secret = settings.secret.get_secret_value()
        redactor.add_secret(secret)
        redactor.add_secret(secret.removeprefix("whsec_"))
        self.url = settings.url
        self._webhook = Webhook(secret)
        self._timeout = aiohttp.ClientTimeout(
            total=settings.timeout_s, connect=settings.connect_timeout_s
        )
        self._session: aiohttp.ClientSession | None = None

    def headers(self, entry: OutboxEntry, timestamp: float) -> dict[str, str]:
        """The Standard Webhooks headers of one attempt (the signature covers id and time)."""
        seconds = math.floor(timestamp)
        signed_at = datetime.fromtimestamp(seconds, UTC)
        signature = self._webhook.sign(entry.revision, signed_at, entry.body.decode("utf-8"))
        return {
            "content-type": "application/json",
            "webhook-id": entry.revision,
            "webhook-timestamp": str(seconds),
            "webhook-signature": signature,
        }

    async def open(self) -> None:
        self._session = aiohttp.ClientSession(
            timeout=self._timeout, headers={"User-Agent": f"bookyflow-worker/{__version__}"}
        )

    async def close(self) -> None:
        session, self._session = self._session, None
        if session is not None:
            await session.close()

    async def send(self, entry: OutboxEntry, timestamp: float) -> int:
        """POST ``entry``; its 2xx status, or our error for anything else."""
        if self._session is None:
            raise RuntimeError("WebhookSender is not open")
        headers = self.headers(entry, timestamp)
        try:
            async with self._session.post(
                self.url, data=entry.body, headers=headers, allow_redirects=False
            ) as response:
                status, retry_after = response.status, response.headers.get("Retry-After")
        except aiohttp.ClientConnectorError as exc:
            raise TransportError(f"cannot connect: {type(exc).__name__}", sent=False) from exc
        except aiohttp.ConnectionTimeoutError as exc:
            raise RequestTimeout("connect timeout", sent=False) from exc
        except TimeoutError as exc:
            raise RequestTimeout("timed out waiting for the answer", sent=True) from exc
        except aiohttp.ClientError as exc:
            raise TransportError(f"connection lost: {type(exc).__name__}", sent=True) from exc
        error = answer_error(status, retry_after, now_wall=timestamp)
        if error is not None:
            raise error
        return status


class WebhookSink:
    """``BookingSink`` of ``BOOKYFLOW_SINK=webhook``: the outbox, and the loop that empties it."""

    def __init__(
        self,
        settings: WebhookSettings,
        state: StateStore,
        *,
        clock: Clock | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.settings = settings
        self.state = state
        self.clock: Clock = clock or SystemClock()
        self.sender = WebhookSender(settings)
        self.loop = OutboxLoop(
            state,
            self.sender,
            webhook_policy(settings),
            max_age_s=settings.max_age_s,
            poll_s=settings.poll_s,
            clock=self.clock,
            rng=rng,
        )
        self._closed = False

    def __repr__(self) -> str:
        return f"WebhookSink({_endpoint(self.sender.url)!r})"

    @classmethod
    async def open(cls, settings: WebhookSettings, state: StateStore, **kwargs: Any) -> WebhookSink:
        """Open the HTTP session and start delivering what the outbox already holds."""
        sink = cls(settings, state, **kwargs)
        await sink.sender.open()
        sink.loop.start()
        counts = await state.outbox_counts()
        log.info(
            "webhook.opened",
            endpoint=_endpoint(sink.sender.url),
            pending=counts.pending,
            dead_lettered=counts.dead_lettered,
        )
        return sink

    @property
    def stats(self) -> OutboxStats:
        return self.loop.stats

    async def deliver(self, record: dict[str, Any]) -> bool:
        """Commit ``record`` to the outbox (marking it handled) and wake the loop; no HTTP here.

        False when the revision is queued already.
        """
        now = self.clock.wall()
        body = webhook_body(record, received_at=datetime.fromtimestamp(now, UTC))
        queued = await self.state.enqueue_webhook(
            record["revision"],
            body,
            property_uid=int(record["property_uid"]),
            booking_id=int(record["booking"]["booking_id"]),
            now=now,
        )
        if queued:
            self.loop.wake()
        return queued

    async def close(self) -> None:
        """Drain what can go at once (``drain_s``), stop the loop, close the session."""
        if self._closed:
            return
        self._closed = True
        try:
            await self.loop.stop(self.settings.drain_s)
        finally:
            await self.sender.close()


async def redrive(
    state_dir: Path, revision: str | None = None, *, clock: Clock | None = None
) -> int:
    """Dead-lettered entries (all, or ``revision``) of one state directory back to pending.

    ``webhooks redrive`` runs this beside the daemon: it takes no state-directory lock and only
    writes rows (SQLite serialises the two processes' transactions); the daemon's loop finds
    them within ``poll_s``. How many were re-driven.
    """
    state = await StateStore.open(state_dir)
    try:
        count = await state.redrive_webhooks(revision, now=(clock or SystemClock()).wall())
    finally:
        await state.close()
    log.info("webhook.redriven", state_dir=str(state_dir), revision=revision, redriven=count)
    return count
