"""Durable state in SQLite (``<BOOKYFLOW_STATE_DIR>/state.db``): what the worker has done.

It keeps the maps from the vendor's ids to BookyFlow's (properties, rooms), what was last pushed
per property and night (so only changes are sent), closures created, reservation intents and
outcomes, the last revision handled per site booking and a small key/value ``meta`` table.

Crash safety is by intent records: before a write that must not be repeated (create a property,
push or cancel a reservation) the job records an ``intent`` here, and every write commits with
``synchronous=FULL`` before ``await`` returns. After a crash an intent is resolved from the server
(``properties/ids``, ``booking/link``) instead of being sent again. The server stays the fallback
truth: a lost state directory costs a reconciliation, never a duplicate.

Files are private: the directory is created 0700, the database 0600 (SQLite gives its ``-wal`` and
``-shm`` files the database's mode). A newer schema is refused; a corrupt file is either an error
naming the path or, with ``on_corrupt="rebuild"``, moved aside and started afresh.
"""

from __future__ import annotations

import asyncio
import json
import os
import sqlite3
from collections.abc import AsyncIterator, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal

import aiosqlite

from worker.errors import ConfigError, StateUnwritable
from worker.lock import prepare_state_dir
from worker.logging import get_logger

__all__ = [
    "DB_NAME",
    "MIGRATIONS",
    "BookingRevision",
    "ClosureRecord",
    "DeadLetter",
    "OutboxCounts",
    "OutboxEntry",
    "PropertyRecord",
    "PushedCell",
    "ReservationRecord",
    "StateCorrupt",
    "StateStore",
]

log = get_logger("worker.state")
DB_NAME = "state.db"
PropertyStatus = Literal["intent", "created", "published"]
ReservationStatus = Literal["intent", "pushed", "cancel_intent", "cancelled", "failed"]
OnCorrupt = Literal["fail", "rebuild"]

# Append only: the schema version is the number of migrations applied.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE properties (
        remote_uid TEXT PRIMARY KEY,
        property_uid INTEGER UNIQUE,
        status TEXT NOT NULL CHECK (status IN ('intent', 'created', 'published')),
        created_at TEXT NOT NULL
    );
    CREATE TABLE rooms (
        property_uid INTEGER NOT NULL,
        remote_id TEXT NOT NULL,
        room_uid INTEGER NOT NULL,
        PRIMARY KEY (property_uid, remote_id)
    );
    CREATE TABLE pushed_cells (
        property_uid INTEGER NOT NULL,
        night TEXT NOT NULL,
        price TEXT NOT NULL,
        minstay INTEGER NOT NULL,
        PRIMARY KEY (property_uid, night)
    ) WITHOUT ROWID;
    CREATE TABLE closures (
        property_uid INTEGER NOT NULL,
        closure_id TEXT NOT NULL,
        contract_id INTEGER,
        date_from TEXT NOT NULL,
        date_to TEXT NOT NULL,
        room_uids TEXT NOT NULL,
        PRIMARY KEY (property_uid, closure_id)
    );
    CREATE TABLE reservations (
        remote_id TEXT PRIMARY KEY,
        property_uid INTEGER NOT NULL,
        status TEXT NOT NULL
            CHECK (status IN ('intent', 'pushed', 'cancel_intent', 'cancelled', 'failed')),
        booking_ids TEXT NOT NULL,
        message TEXT,
        updated_at TEXT NOT NULL
    );
    CREATE INDEX reservations_by_status ON reservations (status);
    CREATE TABLE bookings_cursor (property_uid INTEGER PRIMARY KEY, last_modified TEXT NOT NULL);
    CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    """,
    # 2: the numeric remote id a reservation is pushed under (NULL: pushed under its OTA id by
    # an earlier version), and a digest of what was last sent for each room.
    """
    ALTER TABLE reservations ADD COLUMN site_id TEXT;
    ALTER TABLE rooms ADD COLUMN sent TEXT;
    """,
    # 3: what was last sent of each content part of a property (and what became of it), the
    # images it sent, and its last review: one JSON value per (property, part).
    """
    CREATE TABLE content (
        property_uid INTEGER NOT NULL,
        part TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (property_uid, part)
    );
    """,
    # 4: the last revision handled per site booking (``BookingRevision``), replacing the
    # ``booking.revision:<id>`` meta keys (carried over, property unknown until the next pull)
    # and the per-property cursor, which skipped a booking stamped before it.
    """
    CREATE TABLE booking_revisions (
        booking_id INTEGER PRIMARY KEY,
        property_uid INTEGER,
        delivered TEXT,
        parked TEXT,
        reason TEXT
    );
    CREATE INDEX booking_revisions_by_property ON booking_revisions (property_uid);
    INSERT OR IGNORE INTO booking_revisions (booking_id, property_uid, delivered)
        SELECT CAST(substr(key, 18) AS INTEGER), NULL, value FROM meta
        WHERE key LIKE 'booking.revision:%';
    DELETE FROM meta WHERE key LIKE 'booking.revision:%';
    DELETE FROM bookings_cursor;
    """,
    # 5: per property and job, when its work last succeeded and its last error (``status``).
    """
    CREATE TABLE job_outcomes (
        property_uid INTEGER NOT NULL,
        job TEXT NOT NULL,
        ok_at TEXT,
        error TEXT,
        error_at TEXT,
        PRIMARY KEY (property_uid, job)
    );
    """,
    # 6: the webhook sink's outbox: each booking revision committed here in the transaction that
    # marks it handled, deleted once the vendor answered 2xx; 'dead' rows wait for a re-drive.
    # Times are UNIX seconds on the sink's wall clock; ``since`` (queued or re-driven) ages it.
    """
    CREATE TABLE webhook_outbox (
        id INTEGER PRIMARY KEY,
        revision TEXT NOT NULL UNIQUE,
        property_uid INTEGER,
        body BLOB NOT NULL,
        status TEXT NOT NULL CHECK (status IN ('pending', 'dead')),
        queued_at REAL NOT NULL,
        since REAL NOT NULL,
        next_at REAL NOT NULL,
        attempts INTEGER NOT NULL DEFAULT 0,
        last_error TEXT,
        dead_at REAL
    );
    CREATE INDEX webhook_outbox_due ON webhook_outbox (status, next_at);
    """,
)


@dataclass(frozen=True)
class PropertyRecord:
    """A property this worker creates; ``property_uid`` is None while only the intent exists."""

    remote_uid: str
    property_uid: int | None
    status: PropertyStatus
    created_at: datetime


@dataclass(frozen=True, slots=True)
class PushedCell:
    """The price and minimum stay last pushed for one night."""

    price: Decimal
    minstay: int


@dataclass(frozen=True)
class ClosureRecord:
    """A closure (black booking); ``contract_id`` is None while only the intent exists."""

    closure_id: str
    contract_id: int | None
    date_from: date
    date_to: date
    room_uids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class BookingRevision:
    """What became of one site booking: the last revision delivered (None: none yet) and a
    later revision parked because it could not be read (None: none), with the reason."""

    delivered: str | None = None
    parked: str | None = None
    reason: str | None = None


@dataclass(frozen=True)
class ReservationRecord:
    """Where pushing (or cancelling) one OTA reservation stands.

    ``remote_id`` is the OTA's id; ``site_id`` the remote id the site knows it by (see
    ``worker.sync.reservation_plan``), or None when nothing was sent under a known id yet.
    """

    remote_id: str
    property_uid: int
    status: ReservationStatus
    booking_ids: tuple[int, ...]
    message: str | None
    updated_at: datetime
    site_id: str | None = None


@dataclass(frozen=True)
class JobOutcome:
    """When a job last did a property's work without error, and its last error (ISO UTC)."""

    ok_at: str | None
    error: str | None
    error_at: str | None


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


class StateCorrupt(ConfigError):
    """The state database cannot be read; the message names the file."""


def _utcnow() -> datetime:
    return datetime.now(UTC)


def _prepare_files(db_path: Path) -> None:
    """State dir 0700 (when we create it) and a 0600 database file before SQLite opens it.

    A directory or database that cannot be written is a ``StateUnwritable`` (exit 78, one
    line): SQLite would otherwise fail later with a misleading "unable to open" or "readonly
    database" error, or a traceback (issue 11).
    """
    prepare_state_dir(db_path.parent)
    try:
        os.close(os.open(db_path, os.O_CREAT | os.O_RDWR | os.O_CLOEXEC, 0o600))
        os.chmod(db_path, 0o600)
    except OSError as exc:
        reason = exc.strerror or type(exc).__name__
        raise StateUnwritable(f"state database {db_path} cannot be written: {reason}") from None


def _unwritable(exc: sqlite3.DatabaseError) -> bool:
    """SQLite's words for a file or directory it may not write: not corruption, not rebuilt."""
    text = str(exc).lower()
    return isinstance(exc, sqlite3.OperationalError) and (
        "readonly" in text or "unable to open" in text or "disk i/o error" in text
    )


def _move_aside(db_path: Path, now: datetime) -> Path:
    target = db_path.with_name(f"{db_path.name}.corrupt-{now.strftime('%Y%m%dT%H%M%SZ')}")
    db_path.rename(target)
    for suffix in ("-wal", "-shm"):
        db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
    return target


async def _migrate(conn: aiosqlite.Connection, db_path: Path) -> None:
    await conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    async with conn.execute("SELECT COALESCE(MAX(version), 0) FROM schema_version") as cursor:
        row = await cursor.fetchone()
    current = int(row[0]) if row else 0
    if current > len(MIGRATIONS):
        raise ConfigError(
            f"state database {db_path} has schema version {current}, newer than this worker "
            f"understands ({len(MIGRATIONS)}); upgrade the worker or use another state dir"
        )
    for version in range(current + 1, len(MIGRATIONS) + 1):
        script = MIGRATIONS[version - 1]
        await conn.executescript(
            f"BEGIN IMMEDIATE;\n{script}\n"
            f"INSERT INTO schema_version (version) VALUES ({version});\nCOMMIT;"
        )


async def _connect(db_path: Path) -> aiosqlite.Connection:
    conn = await aiosqlite.connect(db_path, isolation_level=None)
    try:
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute("PRAGMA synchronous=FULL")
        async with conn.execute("PRAGMA quick_check") as cursor:
            verdict = [str(row[0]) for row in await cursor.fetchall()]
        if verdict != ["ok"]:
            raise sqlite3.DatabaseError("; ".join(verdict[:3]))
        await _migrate(conn, db_path)
    except BaseException:
        if conn.in_transaction:
            await conn.execute("ROLLBACK")
        await conn.close()
        raise
    return conn


class StateStore:
    """The worker's durable memory. Open with ``await StateStore.open(state_dir)``.

    Every write runs in its own transaction and is committed before the call returns, so a job
    may rely on it when it goes on to the HTTP write. Writes are serialised by a lock: the
    connection is shared by every job of the process.
    """

    def __init__(
        self, conn: aiosqlite.Connection, path: Path, utcnow: Callable[[], datetime]
    ) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = conn
        self._utcnow = utcnow
        self._write_lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"StateStore({str(self.path)!r})"

    @classmethod
    async def open(
        cls,
        state_dir: Path,
        *,
        on_corrupt: OnCorrupt = "fail",
        utcnow: Callable[[], datetime] = _utcnow,
    ) -> StateStore:
        """Open (creating, migrating) ``state_dir/state.db``; see the module docstring."""
        db_path = Path(state_dir) / DB_NAME
        await asyncio.to_thread(_prepare_files, db_path)
        try:
            conn = await _connect(db_path)
        except sqlite3.DatabaseError as exc:
            if _unwritable(exc):
                message = f"state database {db_path} cannot be written: {exc}"
                raise StateUnwritable(message) from None
            if on_corrupt != "rebuild":
                raise StateCorrupt(
                    f"state database {db_path} is unreadable ({exc}); move it aside or "
                    "start with on_corrupt='rebuild' to rebuild it from the server"
                ) from None
            moved = await asyncio.to_thread(_move_aside, db_path, utcnow())
            log.warning("state.rebuilt", path=str(db_path), moved_to=str(moved), reason=str(exc))
            await asyncio.to_thread(_prepare_files, db_path)
            conn = await _connect(db_path)
        return cls(conn, db_path, utcnow)

    async def close(self) -> None:
        """Close the database; safe to call more than once."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def schema_version(self) -> int:
        row = await self._one("SELECT MAX(version) FROM schema_version")
        return int(row[0]) if row else 0

    # -- properties -------------------------------------------------------------------------

    async def record_property_intent(self, remote_uid: str) -> None:
        """Before ``POST /cmf/property``: remember that a create may be in flight."""
        sql = "INSERT OR IGNORE INTO properties VALUES (?, NULL, 'intent', ?)"
        await self._write(sql, (remote_uid, self._now()))

    async def record_property_created(self, remote_uid: str, property_uid: int) -> None:
        """The server has the property (created now, or found by ``properties/ids``)."""
        sql = (
            "INSERT INTO properties VALUES (?, ?, 'created', ?) ON CONFLICT (remote_uid) DO "
            "UPDATE SET property_uid = excluded.property_uid, status = CASE "
            "WHEN status = 'published' AND property_uid = excluded.property_uid "
            "THEN 'published' ELSE 'created' END"
        )
        await self._write(sql, (remote_uid, property_uid, self._now()))

    async def record_property_published(self, remote_uid: str) -> None:
        sql = (
            "UPDATE properties SET status = 'published' WHERE remote_uid = ? AND status != 'intent'"
        )
        await self._write(sql, (remote_uid,))

    async def record_property_unpublished(self, remote_uid: str) -> None:
        sql = (
            "UPDATE properties SET status = 'created' WHERE remote_uid = ? AND status = 'published'"
        )
        await self._write(sql, (remote_uid,))

    async def get_property(self, remote_uid: str) -> PropertyRecord | None:
        row = await self._one("SELECT * FROM properties WHERE remote_uid = ?", (remote_uid,))
        return _property(row) if row else None

    async def list_properties(self, status: PropertyStatus | None = None) -> list[PropertyRecord]:
        where, args = ("WHERE status = ?", (status,)) if status else ("", ())
        rows = await self._all(f"SELECT * FROM properties {where} ORDER BY remote_uid", args)  # noqa: S608 - fixed text
        return [_property(row) for row in rows]

    async def forget_property(self, remote_uid: str) -> None:
        """Drop a property and everything known about it (after pruning, or a lost property)."""
        async with self._transaction() as conn:
            row = await self._one(
                "SELECT property_uid FROM properties WHERE remote_uid = ?", (remote_uid,)
            )
            await conn.execute("DELETE FROM properties WHERE remote_uid = ?", (remote_uid,))
            if row and row[0] is not None:
                for table in (
                    "content",
                    "job_outcomes",
                    "rooms",
                    "pushed_cells",
                    "closures",
                    "reservations",
                    "bookings_cursor",
                    "booking_revisions",
                ):
                    await conn.execute(f"DELETE FROM {table} WHERE property_uid = ?", (row[0],))  # noqa: S608 - fixed names

    # -- rooms ------------------------------------------------------------------------------

    async def get_rooms(self, property_uid: int) -> dict[str, int]:
        """The vendor's room ``remote_id`` → BookyFlow ``room_uid``."""
        rows = await self._all(
            "SELECT remote_id, room_uid FROM rooms WHERE property_uid = ?", (property_uid,)
        )
        return {str(row[0]): int(row[1]) for row in rows}

    async def record_room(
        self, property_uid: int, remote_id: str, room_uid: int, *, sent: str | None = None
    ) -> None:
        """Map a vendor room to its ``room_uid``; ``sent`` digests what was last sent for it."""
        sql = (
            "INSERT INTO rooms (property_uid, remote_id, room_uid, sent) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (property_uid, remote_id) DO UPDATE SET room_uid = excluded.room_uid, "
            "sent = COALESCE(excluded.sent, CASE WHEN room_uid = excluded.room_uid "
            "THEN sent END)"
        )
        await self._write(sql, (property_uid, remote_id, room_uid, sent))

    async def get_room_digests(self, property_uid: int) -> dict[str, str]:
        """The vendor room ``remote_id`` → digest of what was last sent for it (when known)."""
        rows = await self._all(
            "SELECT remote_id, sent FROM rooms WHERE property_uid = ? AND sent IS NOT NULL",
            (property_uid,),
        )
        return {str(row[0]): str(row[1]) for row in rows}

    async def forget_room(self, property_uid: int, remote_id: str) -> None:
        sql = "DELETE FROM rooms WHERE property_uid = ? AND remote_id = ?"
        await self._write(sql, (property_uid, remote_id))

    # -- prices and minimum stays -----------------------------------------------------------

    async def get_pushed(self, property_uid: int) -> dict[date, PushedCell]:
        rows = await self._all(
            "SELECT night, price, minstay FROM pushed_cells WHERE property_uid = ?", (property_uid,)
        )
        # A year of nights holds a few dozen distinct cells: parse each one once and share it.
        shared: dict[tuple[str, int], PushedCell] = {}
        cells: dict[date, PushedCell] = {}
        for night, price, minstay in rows:
            cell = shared.get((price, minstay))
            if cell is None:
                cell = shared[(price, minstay)] = PushedCell(Decimal(price), int(minstay))
            cells[date.fromisoformat(night)] = cell
        return cells

    async def record_pushed(self, property_uid: int, cells: Mapping[date, PushedCell]) -> None:
        """Remember what was just pushed; a year of nights is one transaction."""
        rows = [(property_uid, d.isoformat(), str(c.price), c.minstay) for d, c in cells.items()]
        async with self._transaction() as conn:
            await conn.executemany("INSERT OR REPLACE INTO pushed_cells VALUES (?, ?, ?, ?)", rows)

    async def forget_pushed(self, property_uid: int, *, before: date | None = None) -> None:
        """Forget pushed nights (all of them, or those before ``before``: the past)."""
        last = (before or date.max).isoformat()
        sql = "DELETE FROM pushed_cells WHERE property_uid = ? AND night < ?"
        await self._write(sql, (property_uid, last))

    # -- closures ---------------------------------------------------------------------------

    async def get_closures(self, property_uid: int) -> dict[str, ClosureRecord]:
        rows = await self._all(
            "SELECT closure_id, contract_id, date_from, date_to, room_uids FROM closures "
            "WHERE property_uid = ?",
            (property_uid,),
        )
        return {str(row[0]): _closure(row) for row in rows}

    async def record_closure(self, property_uid: int, closure: ClosureRecord) -> None:
        """Save a closure; with ``contract_id=None`` this is the intent before the request."""
        args = (
            property_uid,
            closure.closure_id,
            closure.contract_id,
            closure.date_from.isoformat(),
            closure.date_to.isoformat(),
            json.dumps(list(closure.room_uids)),
        )
        await self._write("INSERT OR REPLACE INTO closures VALUES (?, ?, ?, ?, ?, ?)", args)

    async def forget_closure(self, property_uid: int, closure_id: str) -> None:
        sql = "DELETE FROM closures WHERE property_uid = ? AND closure_id = ?"
        await self._write(sql, (property_uid, closure_id))

    # -- reservations -----------------------------------------------------------------------

    async def record_reservation(
        self,
        remote_id: str,
        property_uid: int,
        status: ReservationStatus,
        *,
        booking_ids: tuple[int, ...] = (),
        message: str | None = None,
        site_id: str | None = None,
    ) -> None:
        """Record an intent (before the request) or an outcome (after it).

        ``site_id`` None keeps the one already recorded (an outcome of an earlier intent).
        """
        args = (
            remote_id,
            property_uid,
            status,
            json.dumps(list(booking_ids)),
            message,
            self._now(),
            site_id,
        )
        sql = (
            f"INSERT INTO reservations ({_RESERVATION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?) "  # noqa: S608 - fixed names
            "ON CONFLICT (remote_id) DO UPDATE SET property_uid = excluded.property_uid, "
            "status = excluded.status, booking_ids = excluded.booking_ids, "
            "message = excluded.message, updated_at = excluded.updated_at, "
            "site_id = COALESCE(excluded.site_id, site_id)"
        )
        await self._write(sql, args)

    async def get_reservation(self, remote_id: str) -> ReservationRecord | None:
        sql = f"SELECT {_RESERVATION_COLUMNS} FROM reservations WHERE remote_id = ?"  # noqa: S608 - fixed names
        row = await self._one(sql, (remote_id,))
        return _reservation(row) if row else None

    async def pushed_booking_ids(self, property_uid: int) -> set[int]:
        """Site booking ids of every reservation this worker pushed to the property."""
        rows = await self._all(
            "SELECT booking_ids FROM reservations WHERE property_uid = ?", (property_uid,)
        )
        return {int(i) for (ids,) in rows for i in json.loads(ids)}

    async def list_reservations(self, *statuses: ReservationStatus) -> list[ReservationRecord]:
        """Reservations in any of ``statuses`` (e.g. unresolved intents after a crash)."""
        marks = ", ".join("?" for _ in statuses)
        sql = (
            f"SELECT {_RESERVATION_COLUMNS} FROM reservations "  # noqa: S608 - fixed names, placeholders
            f"WHERE status IN ({marks}) ORDER BY remote_id"
        )
        return [_reservation(row) for row in await self._all(sql, statuses)]

    async def held_reservations(self) -> tuple[int, datetime | None]:
        """Reservations held (the site refused them, or their cancellation cannot be sent
        safely: what ``status`` lists as held), and when the oldest of them was last updated."""
        row = await self._one(
            "SELECT COUNT(*), MIN(updated_at) FROM reservations "
            "WHERE status = 'failed' OR message LIKE 'cancel held%'"
        )
        count, oldest = row if row is not None else (0, None)
        return int(count), None if oldest is None else datetime.fromisoformat(oldest)

    async def reservations_of(self, property_uid: int) -> list[ReservationRecord]:
        """Every reservation record of the property, by OTA id."""
        sql = (
            f"SELECT {_RESERVATION_COLUMNS} FROM reservations "  # noqa: S608 - fixed names
            "WHERE property_uid = ? ORDER BY remote_id"
        )
        return [_reservation(row) for row in await self._all(sql, (property_uid,))]

    # -- job outcomes -------------------------------------------------------------------------

    async def record_job_outcome(self, property_uid: int, job: str, error: str | None) -> None:
        """The property's work in ``job`` just succeeded (``error`` None) or failed with it."""
        now = self._now()
        if error is None:
            sql = (
                "INSERT INTO job_outcomes (property_uid, job, ok_at) VALUES (?, ?, ?) "
                "ON CONFLICT (property_uid, job) DO UPDATE SET ok_at = excluded.ok_at"
            )
            await self._write(sql, (property_uid, job, now))
            return
        sql = (
            "INSERT INTO job_outcomes (property_uid, job, error, error_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (property_uid, job) DO UPDATE SET error = excluded.error, "
            "error_at = excluded.error_at"
        )
        await self._write(sql, (property_uid, job, error[:300], now))

    async def job_outcomes(self, property_uid: int) -> dict[str, JobOutcome]:
        rows = await self._all(
            "SELECT job, ok_at, error, error_at FROM job_outcomes WHERE property_uid = ?",
            (property_uid,),
        )
        return {
            str(job): JobOutcome(ok_at, error, error_at) for job, ok_at, error, error_at in rows
        }

    # -- content ----------------------------------------------------------------------------

    async def get_content(self, property_uid: int) -> dict[str, dict[str, Any]]:
        """Every content record of the property: part name → its JSON value."""
        rows = await self._all(
            "SELECT part, value FROM content WHERE property_uid = ?", (property_uid,)
        )
        return {str(part): json.loads(value) for part, value in rows}

    async def record_content(self, property_uid: int, part: str, value: Mapping[str, Any]) -> None:
        sql = "INSERT OR REPLACE INTO content (property_uid, part, value) VALUES (?, ?, ?)"
        await self._write(sql, (property_uid, part, json.dumps(dict(value), sort_keys=True)))

    async def forget_content(self, property_uid: int, part: str) -> None:
        sql = "DELETE FROM content WHERE property_uid = ? AND part = ?"
        await self._write(sql, (property_uid, part))

    # -- site bookings ----------------------------------------------------------------------

    async def booking_revisions(self, property_uid: int) -> dict[int, BookingRevision]:
        """Booking id → what became of it, for the property's bookings (and those carried over
        from an older version, whose property is not known yet)."""
        rows = await self._all(
            "SELECT booking_id, delivered, parked, reason FROM booking_revisions "
            "WHERE property_uid = ? OR property_uid IS NULL",
            (property_uid,),
        )
        return {int(row[0]): BookingRevision(row[1], row[2], row[3]) for row in rows}

    async def record_booking_delivered(
        self, property_uid: int, booking_id: int, revision: str
    ) -> None:
        """The sink holds ``revision`` now; a parked earlier revision is settled by it."""
        await self._write(_BOOKING_DELIVERED, (booking_id, property_uid, revision))

    async def record_booking_parked(
        self, property_uid: int, booking_id: int, revision: str, reason: str
    ) -> None:
        """``revision`` could not be read: set aside (reported once), the last delivered kept."""
        sql = (
            "INSERT INTO booking_revisions (booking_id, property_uid, parked, reason) "
            "VALUES (?, ?, ?, ?) ON CONFLICT (booking_id) DO UPDATE SET "
            "property_uid = excluded.property_uid, parked = excluded.parked, "
            "reason = excluded.reason"
        )
        await self._write(sql, (booking_id, property_uid, revision, reason))

    async def retain_booking_revisions(self, property_uid: int, listed: Iterable[int]) -> None:
        """Keep only the bookings the site lists now: forget the property's other bookings, and
        adopt the listed ones carried over without a property. One transaction; what is kept is
        bounded by the site's list, so nothing grows with uptime."""
        listed_ids = set(listed)
        async with self._transaction() as conn:
            sql = "SELECT booking_id, property_uid FROM booking_revisions "
            sql += "WHERE property_uid = ? OR property_uid IS NULL"
            async with conn.execute(sql, (property_uid,)) as cursor:
                rows = [(int(row[0]), row[1]) for row in await cursor.fetchall()]
            gone = [(booking_id,) for booking_id, uid in rows if uid is not None]
            await conn.executemany(
                "DELETE FROM booking_revisions WHERE booking_id = ?",
                [row for row in gone if row[0] not in listed_ids],
            )
            await conn.executemany(
                "UPDATE booking_revisions SET property_uid = ? WHERE booking_id = ?",
                [(property_uid, i) for i, uid in rows if uid is None and i in listed_ids],
            )

    async def parked_booking_count(self) -> int:
        """Site bookings whose latest revision is parked (the bookings job's held items)."""
        row = await self._one("SELECT COUNT(*) FROM booking_revisions WHERE parked IS NOT NULL")
        return int(row[0]) if row else 0

    # -- webhook outbox ---------------------------------------------------------------------

    async def enqueue_webhook(
        self, revision: str, body: bytes, *, property_uid: int, booking_id: int, now: float
    ) -> bool:
        """Queue a booking revision for the webhook and mark it handled, in one transaction.

        So a crash leaves the revision either queued *and* handled or neither; the bookings job's
        own ``record_booking_delivered`` afterwards writes the same row again. False (nothing
        queued) when the revision is in the outbox already.
        """
        sql = (
            "INSERT OR IGNORE INTO webhook_outbox (revision, property_uid, body, status, "
            "queued_at, since, next_at) VALUES (?, ?, ?, 'pending', ?, ?, ?)"
        )
        async with self._transaction() as conn:
            cursor = await conn.execute(sql, (revision, property_uid, body, now, now, now))
            queued = cursor.rowcount == 1
            await conn.execute(_BOOKING_DELIVERED, (booking_id, property_uid, revision))
        return queued

    async def due_webhooks(self, now: float, *, limit: int, stepped_s: float) -> list[OutboxEntry]:
        """Pending entries due at ``now``, oldest first. One due more than ``stepped_s`` ahead
        was scheduled before the wall clock stepped back, and is due now too."""
        sql = (
            "SELECT revision, property_uid, body, since, attempts FROM webhook_outbox "
            "WHERE status = 'pending' AND (next_at <= ? OR next_at > ?) ORDER BY id LIMIT ?"
        )
        rows = await self._all(sql, (now, now + stepped_s, limit))
        return [OutboxEntry(str(r[0]), r[1], bytes(r[2]), float(r[3]), int(r[4])) for r in rows]

    async def next_webhook_at(self) -> float | None:
        """When the earliest pending entry is due (UNIX seconds), None with nothing pending."""
        row = await self._one("SELECT MIN(next_at) FROM webhook_outbox WHERE status = 'pending'")
        return None if row is None or row[0] is None else float(row[0])

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
                parked = [str(row[0]) for row in await cursor.fetchall()]
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
            "SELECT COALESCE(SUM(status = 'pending'), 0), COALESCE(SUM(status = 'dead'), 0), "
            "MIN(CASE WHEN status = 'pending' THEN queued_at END) FROM webhook_outbox"
        )
        pending, dead, oldest = row if row is not None else (0, 0, None)
        return OutboxCounts(int(pending), int(dead), None if oldest is None else _utc(oldest))

    async def dead_letters(self, *, limit: int = 100) -> list[DeadLetter]:
        """Dead-lettered entries, oldest first (at most ``limit``)."""
        rows = await self._all(
            "SELECT revision, property_uid, queued_at, dead_at, attempts, last_error "
            "FROM webhook_outbox WHERE status = 'dead' ORDER BY id LIMIT ?",
            (limit,),
        )
        return [DeadLetter(str(r[0]), r[1], _utc(r[2]), _utc(r[3]), int(r[4]), r[5]) for r in rows]

    # -- bookings cursor and meta -----------------------------------------------------------

    async def get_bookings_cursor(self, property_uid: int) -> str | None:
        sql = "SELECT last_modified FROM bookings_cursor WHERE property_uid = ?"
        row = await self._one(sql, (property_uid,))
        return str(row[0]) if row else None

    async def set_bookings_cursor(self, property_uid: int, last_modified: str) -> None:
        sql = "INSERT OR REPLACE INTO bookings_cursor VALUES (?, ?)"
        await self._write(sql, (property_uid, last_modified))

    async def get_meta(self, key: str) -> str | None:
        row = await self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return str(row[0]) if row else None

    async def set_meta(self, key: str, value: str) -> None:
        await self._write("INSERT OR REPLACE INTO meta VALUES (?, ?)", (key, value))

    # -- plumbing ---------------------------------------------------------------------------

    def _now(self) -> str:
        return self._utcnow().astimezone(UTC).isoformat()

    def _connection(self) -> aiosqlite.Connection:
        if self._conn is None:
            raise RuntimeError(f"{self!r} is closed")
        return self._conn

    @asynccontextmanager
    async def _transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        async with self._write_lock:
            conn = self._connection()
            await conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                await conn.execute("ROLLBACK")
                raise
            await conn.execute("COMMIT")

    async def _write(self, sql: str, args: tuple[Any, ...]) -> None:
        async with self._transaction() as conn:
            await conn.execute(sql, args)

    async def _one(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        async with self._connection().execute(sql, args) as cursor:
            return await cursor.fetchone()

    async def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        async with self._connection().execute(sql, args) as cursor:
            return list(await cursor.fetchall())


_BOOKING_DELIVERED = (
    "INSERT INTO booking_revisions (booking_id, property_uid, delivered) VALUES (?, ?, ?) "
    "ON CONFLICT (booking_id) DO UPDATE SET property_uid = excluded.property_uid, "
    "delivered = excluded.delivered, parked = NULL, reason = NULL"
)


def _utc(seconds: float) -> datetime:
    return datetime.fromtimestamp(float(seconds), UTC)


def _property(row: sqlite3.Row) -> PropertyRecord:
    remote_uid, property_uid, status, created_at = row
    return PropertyRecord(remote_uid, property_uid, status, datetime.fromisoformat(created_at))


def _closure(row: sqlite3.Row) -> ClosureRecord:
    closure_id, contract_id, date_from, date_to, room_uids = row
    return ClosureRecord(
        closure_id,
        contract_id,
        date.fromisoformat(date_from),
        date.fromisoformat(date_to),
        tuple(int(uid) for uid in json.loads(room_uids)),
    )


_RESERVATION_COLUMNS = "remote_id, property_uid, status, booking_ids, message, updated_at, site_id"


def _reservation(row: sqlite3.Row) -> ReservationRecord:
    remote_id, property_uid, status, booking_ids, message, updated_at, site_id = row
    return ReservationRecord(
        remote_id,
        int(property_uid),
        status,
        tuple(int(i) for i in json.loads(booking_ids)),
        message,
        datetime.fromisoformat(updated_at),
        site_id,
    )
