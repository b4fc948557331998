"""The durable state store: round trips, private files, schema versions, corruption, intents."""

from __future__ import annotations

import os
import signal
import sqlite3
import stat
import subprocess
import sys
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.security.unwritable import read_only_directory
from worker.errors import ConfigError, StateLocked, StateUnwritable
from worker.lock import LOCK_FILE, StateDirLock
from worker.state import (
    DB_NAME,
    MIGRATIONS,
    ClosureRecord,
    PushedCell,
    RoomsSynced,
    StateCorrupt,
    StateStore,
)
from worker.state.store import WAL_LIMIT_BYTES
from worker.testing import FakeClock

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def clock() -> FakeClock:
    """A clock whose wall reads ``NOW`` (it moves only when advanced)."""
    return FakeClock(wall_start=NOW.timestamp())


@pytest.fixture
async def store(tmp_path: Path) -> AsyncIterator[StateStore]:
    opened = await StateStore.open(tmp_path / "state", clock=clock())
    yield opened
    await opened.close()


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_files_are_private(tmp_path: Path, store: StateStore) -> None:
    """The state dir is 0700 and the database and its WAL files 0600."""
    await store.record_property_intent("1001")
    state_dir = tmp_path / "state"
    assert mode(state_dir) == 0o700
    for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
        assert mode(state_dir / name) == 0o600, name


async def test_property_lifecycle_round_trip(store: StateStore) -> None:
    """intent → created → published, with created_at from the injected clock."""
    await store.record_property_intent("1001")
    intent = await store.get_property("1001")
    assert intent is not None
    assert (intent.property_uid, intent.status, intent.created_at) == (None, "intent", NOW)
    await store.record_property_published("1001")  # no uid yet: stays an intent
    assert [p.remote_uid for p in await store.list_properties("intent")] == ["1001"]
    await store.record_property_created("1001", 7)
    await store.record_property_published("1001")
    await store.record_property_intent("1001")  # a repeated intent does not regress
    await store.record_property_created("1001", 7)  # nor does a reconciliation
    published = await store.get_property("1001")
    assert published is not None
    assert (published.property_uid, published.status) == (7, "published")
    assert await store.get_property("nope") is None


async def test_rooms_and_closures_round_trip(store: StateStore) -> None:
    """Room maps and closures (with and without a contract id) read back as written."""
    await store.record_room(7, "1001-A", 70)
    await store.record_room(7, "1001-B", 71)
    await store.forget_room(7, "1001-B")
    assert await store.get_rooms(7) == {"1001-A": 70}
    intent = ClosureRecord("maint-1", None, date(2027, 1, 10), date(2027, 1, 12), (70,))
    await store.record_closure(7, intent)
    assert await store.get_closures(7) == {"maint-1": intent}
    created = ClosureRecord("maint-1", 555, date(2027, 1, 10), date(2027, 1, 12), (70,))
    await store.record_closure(7, created)
    assert await store.get_closures(7) == {"maint-1": created}
    await store.forget_closure(7, "maint-1")
    assert await store.get_closures(7) == {}


async def test_pushed_cells_round_trip_a_year(store: StateStore) -> None:
    """365 nights are written and read back exactly, Decimals included."""
    start = date(2026, 12, 1)
    cells = {
        start + timedelta(days=i): PushedCell(Decimal("120.50"), 1 + i % 3) for i in range(365)
    }
    await store.record_pushed(7, cells)
    assert await store.get_pushed(7) == cells
    assert await store.get_pushed(8) == {}
    await store.forget_pushed(7, before=start + timedelta(days=10))
    assert min(await store.get_pushed(7)) == start + timedelta(days=10)
    await store.forget_pushed(7)
    assert await store.get_pushed(7) == {}


async def test_the_write_ahead_log_stays_short(tmp_path: Path, store: StateStore) -> None:
    """Many commits later the WAL file is still within ``WAL_LIMIT_BYTES`` (SQLite's defaults
    let it grow to 4 MB per site), and every write is still there."""
    start = date(2026, 12, 1)
    for round_ in range(120):
        price = Decimal(100 + round_)
        cells = {start + timedelta(days=i): PushedCell(price, 1) for i in range(365)}
        await store.record_pushed(round_ % 10, cells)
    wal = tmp_path / "state" / f"{DB_NAME}-wal"
    assert wal.stat().st_size <= WAL_LIMIT_BYTES
    assert (await store.get_pushed(9))[start].price == Decimal(219)


async def test_record_pushed_is_one_transaction(store: StateStore) -> None:
    """When one cell of a batch cannot be stored, none of the batch is."""
    good = {date(2026, 12, 1): PushedCell(Decimal("1.00"), 1)}
    await store.record_pushed(7, good)
    batch = {
        date(2026, 12, 2): PushedCell(Decimal("2.00"), 2),
        date(2026, 12, 3): PushedCell(Decimal("3.00"), None),  # type: ignore[arg-type]
    }
    with pytest.raises(sqlite3.IntegrityError):
        await store.record_pushed(7, batch)
    assert await store.get_pushed(7) == good
    await store.record_room(7, "after", 70)  # the store is usable afterwards
    assert await store.get_rooms(7) == {"after": 70}


async def test_reservations_round_trip(store: StateStore) -> None:
    """Reservation outcomes, the refused content and what was pushed read back as written."""
    await store.record_reservation("OTA-1", 7, "intent")
    await store.record_reservation("OTA-2", 7, "pushed", booking_ids=(41, 42))
    await store.record_reservation("OTA-3", 7, "failed", message="guest name not set")
    pushed = await store.get_reservation("OTA-2")
    assert pushed is not None
    assert (pushed.booking_ids, pushed.updated_at) == ((41, 42), NOW)
    failed = await store.list_reservations("failed", "cancel_intent")
    assert [(r.remote_id, r.message) for r in failed] == [("OTA-3", "guest name not set")]
    await store.record_reservation("OTA-3", 7, "failed", message="again", rejected_digest="d1")
    await store.record_reservation("OTA-3", 7, "failed", message="still")  # digest kept
    await store.remember_push("OTA-2", '{"fields": {}}')
    await store.record_reservation("OTA-2", 7, "cancel_intent", booking_ids=(41, 42))
    refused, cancelling = await store.get_reservation("OTA-3"), await store.get_reservation("OTA-2")
    assert refused is not None
    assert cancelling is not None
    assert (refused.rejected_digest, refused.push_record) == ("d1", None)
    assert (cancelling.push_record, cancelling.rejected_digest) == ('{"fields": {}}', None)


async def test_per_property_progress_round_trip(store: StateStore) -> None:
    """Reconciled day, base price, rooms synced and bookings read are typed and per property."""
    assert await store.reconciled_on(7) is None
    assert not await store.has_base_price(7)
    assert await store.rooms_synced(7) is None
    assert tuple(await store.bookings_read(7)) == (0, None)
    await store.mark_reconciled(7, date(2026, 12, 1))
    await store.mark_base_price(7)
    await store.mark_rooms_synced(7, date(2026, 12, 1), "fp")
    await store.mark_bookings_read(7, 12, date(2026, 12, 1))
    await store.mark_reconciled(7, date(2026, 12, 2))  # one column written, the others kept
    assert await store.reconciled_on(7) == date(2026, 12, 2)
    assert await store.has_base_price(7)
    assert await store.rooms_synced(7) == RoomsSynced(date(2026, 12, 1), "fp")
    assert tuple(await store.bookings_read(7)) == (12, date(2026, 12, 1))
    assert (await store.reconciled_on(8), await store.has_base_price(8)) == (None, False)


async def test_intents_survive_reopen(tmp_path: Path) -> None:
    """What was committed before a crash is there after a restart."""
    first = await StateStore.open(tmp_path, clock=clock())
    await first.record_property_intent("1001")
    await first.record_reservation("OTA-1", 7, "cancel_intent")
    await first.close()
    second = await StateStore.open(tmp_path, clock=clock())
    assert [p.remote_uid for p in await second.list_properties("intent")] == ["1001"]
    assert [r.remote_id for r in await second.list_reservations("cancel_intent")] == ["OTA-1"]
    await second.close()


async def test_schema_version_is_recorded(store: StateStore) -> None:
    """A new database is at the latest schema version."""
    assert await store.schema_version() == len(MIGRATIONS)


async def test_newer_schema_is_refused(tmp_path: Path) -> None:
    """A database written by a newer worker is not touched: ConfigError naming the path."""
    store = await StateStore.open(tmp_path)
    await store.close()
    with sqlite3.connect(tmp_path / DB_NAME) as conn:
        conn.execute("INSERT INTO schema_version VALUES (?)", (len(MIGRATIONS) + 1,))
    conn.close()
    with pytest.raises(ConfigError, match="newer than this worker"):
        await StateStore.open(tmp_path)


async def test_corrupt_database_is_a_clear_error(tmp_path: Path) -> None:
    """Garbage in state.db gives StateCorrupt (a ConfigError) naming the file."""
    (tmp_path / DB_NAME).write_bytes(b"not a database" * 512)
    with pytest.raises(StateCorrupt, match=str(tmp_path / DB_NAME)):
        await StateStore.open(tmp_path)


async def test_corrupt_database_can_be_rebuilt(tmp_path: Path) -> None:
    """on_corrupt='rebuild' moves the file aside, logs state.rebuilt and starts empty."""
    garbage = b"not a database" * 512
    (tmp_path / DB_NAME).write_bytes(garbage)
    with capture_logs() as logs:
        store = await StateStore.open(tmp_path, on_corrupt="rebuild", clock=clock())
    moved = tmp_path / f"{DB_NAME}.corrupt-20261201T093000Z"
    assert moved.read_bytes() == garbage
    assert [entry["event"] for entry in logs] == ["state.rebuilt"]
    assert await store.list_properties() == []
    await store.close()


async def test_close_is_idempotent_and_final(tmp_path: Path) -> None:
    """close() twice is fine; using a closed store is a clear error."""
    store = await StateStore.open(tmp_path)
    await store.close()
    await store.close()
    with pytest.raises(RuntimeError, match="closed"):
        await store.get_property("k")


# -- the state directory: one daemon, and writable ------------------------------------------


def test_the_lock_is_exclusive_and_names_its_holder(tmp_path: Path) -> None:
    """A second acquire on a held state directory is StateLocked with the holder's pid."""
    with StateDirLock.acquire(tmp_path / "state") as held:
        assert held.held
        with pytest.raises(StateLocked, match=f"pid {os.getpid()}") as caught:
            StateDirLock.acquire(tmp_path / "state")
        assert caught.value.holder_pid == os.getpid()
        assert isinstance(caught.value, ConfigError)
    assert not held.held
    StateDirLock.acquire(tmp_path / "state").release()
    assert (tmp_path / "state" / LOCK_FILE).read_text().strip() == str(os.getpid())


def test_the_lock_dies_with_its_holder(tmp_path: Path) -> None:
    """A SIGKILLed daemon leaves no stale lock: flock is dropped by the kernel."""
    command = [sys.executable, "-c", HOLD_LOCK, str(tmp_path / "state")]
    with subprocess.Popen(command, stdout=subprocess.PIPE, text=True) as holder:  # noqa: S603
        assert holder.stdout is not None
        assert holder.stdout.readline().strip() == "held"
        with pytest.raises(StateLocked) as caught:
            StateDirLock.acquire(tmp_path / "state")
        assert caught.value.holder_pid == holder.pid
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    StateDirLock.acquire(tmp_path / "state").release()


HOLD_LOCK = """
import sys, time
from pathlib import Path
from worker.lock import StateDirLock
lock = StateDirLock.acquire(Path(sys.argv[1]))
print("held", flush=True)
time.sleep(60)
"""


async def test_a_state_dir_that_cannot_be_created_is_unwritable(tmp_path: Path) -> None:
    """A state directory below a regular file is a one-line StateUnwritable, not a traceback."""
    (tmp_path / "file").write_text("")
    with pytest.raises(StateUnwritable, match="cannot be created"):
        await StateStore.open(tmp_path / "file" / "state")
    with pytest.raises(StateUnwritable):
        StateDirLock.acquire(tmp_path / "file" / "state")


async def test_a_read_only_state_dir_is_unwritable(tmp_path: Path) -> None:
    """A read-only state directory holding a database is StateUnwritable (exit 78), not corrupt."""
    state_dir = tmp_path / "state"
    await (await StateStore.open(state_dir)).close()
    with read_only_directory(state_dir):
        with pytest.raises(StateUnwritable, match="not writable"):
            await StateStore.open(state_dir)
        with pytest.raises(StateUnwritable):
            StateDirLock.acquire(state_dir)
