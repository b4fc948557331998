"""The webhook outbox's delivery loop: every queued booking revision POSTed until a 2xx.

The rows live in the state store (``StateStore.enqueue_webhook`` and friends); a ``Sender`` does
the HTTP. This module decides when to send what, and what a failure means, with the shared
``RetryPolicy`` (full-jitter backoff, ``Retry-After`` honoured up to its cap):

- **The receiver's trouble** (no connection, a timeout, 408/425/429/5xx: what
  ``RetryPolicy.should_retry`` retries) closes a gate over the whole endpoint for the policy's
  backoff, counted in consecutive failures of the endpoint. While the receiver is down one entry
  probes it, not the whole backlog; the first 2xx reopens the gate and the backlog follows at
  once, so a receiver that recovers has it within ``max_delay_s`` (a minute by default).
- **Any other answer** (a 4xx for this one body) backs that entry off alone, by its own
  attempts; the others go on.
- A failure more than ``max_age_s`` after the entry was queued (or re-driven) parks it as
  dead-lettered (``webhook.dead_lettered``); while the endpoint is failing, every pending entry
  past that age is parked with it, rather than each waiting for its own probe.

Delivery is at least once with a stable id: a row is deleted only after the 2xx, so a crash
between the POST and that commit sends the same ``webhook-id`` again.

Time: the loop sleeps on the injected ``Clock``'s monotonic time (the gate is on it too) and
keeps ages and per-entry next attempts on the same clock's ``wall()``, since they must survive a
restart; tests pass a ``FakeClock``, whose wall moves with its virtual time. The idle loop looks
at the outbox every ``poll_s`` as well, for rows that ``webhooks redrive`` (another process) set
pending again.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass
from typing import Protocol

from worker.api.retry import RetryPolicy
from worker.clock import Clock
from worker.errors import ApiError, BookyFlowError
from worker.logging import get_logger
from worker.state import OutboxEntry, StateStore

__all__ = ["BATCH", "OutboxLoop", "OutboxStats", "Sender"]

log = get_logger("worker.inventory.outbox")
# Entries read per pass: memory stays flat however long the backlog is.
BATCH = 50


class Sender(Protocol):
    """POSTs one entry, signed at ``timestamp`` (UNIX seconds); raises on anything but a 2xx."""

    async def send(self, entry: OutboxEntry, timestamp: float) -> int: ...


@dataclass
class OutboxStats:
    """What the loop saw: the outbox's size after each pass, and attempts by outcome."""

    pending: int = 0
    dead_lettered: int = 0
    delivered_total: int = 0
    failed_total: int = 0
    dead_lettered_total: int = 0
    oldest_pending_at: float = 0.0  # UNIX seconds the oldest pending entry was queued; 0: none

    def as_dict(self) -> dict[str, float]:
        return dict(self.__dict__)


def describe(exc: BaseException) -> str:
    """A failure as one short line for logs and ``last_error``: status and type, no body."""
    if isinstance(exc, ApiError) and exc.status is not None:
        return f"HTTP {exc.status}"
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


class OutboxLoop:
    """Delivers the outbox in the background: ``start()``, ``wake()`` on news, ``stop()``."""

    def __init__(
        self,
        state: StateStore,
        sender: Sender,
        policy: RetryPolicy,
        *,
        max_age_s: float,
        poll_s: float,
        clock: Clock,
        rng: random.Random | None = None,
    ) -> None:
        self.state, self.sender, self.policy = state, sender, policy
        self.max_age_s, self.poll_s = max_age_s, poll_s
        self.clock = clock
        self.rng = rng or random.Random()
        self.stats = OutboxStats()
        self._failures = 0  # consecutive failures of the endpoint itself
        self._gate_until = 0.0  # on ``clock``: no attempt before, the endpoint is failing
        self._wake = asyncio.Event()
        self._stopping = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        self._task = asyncio.get_running_loop().create_task(self._run(), name="webhook-outbox")

    def wake(self) -> None:
        """Something was queued: look now (a closed gate still holds it back)."""
        self._wake.set()

    async def stop(self, drain_s: float) -> None:
        """Send what can go at once for up to ``drain_s``, then cancel (idempotent)."""
        task, self._task = self._task, None
        if task is None:
            return
        self._stopping = True
        self._wake.set()
        timer = asyncio.ensure_future(self.clock.sleep(drain_s))
        await asyncio.wait({task, timer}, return_when=asyncio.FIRST_COMPLETED)
        for waiting in (task, timer):
            waiting.cancel()
        await asyncio.gather(task, timer, return_exceptions=True)

    async def _run(self) -> None:
        """Passes until stopped; a failing state store is logged and tried again, never fatal."""
        while True:
            self._wake.clear()  # a wake() from here on (a deliver during the pass) ends the wait
            sent, idle_s = 0, self.poll_s
            try:
                sent = await self.run_pass()
                await self._refresh_counts()
                idle_s = await self._idle_s()
            except Exception as exc:  # the loop must outlive a full disk or a locked database
                log.error("webhook.loop_failed", error=describe(exc))
            if self._stopping and not sent:
                return
            await self._wait(idle_s)

    async def run_pass(self) -> int:
        """Send the due entries of one batch, in queue order, while the endpoint answers; how
        many it took."""
        if self.clock.now() < self._gate_until:
            return 0
        stepped_s = self.policy.max_delay_s + self.policy.retry_after_cap_s
        due = await self.state.due_webhooks(self.clock.wall(), limit=BATCH, stepped_s=stepped_s)
        sent = 0
        for entry in due:
            if await self._attempt(entry):
                sent += 1
            elif self.clock.now() < self._gate_until:
                break
        return sent

    async def _attempt(self, entry: OutboxEntry) -> bool:
        started = self.clock.now()
        try:
            status = await self.sender.send(entry, self.clock.wall())
        except BookyFlowError as exc:
            await self._failed(entry, exc)
            return False
        await self.state.webhook_delivered(entry.revision)
        self._failures = 0
        self.stats.delivered_total += 1
        log.info(
            "webhook.delivered",
            revision=entry.revision,
            status=status,
            attempts=entry.attempts + 1,
            duration_ms=round((self.clock.now() - started) * 1000, 1),
        )
        return True

    async def _failed(self, entry: OutboxEntry, exc: BookyFlowError) -> None:
        """Back the endpoint (its trouble) or the entry (any other answer) off; park what is
        past its age."""
        self.stats.failed_total += 1
        error = describe(exc)
        endpoint = self.policy.should_retry(exc, idempotent=True)
        attempts = entry.attempts + 1
        if endpoint:
            self._failures += 1
        delay_s = self.policy.wait_s(self._failures if endpoint else attempts, exc, self.rng)
        if endpoint:  # the gate holds every entry back; this one stays first in line
            self._gate_until = self.clock.now() + delay_s
        next_at = self.clock.wall() + (0.0 if endpoint else delay_s)
        await self.state.webhook_failed(entry.revision, error, next_at=next_at)
        if entry.revision in await self._expire(None if endpoint else entry.revision, error):
            return
        log.warning(
            "webhook.failed",
            revision=entry.revision,
            attempts=attempts,
            error=error,
            endpoint_failing=endpoint,
            retry_in_s=round(delay_s, 3),
        )

    async def _expire(self, revision: str | None, error: str) -> list[str]:
        """Dead-letter what is past ``max_age_s``: every pending entry while the endpoint is
        failing (``revision`` None), else that one entry; the revisions parked."""
        now = self.clock.wall()
        dead = await self.state.dead_letter_webhooks(
            queued_before=now - self.max_age_s, now=now, revision=revision
        )
        self.stats.dead_lettered_total += len(dead)
        for parked in dead:
            log.error(
                "webhook.dead_lettered", revision=parked, max_age_s=self.max_age_s, error=error
            )
        return dead

    async def _refresh_counts(self) -> None:
        counts = await self.state.outbox_counts()
        self.stats.pending, self.stats.dead_lettered = counts.pending, counts.dead_lettered
        oldest = counts.oldest_pending
        self.stats.oldest_pending_at = 0.0 if oldest is None else oldest.timestamp()

    async def _idle_s(self) -> float:
        """Seconds until the gate opens or the next entry is due, at most ``poll_s``."""
        if self._stopping:
            return 0.0
        gate_s = self._gate_until - self.clock.now()
        if gate_s > 0:
            return min(gate_s, self.poll_s)
        next_at = await self.state.next_webhook_at()
        due_s = self.poll_s if next_at is None else next_at - self.clock.wall()
        return max(0.0, min(due_s, self.poll_s))

    async def _wait(self, seconds: float) -> None:
        """Sleep on the clock until ``seconds`` pass or ``wake()`` is called."""
        if seconds <= 0:
            await asyncio.sleep(0)
            return
        woken = asyncio.ensure_future(self._wake.wait())
        timer = asyncio.ensure_future(self.clock.sleep(seconds))
        try:
            await asyncio.wait({woken, timer}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for waiting in (woken, timer):
                waiting.cancel()
            await asyncio.gather(woken, timer, return_exceptions=True)
