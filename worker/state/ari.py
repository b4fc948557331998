"""What the ARI job has sent: ``pushed_cells`` (price and minimum stay per property and night,
so only changes are sent) and ``closures`` (black bookings, recorded as an intent first)."""

from __future__ import annotations

import hashlib
import json
import sqlite3
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from datetime import date
from decimal import Decimal

from worker.state.tables import Tables

__all__ = ["AriTables", "ClosureRecord", "PushedCell"]


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


# Each property's rows as one text (in SQLite, no row crosses to Python): night, price and
# minimum stay, which no separator can occur in, so equal texts are equal rows.
_PUSHED_TEXT = (
    "SELECT property_uid, group_concat(night || ' ' || price || ' ' || minstay, ';') AS cells "
    "FROM (SELECT property_uid, night, price, minstay FROM pushed_cells "
    "ORDER BY property_uid, night) GROUP BY property_uid"
)


class AriTables(Tables):
    # -- prices and minimum stays -----------------------------------------------------------

    async def get_pushed(self, property_uid: int) -> dict[date, PushedCell]:
        rows = await self._all(
            "SELECT night, price, minstay FROM pushed_cells WHERE property_uid = ?", (property_uid,)
        )
        # A year of nights holds a few dozen distinct cells: parse each one once and share it.
        shared: dict[tuple[str, int], PushedCell] = {}
        cells: dict[date, PushedCell] = {}
        for row in rows:
            price, minstay = row["price"], row["minstay"]
            cell = shared.get((price, minstay))
            if cell is None:
                cell = shared[(price, minstay)] = PushedCell(Decimal(price), int(minstay))
            cells[date.fromisoformat(row["night"])] = cell
        return cells

    async def pushed_digests(self, property_uids: Collection[int]) -> dict[int, bytes]:
        """A digest of each property's pushed nights (equal digests: the same nights, prices and
        minimum stays), from one query; a property with none has no entry.

        Lets the ARI job tell, without reading and parsing a year of rows per property, that
        what was pushed is what it last compared with the inventory (``worker.sync.ari``).
        """
        rows = await self._all(_PUSHED_TEXT)
        return {
            int(row["property_uid"]): hashlib.blake2b(
                row["cells"].encode(), digest_size=16
            ).digest()
            for row in rows
            if row["property_uid"] in property_uids
        }

    async def record_pushed(self, property_uid: int, cells: Mapping[date, PushedCell]) -> None:
        """Remember what was just pushed; a year of nights is one transaction."""
        sql = (
            "INSERT OR REPLACE INTO pushed_cells (property_uid, night, price, minstay) "
            "VALUES (?, ?, ?, ?)"
        )
        rows = [(property_uid, d.isoformat(), str(c.price), c.minstay) for d, c in cells.items()]
        async with self._moving("ari"):
            await self._write_many(sql, rows)

    async def forget_pushed(self, property_uid: int, *, before: date | None = None) -> None:
        """Forget pushed nights (all of them, or those before ``before``: the past)."""
        last = (before or date.max).isoformat()
        sql = "DELETE FROM pushed_cells WHERE property_uid = ? AND night < ?"
        async with self._moving("ari"):
            await self._write(sql, (property_uid, last))

    # -- closures ---------------------------------------------------------------------------

    async def get_closures(self, property_uid: int) -> dict[str, ClosureRecord]:
        rows = await self._all(
            "SELECT closure_id, contract_id, date_from, date_to, room_uids FROM closures "
            "WHERE property_uid = ?",
            (property_uid,),
        )
        return {str(row["closure_id"]): _closure(row) for row in rows}

    async def record_closure(self, property_uid: int, closure: ClosureRecord) -> None:
        """Save a closure; with ``contract_id=None`` this is the intent before the request."""
        sql = (
            "INSERT OR REPLACE INTO closures (property_uid, closure_id, contract_id, date_from, "
            "date_to, room_uids) VALUES (?, ?, ?, ?, ?, ?)"
        )
        args = (
            property_uid,
            closure.closure_id,
            closure.contract_id,
            closure.date_from.isoformat(),
            closure.date_to.isoformat(),
            json.dumps(list(closure.room_uids)),
        )
        await self._write(sql, args)

    async def forget_closure(self, property_uid: int, closure_id: str) -> None:
        sql = "DELETE FROM closures WHERE property_uid = ? AND closure_id = ?"
        await self._write(sql, (property_uid, closure_id))


def _closure(row: sqlite3.Row) -> ClosureRecord:
    return ClosureRecord(
        row["closure_id"],
        row["contract_id"],
        date.fromisoformat(row["date_from"]),
        date.fromisoformat(row["date_to"]),
        tuple(int(uid) for uid in json.loads(row["room_uids"])),
    )
