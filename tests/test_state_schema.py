"""The state schema: statements name their columns (a migration may add one to any table), and
a database left at every earlier schema version upgrades to the latest with its data kept."""

from __future__ import annotations

import json
import re
import sqlite3
from datetime import date
from pathlib import Path

import pytest

import worker.state
from tests.state_support import (
    NOW,
    Recorder,
    fixed_clock,
    overview,
    populate,
    property_view,
    store_queries,
)
from worker.state import DB_NAME, MIGRATIONS, BookingRevision, RoomsSynced, StateStore

STATE_SOURCES = sorted(Path(worker.state.__file__).parent.glob("*.py"))


def _statements_in(path: Path) -> str:
    """The module's text with string pieces joined, so split SQL reads as one statement."""
    return re.sub(r'"\s*\n\s*(?:f?")', "", path.read_text())


@pytest.mark.parametrize("path", STATE_SOURCES, ids=lambda p: p.name)
def test_no_statement_relies_on_column_order(path: Path) -> None:
    """No ``SELECT *`` and no ``INSERT ... VALUES`` without a column list in the store."""
    text = _statements_in(path)
    assert not re.search(r"SELECT\s+\*", text), path.name
    assert not re.search(r"INSERT\s+(?:OR\s+\w+\s+)?INTO\s+\w+\s+(?:VALUES|SELECT)", text), (
        path.name
    )


def _add_a_column_to_every_table(db_path: Path) -> list[str]:
    with sqlite3.connect(db_path) as conn:
        tables = [
            str(row[0])
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        ]
        for table in tables:
            conn.execute(f"ALTER TABLE {table} ADD COLUMN added_later TEXT DEFAULT 'x'")
    conn.close()
    return tables


async def _written_and_read(state_dir: Path, *, add_column: bool) -> dict[str, object]:
    store = await StateStore.open(state_dir, clock=fixed_clock())
    if add_column:
        await store.close()
        assert len(_add_a_column_to_every_table(state_dir / DB_NAME)) >= len(MIGRATIONS)
        store = await StateStore.open(state_dir, clock=fixed_clock())
    try:
        await populate(store, "1001", 7)
        return {**await property_view(store, "1001", 7), **await overview(store)}
    finally:
        await store.close()


async def test_every_query_survives_a_column_added_to_every_table(tmp_path: Path) -> None:
    """With one more column in every table, every writer and reader gives the same results."""
    plain = await _written_and_read(tmp_path / "plain", add_column=False)
    widened = await _written_and_read(tmp_path / "widened", add_column=True)
    assert widened == plain
    assert plain["rooms"] == {"A": 70}  # the comparison is of real data, not of empty views


async def test_the_column_test_calls_every_query(tmp_path: Path) -> None:
    """``populate``, ``property_view`` and ``overview`` between them call every store query."""
    store = await StateStore.open(tmp_path, clock=fixed_clock())
    recorder = Recorder(store)
    try:
        await populate(recorder.as_store(), "1001", 7)
        await property_view(recorder.as_store(), "1001", 7)
        await overview(recorder.as_store())
    finally:
        await store.close()
    assert store_queries() - recorder.called == set()


# -- upgrades from every earlier version --------------------------------------------------

PUSH_RECORD = '{"fields": {}, "last_night": "2026-12-05", "reported": null}'

# The rows an operator's database could hold once migration N (the key) was applied, written with
# that version's columns. Meta keys (gone in 7) are those each job of the time chose.
SEEDS = {
    1: """
    INSERT INTO properties (remote_uid, property_uid, status, created_at)
        VALUES ('1001', 7, 'published', '2026-12-01T09:30:00+00:00');
    INSERT INTO rooms (property_uid, remote_id, room_uid) VALUES (7, 'A', 70);
    INSERT INTO pushed_cells (property_uid, night, price, minstay)
        VALUES (7, '2026-12-01', '120.50', 2);
    INSERT INTO closures (property_uid, closure_id, contract_id, date_from, date_to, room_uids)
        VALUES (7, 'maint', 555, '2026-12-10', '2026-12-12', '[70]');
    INSERT INTO reservations (remote_id, property_uid, status, booking_ids, message, updated_at)
        VALUES ('OTA-1', 7, 'pushed', '[41]', NULL, '2026-12-01T09:30:00+00:00'),
               ('OTA-2', 7, 'failed', '[]', 'refused', '2026-12-01T09:30:00+00:00');
    INSERT INTO bookings_cursor (property_uid, last_modified) VALUES (7, '2026-11-30 10:00:00');
    INSERT INTO meta (key, value) VALUES
        ('ari.reconciled:7', '2026-12-01'), ('base_price:7', '1'),
        ('rooms.synced:7', '2026-12-01 fp7'), ('bookings.event:7', '12'),
        ('bookings.read:7', '2026-12-01'),
        ('reservation.pushed:OTA-1',
            '{"fields": {}, "last_night": "2026-12-05", "reported": null}'),
        ('reservation.rejected:OTA-2', 'digest-2'), ('booking.revision:41', '41:r1'),
        ('ari.reconciled:8', '2026-11-30');
    """,
    2: "UPDATE reservations SET site_id = '9001' WHERE remote_id = 'OTA-1';"
    "UPDATE rooms SET sent = 'sent-A';",
    3: """INSERT INTO content (property_uid, part, value) VALUES (7, 'texts', '{"a": 1}');""",
    4: "INSERT INTO booking_revisions (booking_id, property_uid, delivered, parked, reason) "
    "VALUES (42, 7, '42:r1', '42:r2', 'unexpected shape');",
    5: "INSERT INTO job_outcomes (property_uid, job, ok_at) VALUES (7, 'ari', '2026-12-01');",
    6: "INSERT INTO webhook_outbox (revision, property_uid, body, status, queued_at, since, "
    "next_at) VALUES ('42:r1', 7, X'7b7d', 'pending', 1.0, 1.0, 1.0);",
    7: "UPDATE property_state SET bookings_read_on = '2026-12-01' WHERE property_uid = 7;",
}


def _database_at(state_dir: Path, version: int) -> None:
    """A database as a worker of schema ``version`` left it, with that version's rows."""
    state_dir.mkdir()
    with sqlite3.connect(state_dir / DB_NAME) as conn:
        conn.execute("CREATE TABLE schema_version (version INTEGER NOT NULL)")
        for number, script in enumerate(MIGRATIONS[:version], start=1):
            conn.executescript(script)
            conn.executescript(SEEDS.get(number, ""))
            conn.execute("INSERT INTO schema_version (version) VALUES (?)", (number,))
    conn.close()


def test_every_earlier_version_has_seed_rows() -> None:
    """Each migration but the newest has rows written at its version (so each is tested)."""
    assert set(SEEDS) == set(range(1, len(MIGRATIONS)))


@pytest.mark.parametrize("version", range(1, len(MIGRATIONS)))
async def test_an_earlier_database_upgrades_with_its_data(tmp_path: Path, version: int) -> None:
    """Opening a database of each earlier version migrates it to the latest and keeps its data:
    the meta keys become typed per-property and per-reservation state."""
    _database_at(tmp_path / "state", version)
    store = await StateStore.open(tmp_path / "state", clock=fixed_clock())
    try:
        assert await store.schema_version() == len(MIGRATIONS)
        await _check_kept(store, version)
    finally:
        await store.close()
    with sqlite3.connect(tmp_path / "state" / DB_NAME) as conn:
        tables = {str(row[0]) for row in conn.execute("SELECT name FROM sqlite_master")}
    conn.close()
    assert not tables & {"meta", "bookings_cursor"}


async def _check_kept(store: StateStore, version: int) -> None:
    prop = await store.get_property("1001")
    assert prop is not None
    assert (prop.property_uid, prop.status, prop.created_at) == (7, "published", NOW)
    assert await store.get_rooms(7) == {"A": 70}
    assert await store.get_room_digests(7) == ({"A": "sent-A"} if version >= 2 else {})
    assert [str(cell.price) for cell in (await store.get_pushed(7)).values()] == ["120.50"]
    assert (await store.get_closures(7))["maint"].contract_id == 555
    assert await store.reconciled_on(7) == date(2026, 12, 1)
    assert await store.reconciled_on(8) == date(2026, 11, 30)
    assert await store.has_base_price(7)
    assert not await store.has_base_price(8)
    assert await store.rooms_synced(7) == RoomsSynced(date(2026, 12, 1), "fp7")
    assert tuple(await store.bookings_read(7)) == (12, date(2026, 12, 1))
    await _check_reservations(store, version)
    revisions = await store.booking_revisions(7)
    assert revisions[41] == BookingRevision("41:r1")
    if version >= 4:
        assert revisions[42] == BookingRevision("42:r1", "42:r2", "unexpected shape")
    assert await store.get_content(7) == ({"texts": {"a": 1}} if version >= 3 else {})
    assert bool(await store.job_outcomes(7)) == (version >= 5)
    assert (await store.outbox_counts()).pending == (1 if version >= 6 else 0)


async def _check_reservations(store: StateStore, version: int) -> None:
    pushed, refused = await store.get_reservation("OTA-1"), await store.get_reservation("OTA-2")
    assert pushed is not None
    assert refused is not None
    assert (pushed.status, pushed.booking_ids) == ("pushed", (41,))
    assert pushed.site_id == ("9001" if version >= 2 else None)
    assert pushed.push_record is not None
    assert json.loads(pushed.push_record) == json.loads(PUSH_RECORD)
    assert (refused.status, refused.rejected_digest) == ("failed", "digest-2")
    assert refused.push_record is None
