"""The ``content`` table: per property and content part, one JSON value (what was last sent of
the part and what became of it, the images sent, the last review)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from worker.state.tables import Tables

__all__ = ["ContentTable"]


class ContentTable(Tables):
    async def get_content(self, property_uid: int) -> dict[str, dict[str, Any]]:
        """Every content record of the property: part name → its JSON value."""
        rows = await self._all(
            "SELECT part, value FROM content WHERE property_uid = ?", (property_uid,)
        )
        return {str(row["part"]): json.loads(row["value"]) for row in rows}

    async def record_content(self, property_uid: int, part: str, value: Mapping[str, Any]) -> None:
        sql = "INSERT OR REPLACE INTO content (property_uid, part, value) VALUES (?, ?, ?)"
        await self._write(sql, (property_uid, part, json.dumps(dict(value), sort_keys=True)))

    async def forget_content(self, property_uid: int, part: str) -> None:
        sql = "DELETE FROM content WHERE property_uid = ? AND part = ?"
        await self._write(sql, (property_uid, part))
