"""The ``webhook_outbox`` table: the webhook sink's outbox.

Each booking revision is committed here in the transaction that marks it handled, and deleted
once the vendor answered 2xx; ``dead`` rows wait for a re-drive. Times are UNIX seconds on the
sink's wall clock, passed in by the sink; ``since`` (queued or re-driven) ages an entry.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from worker.state.bookings import BOOKING_DELIVERED
from worker.state.tables import Tables

__all__ = ["DeadLetter", "OutboxCounts", "OutboxEntry", "OutboxTable"]

_ENQUEUE = (
    "INSERT OR IGNORE INTO webhook_outbox (revision, property_uid, body, status, "
    "queued_at, since, next_at) VALUES (?, ?, ?, 'pending', ?, ?, ?)"
)


@dataclass(frozen=True)
class OutboxEntry:
    """A booking revision waiting in the webhook outbox: the body is sent byte for byte."""

    revision: str
    property_uid: int | None
    body: bytes
    since: float  # UNIX seconds: queued, or re-driven
    attempts: int


@dataclass(frozen=True)
class OutboxCounts:
    """What the webhook outbox holds (``status``, metrics); ``oldest_pending`` None if empty."""

    pending: int
    dead_lettered: int
    oldest_pending: datetime | None


@dataclass(frozen=True)
class DeadLetter:
    """A revision the vendor's endpoint did not take within its age: re-driven by command."""

    revision: str
    property_uid: int | None
    queued_at: datetime
    dead_at: datetime
    attempts: int
    last_error: str | None


class OutboxTable(Tables):
    async def enqueue_webhook(
        self, revision: str, body: bytes, *, property_uid: int, booking_id: int, now: float
    ) -> bool:
        """Queue a booking revision for the webhook and mark it handled, in one transaction.

        So a crash leaves the revision either queued *and* handled or neither; the bookings job's
        own ``record_booking_delivered`` afterwards writes the same row again. False (nothing
        queued) when the revision is in the outbox already.
        """
        async with self._transaction() as conn:
            cursor = await conn.execute(_ENQUEUE, (revision, property_uid, body, now, now, now))
            queued = cursor.rowcount == 1
            await conn.execute(BOOKING_DELIVERED, (booking_id, property_uid, revision))
        return queued

    async def due_webhooks(self, now: float, *, limit: int, stepped_s: float) -> list[OutboxEntry]:
        """Pending entries due at ``now``, oldest first. One due more than ``stepped_s`` ahead
        was scheduled before the wall clock stepped back, and is due now too."""
        sql = (
            "SELECT revision, property_uid, body, since, attempts FROM webhook_outbox "
            "WHERE status = 'pending' AND (next_at <= ? OR next_at > ?) ORDER BY id LIMIT ?"
        )
        rows = await self._all(sql, (now, now + stepped_s, limit))
        return [_entry(row) for row in rows]

    async def next_webhook_at(self) -> float | None:
        """When the earliest pending entry is due (UNIX seconds), None with nothing pending."""
        row = await self._one(
            "SELECT MIN(next_at) AS next_at FROM webhook_outbox WHERE status = 'pending'"
        )
        return None if row is None or row["next_at"] is None else float(row["next_at"])

    async def webhook_delivered(self, revision: str) -> None:
        """The vendor answered 2xx: the entry leaves the outbox (it only grows by backlog)."""
        await self._write("DELETE FROM webhook_outbox WHERE revision = ?", (revision,))

    async def webhook_failed(self, revision: str, error: str, *, next_at: float) -> None:
        """One more failed attempt; tried again from ``next_at`` (UNIX seconds)."""
        sql = (
            "UPDATE webhook_outbox SET attempts = attempts + 1, last_error = ?, next_at = ? "
            "WHERE revision = ? AND status = 'pending'"
        )
        await self._write(sql, (error[:300], next_at, revision))

    async def dead_letter_webhooks(
        self, *, queued_before: float, now: float, revision: str | None = None
    ) -> list[str]:
        """Park the pending entries (all, or the one ``revision``) queued or re-driven before
        ``queued_before``; the revisions parked, oldest first."""
        where = "WHERE status = 'pending' AND since <= ?"
        args: tuple[Any, ...] = (queued_before,)
        if revision is not None:
            where, args = where + " AND revision = ?", (*args, revision)
        async with self._transaction() as conn:
            select = f"SELECT revision FROM webhook_outbox {where} ORDER BY id"  # noqa: S608 - fixed text
            async with conn.execute(select, args) as cursor:
                parked = [str(row["revision"]) for row in await cursor.fetchall()]
            update = f"UPDATE webhook_outbox SET status = 'dead', dead_at = ? {where}"  # noqa: S608 - fixed text
            await conn.execute(update, (now, *args))
        return parked

    async def redrive_webhooks(self, revision: str | None = None, *, now: float) -> int:
        """Dead-lettered entries (all, or the one ``revision``) back to pending, due at once and
        aged from ``now``; how many. A running daemon's delivery loop finds them by polling."""
        sql = (
            "UPDATE webhook_outbox SET status = 'pending', since = ?, next_at = ?, attempts = 0, "
            "dead_at = NULL WHERE status = 'dead'"
        )
        args: tuple[Any, ...] = (now, now)
        if revision is not None:
            sql, args = sql + " AND revision = ?", (*args, revision)
        async with self._transaction() as conn:
            cursor = await conn.execute(sql, args)
            return int(cursor.rowcount)

    async def outbox_counts(self) -> OutboxCounts:
        """Pending and dead-lettered entries, and when the oldest pending one was queued."""
        row = await self._one(
            "SELECT COALESCE(SUM(status = 'pending'), 0) AS pending, "
            "COALESCE(SUM(status = 'dead'), 0) AS dead, "
            "MIN(CASE WHEN status = 'pending' THEN queued_at END) AS oldest FROM webhook_outbox"
        )
        if row is None:
            return OutboxCounts(0, 0, None)
        oldest = row["oldest"]
        return OutboxCounts(
            int(row["pending"]), int(row["dead"]), None if oldest is None else _utc(oldest)
        )

    async def dead_letters(self, *, limit: int = 100) -> list[DeadLetter]:
        """Dead-lettered entries, oldest first (at most ``limit``)."""
        rows = await self._all(
            "SELECT revision, property_uid, queued_at, dead_at, attempts, last_error "
            "FROM webhook_outbox WHERE status = 'dead' ORDER BY id LIMIT ?",
            (limit,),
        )
        return [_dead_letter(row) for row in rows]


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(float(seconds), UTC)


def _entry(row: sqlite3.Row) -> OutboxEntry:
    return OutboxEntry(
        str(row["revision"]),
        row["property_uid"],
        bytes(row["body"]),
        float(row["since"]),
        int(row["attempts"]),
    )


def _dead_letter(row: sqlite3.Row) -> DeadLetter:
    return DeadLetter(
        str(row["revision"]),
        row["property_uid"],
        _utc(row["queued_at"]),
        _utc(row["dead_at"]),
        int(row["attempts"]),
        row["last_error"],
    )
