"""What every table group of the state store shares: the connection, the write lock, the clock.

Each group (``properties``, ``rooms``, ``ari``, ``progress``, ``reservations``, ``bookings``,
``content``, ``outcomes``, ``outbox``) is a subclass of ``Tables`` holding its own SQL;
``StateStore`` is all of them over one connection. Rows are read by column name
(``sqlite3.Row``), and every statement names its columns, so a migration that adds a column
breaks none of them.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections import Counter
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TypeVar, cast

import aiosqlite

from worker.clock import Clock

__all__ = ["Tables"]

T = TypeVar("T")


class Tables:
    """The shared plumbing: every write is one transaction, committed before it returns, under
    a lock (the connection is shared by every job of the process). The connection reads rows as
    ``sqlite3.Row`` (``store.connect``)."""

    def __init__(self, conn: aiosqlite.Connection, path: Path, clock: Clock) -> None:
        self.path = path
        self._conn: aiosqlite.Connection | None = conn
        self._clock = clock
        self._write_lock = asyncio.Lock()
        # Per part of state a job reads in one batch ("ari": ``ari_progress_all`` and
        # ``pushed_digests``; "reservations": ``reservations_by_id``), moved by every write of it:
        # while it has not moved, that read is still what state holds (this process is the
        # database's only writer: the state directory is locked). Fixed keys: bounded.
        self.generations: Counter[str] = Counter()
        # Reads remembered per part ("rooms", "properties"): (part, key) -> (its generation when
        # read, the value). Valid while that generation has not moved; keyed by property, so
        # bounded by the site's properties.
        self._memo: dict[tuple[str, Any], tuple[int, Any]] = {}

    async def _remembered_read(self, part: str, key: Any, read: Callable[[], Awaitable[T]]) -> T:
        """What ``read()`` gave for ``key`` while ``part`` has not been written since; else
        ``read()`` now, remembered at the generation it started from (a write during the read
        moves it, so that value is never served)."""
        generation = self.generations[part]
        found = self._memo.get((part, key))
        if found is not None and found[0] == generation:
            return cast(T, found[1])
        value = await read()
        self._memo[(part, key)] = (generation, value)
        return value

    @asynccontextmanager
    async def _moving(self, *parts: str) -> AsyncIterator[None]:
        """Around a write of ``parts``: their generations move before it starts and after it
        ends (committed or not), so no batch read overlapping it is trusted."""
        self.generations.update(parts)
        try:
            yield
        finally:
            self.generations.update(parts)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({str(self.path)!r})"

    def _now(self) -> str:
        """The wall clock as the ISO UTC text the tables keep."""
        return datetime.fromtimestamp(self._clock.wall(), UTC).isoformat()

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

    async def _write_many(self, sql: str, rows: Iterable[tuple[Any, ...]]) -> None:
        async with self._transaction() as conn:
            await conn.executemany(sql, rows)

    # Reads are one trip to the connection's thread (``execute_fetchall``), not three (execute,
    # fetch, close the cursor): each trip is a thread wake-up and a hand-over of the GIL, and a
    # thousand sites' jobs read many times a second. The queries read one row or a property's few.
    async def _one(self, sql: str, args: tuple[Any, ...] = ()) -> sqlite3.Row | None:
        rows = await self._connection().execute_fetchall(sql, args)
        return next(iter(rows), None)

    async def _all(self, sql: str, args: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        return list(await self._connection().execute_fetchall(sql, args))
