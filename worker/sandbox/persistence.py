"""Optional SQLite persistence of the sandbox's state: one JSON row per entity.

The store keeps everything in memory and writes through here on each change, one row per
changed entity (a property, a booking, a token ...), so a request never rewrites the whole state.
A new store on the same file loads every row back. Without a path nothing is written.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, Protocol

_SCHEMA = """
CREATE TABLE IF NOT EXISTS entity (
    kind TEXT NOT NULL,
    key TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (kind, key)
)
"""


class Persistence(Protocol):
    """Where the store writes its entities through."""

    def load(self, kind: str) -> dict[str, Any]: ...
    def put(self, kind: str, key: object, value: Any) -> None: ...
    def delete(self, kind: str, key: object) -> None: ...
    def clear(self, kind: str) -> None: ...
    def batch(self) -> Any: ...
    def close(self) -> None: ...


class NullPersistence:
    """In-memory only: every write is a no-op."""

    def load(self, kind: str) -> dict[str, Any]:
        return {}

    def put(self, kind: str, key: object, value: Any) -> None:
        return None

    def delete(self, kind: str, key: object) -> None:
        return None

    def clear(self, kind: str) -> None:
        return None

    @contextmanager
    def batch(self) -> Iterator[None]:
        yield

    def close(self) -> None:
        return None


class SqlitePersistence:
    """Entities as JSON rows in one SQLite table; writes are grouped per request by ``batch``."""

    def __init__(self, path: str | Path) -> None:
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute(_SCHEMA)
        self._depth = 0

    def load(self, kind: str) -> dict[str, Any]:
        rows = self._db.execute("SELECT key, value FROM entity WHERE kind = ?", (kind,))
        return {key: json.loads(value) for key, value in rows}

    def put(self, kind: str, key: object, value: Any) -> None:
        self._db.execute(
            "INSERT OR REPLACE INTO entity (kind, key, value) VALUES (?, ?, ?)",
            (kind, str(key), json.dumps(value, separators=(",", ":"))),
        )

    def delete(self, kind: str, key: object) -> None:
        self._db.execute("DELETE FROM entity WHERE kind = ? AND key = ?", (kind, str(key)))

    def clear(self, kind: str) -> None:
        self._db.execute("DELETE FROM entity WHERE kind = ?", (kind,))

    @contextmanager
    def batch(self) -> Iterator[None]:
        """One transaction for every write inside (nested batches join the outer one).

        It commits even when the body raised: the in-memory state is the truth and any change
        already made to it must reach the file too.
        """
        self._depth += 1
        if self._depth == 1:
            self._db.execute("BEGIN")
        try:
            yield
        finally:
            self._depth -= 1
            if self._depth == 0:
                self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


def open_persistence(db_path: str | Path | None) -> Persistence:
    """SQLite at ``db_path``, or nothing at all."""
    return NullPersistence() if db_path is None else SqlitePersistence(db_path)


class Ledger:
    """What every part of the store shares: the persistence, id sequences and the wall clock."""

    def __init__(self, persistence: Persistence, wall_clock: Callable[[], float]) -> None:
        self.persistence = persistence
        self.wall_clock = wall_clock
        self._last_ids: dict[str, int] = {
            kind: int(value) for kind, value in persistence.load("sequence").items()
        }

    def next_id(self, sequence: str) -> int:
        """The next id of ``sequence`` (1, 2, ...), never reused even after a restart."""
        value = self._last_ids.get(sequence, 0) + 1
        self._last_ids[sequence] = value
        self.persistence.put("sequence", sequence, value)
        return value

    def reserve(self, sequence: str, used: int) -> None:
        """Make sure ``next_id`` never hands out ``used`` (an id chosen by the caller)."""
        if used > self._last_ids.get(sequence, 0):
            self._last_ids[sequence] = used
            self.persistence.put("sequence", sequence, used)

    def now(self) -> datetime:
        """The wall-clock time in UTC."""
        return datetime.fromtimestamp(self.wall_clock(), tz=UTC)

    def today(self) -> date:
        return self.now().date()
