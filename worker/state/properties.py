"""The ``properties`` table: the vendor's ``remote_uid`` → BookyFlow's ``property_uid``, with
the create intent recorded before ``POST /cmf/property`` (resolved from ``properties/ids``)."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from worker.state.tables import Tables

__all__ = ["PropertiesTable", "PropertyRecord", "PropertyStatus"]

PropertyStatus = Literal["intent", "created", "published"]

_COLUMNS = "remote_uid, property_uid, status, created_at"


@dataclass(frozen=True)
class PropertyRecord:
    """A property this worker creates; ``property_uid`` is None while only the intent exists."""

    remote_uid: str
    property_uid: int | None
    status: PropertyStatus
    created_at: datetime


class PropertiesTable(Tables):
    async def record_property_intent(self, remote_uid: str) -> None:
        """Before ``POST /cmf/property``: remember that a create may be in flight."""
        sql = (
            "INSERT OR IGNORE INTO properties (remote_uid, property_uid, status, created_at) "
            "VALUES (?, NULL, 'intent', ?)"
        )
        async with self._moving("properties"):
            await self._write(sql, (remote_uid, self._now()))

    async def record_property_created(self, remote_uid: str, property_uid: int) -> None:
        """The server has the property (created now, or found by ``properties/ids``)."""
        sql = (
            "INSERT INTO properties (remote_uid, property_uid, status, created_at) "
            "VALUES (?, ?, 'created', ?) ON CONFLICT (remote_uid) DO "
            "UPDATE SET property_uid = excluded.property_uid, status = CASE "
            "WHEN status = 'published' AND property_uid = excluded.property_uid "
            "THEN 'published' ELSE 'created' END"
        )
        async with self._moving("properties"):
            await self._write(sql, (remote_uid, property_uid, self._now()))

    async def record_property_published(self, remote_uid: str) -> None:
        sql = (
            "UPDATE properties SET status = 'published' WHERE remote_uid = ? AND status != 'intent'"
        )
        async with self._moving("properties"):
            await self._write(sql, (remote_uid,))

    async def record_property_unpublished(self, remote_uid: str) -> None:
        sql = (
            "UPDATE properties SET status = 'created' WHERE remote_uid = ? AND status = 'published'"
        )
        async with self._moving("properties"):
            await self._write(sql, (remote_uid,))

    # Both reads are remembered until a properties write: every job asks per run.
    async def get_property(self, remote_uid: str) -> PropertyRecord | None:
        async def read() -> PropertyRecord | None:
            sql = f"SELECT {_COLUMNS} FROM properties WHERE remote_uid = ?"  # noqa: S608 - fixed names
            row = await self._one(sql, (remote_uid,))
            return _property(row) if row else None

        return await self._remembered_read("properties", remote_uid, read)

    async def list_properties(self, status: PropertyStatus | None = None) -> list[PropertyRecord]:
        async def read() -> tuple[PropertyRecord, ...]:
            where, args = ("WHERE status = ?", (status,)) if status else ("", ())
            sql = f"SELECT {_COLUMNS} FROM properties {where} ORDER BY remote_uid"  # noqa: S608 - fixed text
            return tuple(_property(row) for row in await self._all(sql, args))

        return list(await self._remembered_read("properties", ("list", status), read))


def _property(row: sqlite3.Row) -> PropertyRecord:
    return PropertyRecord(
        row["remote_uid"],
        row["property_uid"],
        row["status"],
        datetime.fromisoformat(row["created_at"]),
    )
