"""State of site bookings: one row per listed booking, carried over from the old meta keys."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from worker.state import DB_NAME, MIGRATIONS, BookingRevision, StateStore


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StateStore]:
    opened = await StateStore.open(tmp_path / "state")
    yield opened
    await opened.close()


def _old_state(state_dir: Path, revisions: dict[int, str]) -> None:
    """A state database as schema 3 left it: revisions in ``booking.revision:<id>`` meta keys."""
    state_dir.mkdir()
    with sqlite3.connect(state_dir / DB_NAME) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for version, script in enumerate(MIGRATIONS[:3], start=1):
            conn.executescript(script)
            conn.execute("INSERT INTO schema_version VALUES (?)", (version,))
        conn.executemany(
            "INSERT INTO meta VALUES (?, ?)",
            [(f"booking.revision:{i}", rev) for i, rev in revisions.items()],
        )
        conn.execute("INSERT INTO bookings_cursor VALUES (3, '2026-01-01 00:00:00')")


async def test_delivered_and_parked_revisions_round_trip(store: StateStore) -> None:
    """Delivering settles a parked revision; parking keeps the last delivered one."""
    await store.record_booking_delivered(3, 41, "41:a")
    await store.record_booking_parked(3, 41, "41:b", "booking: unexpected shape at date_from")
    assert await store.booking_revisions(3) == {
        41: BookingRevision("41:a", "41:b", "booking: unexpected shape at date_from")
    }
    assert await store.parked_booking_count() == 1
    await store.record_booking_delivered(3, 41, "41:c")
    assert await store.booking_revisions(3) == {41: BookingRevision("41:c")}
    assert await store.parked_booking_count() == 0


async def test_retain_forgets_what_the_site_no_longer_lists(store: StateStore) -> None:
    """Only the listed bookings of the property stay; other properties' rows are untouched."""
    for booking_id in range(100):
        await store.record_booking_delivered(3, booking_id, f"{booking_id}:a")
    await store.record_booking_delivered(4, 500, "500:a")
    await store.retain_booking_revisions(3, [7, 8])
    assert sorted(await store.booking_revisions(3)) == [7, 8]
    assert sorted(await store.booking_revisions(4)) == [500]
    await store.retain_booking_revisions(3, [])
    assert await store.booking_revisions(3) == {}
    await store.record_property_intent("1004")
    await store.record_property_created("1004", 4)
    await store.forget_property("1004")  # a forgotten property takes its bookings along
    assert await store.booking_revisions(4) == {}


async def test_old_meta_revisions_are_carried_over_and_adopted(tmp_path: Path) -> None:
    """Upgrading keeps the revisions already delivered (no re-delivery after a rotated file);
    a carried-over row joins the property that lists it and is never dropped by another."""
    _old_state(tmp_path / "state", {41: "41:2026-11-30 10:00:00", 42: "42:2026-11-30 11:00:00"})
    store = await StateStore.open(tmp_path / "state")
    try:
        assert await store.schema_version() == len(MIGRATIONS)
        with sqlite3.connect(tmp_path / "state" / DB_NAME) as conn:  # both dropped by schema 7
            names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        conn.close()
        assert not names & {"meta", "bookings_cursor"}
        carried = await store.booking_revisions(3)
        assert carried[41] == BookingRevision("41:2026-11-30 10:00:00")
        await store.retain_booking_revisions(3, [41])  # property 3 lists 41, not 42
        assert sorted(await store.booking_revisions(3)) == [41, 42]  # 42: still unclaimed
        await store.retain_booking_revisions(4, [42])
        assert sorted(await store.booking_revisions(4)) == [42]
        await store.retain_booking_revisions(3, [])
        assert sorted(await store.booking_revisions(3)) == []
        assert sorted(await store.booking_revisions(4)) == [42]
    finally:
        await store.close()
