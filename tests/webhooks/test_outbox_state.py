"""The outbox in the state store: queued with the handled mark in one transaction, aged,
dead-lettered, re-driven, counted for ``status``."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from worker.state import DB_NAME, MIGRATIONS, BookingRevision, StateStore

T0 = 1_800_000_000.0


async def queue(state: StateStore, booking_id: int, now: float = T0, uid: int = 7) -> bool:
    revision = f"{booking_id}:2026-12-01 10:00:00"
    body = b'{"revision":"%s"}' % revision.encode()
    return await state.enqueue_webhook(
        revision, body, property_uid=uid, booking_id=booking_id, now=now
    )


async def test_migration_is_appended_last(state: StateStore) -> None:
    """The outbox is created by a migration: a fresh store has every one applied."""
    assert any("CREATE TABLE webhook_outbox" in script for script in MIGRATIONS)
    assert await state.schema_version() == len(MIGRATIONS)


async def test_queueing_marks_the_revision_handled(state: StateStore) -> None:
    """One call queues the revision and records it as the booking's last delivered one;
    the same revision again queues nothing."""
    assert await queue(state, 41)
    assert await state.booking_revisions(7) == {41: BookingRevision("41:2026-12-01 10:00:00")}
    assert not await queue(state, 41)
    assert (await state.outbox_counts()).pending == 1


async def test_queue_and_mark_commit_together_or_not_at_all(
    state: StateStore, tmp_path: Path
) -> None:
    """When marking the booking handled fails, the outbox row is rolled back with it."""
    with sqlite3.connect(tmp_path / "state" / DB_NAME) as conn:
        conn.execute(
            "CREATE TRIGGER full_disk BEFORE INSERT ON booking_revisions "
            "BEGIN SELECT RAISE(ABORT, 'disk full'); END"
        )
    with pytest.raises(sqlite3.DatabaseError, match="disk full"):
        await queue(state, 41)
    assert (await state.outbox_counts()).pending == 0
    assert await state.booking_revisions(7) == {}


async def test_due_entries_come_oldest_first_and_in_bounded_batches(state: StateStore) -> None:
    """Due entries are read in queue order, ``limit`` at a time; a later ``next_at`` waits."""
    for booking_id in (3, 1, 2):
        await queue(state, booking_id)
    await state.webhook_failed("3:2026-12-01 10:00:00", "HTTP 500", next_at=T0 + 30)
    due = await state.due_webhooks(T0, limit=10, stepped_s=600)
    assert [e.revision.split(":")[0] for e in due] == ["1", "2"]
    assert len(await state.due_webhooks(T0 + 30, limit=2, stepped_s=600)) == 2
    assert await state.next_webhook_at() == T0
    [failed] = [e for e in await state.due_webhooks(T0 + 30, limit=10, stepped_s=600)
                if e.revision.startswith("3:")]  # fmt: skip
    assert failed.attempts == 1
    assert failed.body == b'{"revision":"3:2026-12-01 10:00:00"}'


async def test_a_wall_clock_stepped_back_does_not_strand_an_entry(state: StateStore) -> None:
    """An entry due further ahead than any backoff can reach is due now (the clock stepped)."""
    await queue(state, 1)
    await state.webhook_failed("1:2026-12-01 10:00:00", "HTTP 500", next_at=T0 + 3600)
    assert await state.due_webhooks(T0, limit=10, stepped_s=600) != []
    assert await state.due_webhooks(T0, limit=10, stepped_s=7200) == []


async def test_dead_letters_and_redrive(state: StateStore) -> None:
    """Entries past their age are parked (all, or one), listed, counted, and re-driven."""
    await queue(state, 1, now=T0)
    await queue(state, 2, now=T0 + 10)
    await queue(state, 3, now=T0 + 500)
    await state.webhook_failed("1:2026-12-01 10:00:00", "HTTP 503", next_at=T0 + 1)
    one = await state.dead_letter_webhooks(
        queued_before=T0 + 100, now=T0 + 600, revision="2:2026-12-01 10:00:00"
    )
    assert one == ["2:2026-12-01 10:00:00"]
    rest = await state.dead_letter_webhooks(queued_before=T0 + 100, now=T0 + 700)
    assert rest == ["1:2026-12-01 10:00:00"]
    counts = await state.outbox_counts()
    assert (counts.pending, counts.dead_lettered) == (1, 2)
    assert counts.oldest_pending == datetime.fromtimestamp(T0 + 500, UTC)
    letters = await state.dead_letters()
    assert [(d.revision, d.attempts, d.last_error) for d in letters] == [
        ("1:2026-12-01 10:00:00", 1, "HTTP 503"),
        ("2:2026-12-01 10:00:00", 0, None),
    ]
    assert letters[0].dead_at == datetime.fromtimestamp(T0 + 700, UTC)
    assert letters[0].queued_at == datetime.fromtimestamp(T0, UTC)
    assert await state.redrive_webhooks("2:2026-12-01 10:00:00", now=T0 + 800) == 1
    assert await state.redrive_webhooks("2:2026-12-01 10:00:00", now=T0 + 800) == 0
    assert await state.redrive_webhooks(now=T0 + 900) == 1
    due = await state.due_webhooks(T0 + 900, limit=10, stepped_s=600)
    assert {(e.revision[0], e.since, e.attempts) for e in due} >= {("1", T0 + 900, 0),
                                                                  ("2", T0 + 800, 0)}  # fmt: skip
    assert (await state.outbox_counts()).dead_lettered == 0


async def test_delivered_entries_leave_the_outbox(state: StateStore) -> None:
    """A 2xx deletes the row: the outbox holds the backlog only, whatever the uptime."""
    for booking_id in range(200):
        await queue(state, booking_id)
        await state.webhook_delivered(f"{booking_id}:2026-12-01 10:00:00")
    counts = await state.outbox_counts()
    assert (counts.pending, counts.dead_lettered, counts.oldest_pending) == (0, 0, None)
    assert await state.next_webhook_at() is None
