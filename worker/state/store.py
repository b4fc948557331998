"""``StateStore``: the database file, its connection and lifecycle, over every table group.

Opening prepares private files (directory 0700, database 0600), checks the file
(``quick_check``), migrates it (``schema``) and reads rows by name. A file that cannot be
written is ``StateUnwritable``; a corrupt one is ``StateCorrupt`` naming the path or, with
``on_corrupt="rebuild"``, moved aside and started afresh. Times come from the ``Clock``.
"""

from __future__ import annotations

import asyncio
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import Literal

import aiosqlite

from worker.clock import Clock, SystemClock
from worker.errors import ConfigError, StateUnwritable
from worker.lock import prepare_state_dir
from worker.logging import get_logger
from worker.state.ari import AriTables
from worker.state.bookings import BookingsTable
from worker.state.content import ContentTable
from worker.state.outbox import OutboxTable
from worker.state.outcomes import JobOutcomesTable
from worker.state.progress import ProgressTable
from worker.state.properties import PropertiesTable
from worker.state.reservations import ReservationsTable
from worker.state.rooms import RoomsTable
from worker.state.schema import PER_PROPERTY_TABLES, migrate

__all__ = ["DB_NAME", "OnCorrupt", "StateCorrupt", "StateStore"]

log = get_logger("worker.state")
DB_NAME = "state.db"
OnCorrupt = Literal["fail", "rebuild"]


class StateCorrupt(ConfigError):
    """The state database cannot be read; the message names the file."""


class StateStore(
    PropertiesTable,
    RoomsTable,
    AriTables,
    ProgressTable,
    ReservationsTable,
    BookingsTable,
    ContentTable,
    JobOutcomesTable,
    OutboxTable,
):
    """The worker's durable memory. Open with ``await StateStore.open(state_dir)``.

    Every write runs in its own transaction and is committed before the call returns, so a job
    may rely on it when it goes on to the HTTP write. Writes are serialised by a lock: the
    connection is shared by every job of the process.
    """

    @classmethod
    async def open(
        cls, state_dir: Path, *, on_corrupt: OnCorrupt = "fail", clock: Clock | None = None
    ) -> StateStore:
        """Open (creating, migrating) ``state_dir/state.db``; see the module docstring.

        ``clock`` (the system clock by default) stamps what is written down.
        """
        clock = clock or SystemClock()
        db_path = Path(state_dir) / DB_NAME
        await asyncio.to_thread(_prepare_files, db_path)
        try:
            conn = await connect(db_path)
        except sqlite3.DatabaseError as exc:
            if _unwritable(exc):
                message = f"state database {db_path} cannot be written: {exc}"
                raise StateUnwritable(message) from None
            if on_corrupt != "rebuild":
                raise StateCorrupt(
                    f"state database {db_path} is unreadable ({exc}); move it aside or "
                    "start with on_corrupt='rebuild' to rebuild it from the server"
                ) from None
            moved = await asyncio.to_thread(_move_aside, db_path, clock.wall())
            log.warning("state.rebuilt", path=str(db_path), moved_to=str(moved), reason=str(exc))
            await asyncio.to_thread(_prepare_files, db_path)
            conn = await connect(db_path)
        return cls(conn, db_path, clock)

    async def close(self) -> None:
        """Close the database; safe to call more than once."""
        conn, self._conn = self._conn, None
        if conn is not None:
            await conn.close()

    async def schema_version(self) -> int:
        row = await self._one("SELECT MAX(version) AS version FROM schema_version")
        return int(row["version"]) if row else 0

    async def forget_property(self, remote_uid: str) -> None:
        """Drop a property and everything known about it (after pruning, or a lost property):
        every table of ``schema.PER_PROPERTY_TABLES``, in one transaction."""
        self._forget_outcomes_written()
        moving = self._moving("ari", "reservations", "rooms", "properties")
        async with moving, self._transaction() as conn:
            sql = "SELECT property_uid FROM properties WHERE remote_uid = ?"
            async with conn.execute(sql, (remote_uid,)) as cursor:
                row = await cursor.fetchone()
            await conn.execute("DELETE FROM properties WHERE remote_uid = ?", (remote_uid,))
            if row is None or row["property_uid"] is None:
                return
            for table in PER_PROPERTY_TABLES:
                delete = f"DELETE FROM {table} WHERE property_uid = ?"  # noqa: S608 - fixed names
                await conn.execute(delete, (row["property_uid"],))


# A process runs one store per site, so a connection's memory is paid a thousand times over.
# Python keeps 128 prepared statements per connection by default (~2.7 KB each; the store has
# about 80) and SQLite a page cache of up to 2 MB; a run of a job uses a handful of statements
# and a site's database is a few hundred KB. Below 64 KiB the cache stopped shrinking (SQLite
# allocates its pages in bulk), and 64 KiB against 256 saved about 90 KB per store (issue 15).
CACHED_STATEMENTS = 24
PAGE_CACHE_KIB = 64
# The write-ahead log is copied back into the database every this many pages (4 KiB each), and
# truncated to WAL_LIMIT_BYTES after: SQLite's defaults (1,000 pages, never truncated) let every
# site's log grow to 4 MB, 4 GB of disk at a thousand sites, while its data is a few hundred KB.
WAL_CHECKPOINT_PAGES = 128
WAL_LIMIT_BYTES = 1 << 20


async def connect(db_path: Path) -> aiosqlite.Connection:
    """A checked, migrated connection in autocommit mode (transactions are explicit), WAL
    journal kept short (``WAL_CHECKPOINT_PAGES``), ``synchronous=FULL``, rows read by name,
    small caches (``CACHED_STATEMENTS``, ``PAGE_CACHE_KIB``)."""
    conn = await aiosqlite.connect(
        db_path, isolation_level=None, cached_statements=CACHED_STATEMENTS
    )
    conn.row_factory = sqlite3.Row
    try:
        await conn.execute(f"PRAGMA cache_size=-{PAGE_CACHE_KIB}")
        await conn.execute("PRAGMA journal_mode=WAL")
        await conn.execute(f"PRAGMA wal_autocheckpoint={WAL_CHECKPOINT_PAGES}")
        await conn.execute(f"PRAGMA journal_size_limit={WAL_LIMIT_BYTES}")
        await conn.execute("PRAGMA synchronous=FULL")
        async with conn.execute("PRAGMA quick_check") as cursor:
            verdict = [str(row[0]) for row in await cursor.fetchall()]
        if verdict != ["ok"]:
            raise sqlite3.DatabaseError("; ".join(verdict[:3]))
        await migrate(conn, db_path)
    except BaseException:
        if conn.in_transaction:
            await conn.execute("ROLLBACK")
        await conn.close()
        raise
    return conn


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


def _move_aside(db_path: Path, wall: float) -> Path:
    stamp = datetime.fromtimestamp(wall, UTC).strftime("%Y%m%dT%H%M%SZ")
    target = db_path.with_name(f"{db_path.name}.corrupt-{stamp}")
    db_path.rename(target)
    for suffix in ("-wal", "-shm"):
        db_path.with_name(db_path.name + suffix).unlink(missing_ok=True)
    return target
