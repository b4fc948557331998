"""The ``property_state`` table: one typed row per property of what its jobs have established,
so a run can skip work already done (these were ``meta`` keys chosen by each job before schema 7):

- ``ari_reconciled_on``: the day the ARI job last read the property's calendar and closures back
  from the server (once a day at least, ``worker.sync.ari``);
- ``base_price_known``: the property has its tariff (``PUT base/price`` is not idempotent,
  ``worker.sync.tariff``);
- ``rooms_synced_on`` and ``rooms_fingerprint``: the day its rooms were last brought in line and
  the fingerprint of the vendor rooms and room map then (``worker.sync.rooms``);
- ``bookings_event`` and ``bookings_read_on``: the newest change-log event whose bookings were
  read, and the day they were last read (``worker.sync.bookings``);
- ``drift_event``: the newest change-log event of an edit made on the site itself that was acted
  on (``worker.sync.drift``): each such edit is acted on once.
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date
from typing import Any, NamedTuple

from worker.state.tables import Tables

__all__ = ["AriProgress", "BookingsRead", "ProgressTable", "RoomsSynced"]


class RoomsSynced(NamedTuple):
    """When the property's rooms were last brought in line, and their fingerprint then."""

    day: date
    fingerprint: str


class BookingsRead(NamedTuple):
    """The newest change-log event whose bookings were read (0: none), and on which day."""

    event: int
    day: date | None


class AriProgress(NamedTuple):
    """What the ARI job reads of a property before its diff: the tariff is known, and the day
    it was last reconciled (None: never)."""

    base_price_known: bool
    reconciled_on: date | None


def _upsert(columns: tuple[str, ...]) -> str:
    names = ", ".join(columns)
    marks = ", ".join("?" for _ in columns)
    updates = ", ".join(f"{name} = excluded.{name}" for name in columns)
    return (
        f"INSERT INTO property_state (property_uid, {names}) VALUES (?, {marks}) "  # noqa: S608 - fixed names
        f"ON CONFLICT (property_uid) DO UPDATE SET {updates}"
    )


_RECONCILED = _upsert(("ari_reconciled_on",))
_BASE_PRICE = _upsert(("base_price_known",))
_ROOMS_SYNCED = _upsert(("rooms_synced_on", "rooms_fingerprint"))
_BOOKINGS_READ = _upsert(("bookings_event", "bookings_read_on"))


def _day(value: str | None) -> date | None:
    return None if value is None else date.fromisoformat(value)


class ProgressTable(Tables):
    async def reconciled_on(self, property_uid: int) -> date | None:
        """The day the ARI job last reconciled the property with the server (None: never)."""
        return _day(await self._progress("ari_reconciled_on", property_uid))

    async def mark_reconciled(self, property_uid: int, day: date) -> None:
        await self._write_ari(_RECONCILED, (property_uid, day.isoformat()))

    async def has_base_price(self, property_uid: int) -> bool:
        """True once the property is known to have its tariff."""
        return bool(await self._progress("base_price_known", property_uid))

    async def mark_base_price(self, property_uid: int) -> None:
        await self._write_ari(_BASE_PRICE, (property_uid, 1))

    async def rooms_synced(self, property_uid: int) -> RoomsSynced | None:
        sql = (
            "SELECT rooms_synced_on, rooms_fingerprint FROM property_state "
            "WHERE property_uid = ? AND rooms_synced_on IS NOT NULL"
        )
        row = await self._one(sql, (property_uid,))
        if row is None:
            return None
        return RoomsSynced(date.fromisoformat(row["rooms_synced_on"]), row["rooms_fingerprint"])

    async def mark_rooms_synced(self, property_uid: int, day: date, fingerprint: str) -> None:
        await self._write(_ROOMS_SYNCED, (property_uid, day.isoformat(), fingerprint))

    async def bookings_read(self, property_uid: int) -> BookingsRead:
        sql = "SELECT bookings_event, bookings_read_on FROM property_state WHERE property_uid = ?"
        row = await self._one(sql, (property_uid,))
        if row is None:
            return BookingsRead(0, None)
        return BookingsRead(int(row["bookings_event"] or 0), _day(row["bookings_read_on"]))

    async def bookings_read_all(self, property_uids: Collection[int]) -> dict[int, BookingsRead]:
        """``bookings_read`` of each property, from one query (the bookings job's per-run read)."""
        rows = await self._progress_rows(("bookings_event", "bookings_read_on"), property_uids)
        read = {
            uid: BookingsRead(int(row["bookings_event"] or 0), _day(row["bookings_read_on"]))
            for uid, row in rows.items()
        }
        return {uid: read.get(uid, BookingsRead(0, None)) for uid in property_uids}

    async def mark_bookings_read(self, property_uid: int, event: int, day: date) -> None:
        """The property's bookings were read on ``day``, up to change-log ``event``."""
        await self._write(_BOOKINGS_READ, (property_uid, event, day.isoformat()))

    async def drift_seen(self, property_uid: int) -> int:
        """The newest change-log event of a site edit acted on already (0: none)."""
        return int(await self._progress("drift_event", property_uid) or 0)

    async def drift_seen_all(self, property_uids: Collection[int]) -> dict[int, int]:
        """``drift_seen`` of each property, from one query."""
        rows = await self._progress_rows(("drift_event",), property_uids)
        return {uid: int(rows[uid]["drift_event"] or 0) if uid in rows else 0
                for uid in property_uids}  # fmt: skip

    async def ari_progress_all(self, property_uids: Collection[int]) -> dict[int, AriProgress]:
        """``has_base_price`` and ``reconciled_on`` of each property, from one query."""
        rows = await self._progress_rows(("base_price_known", "ari_reconciled_on"), property_uids)
        known = {
            uid: AriProgress(bool(row["base_price_known"]), _day(row["ari_reconciled_on"]))
            for uid, row in rows.items()
        }
        return {uid: known.get(uid, AriProgress(False, None)) for uid in property_uids}

    async def mark_drift(
        self, property_uid: int, event: int, *, reconcile: bool, rooms: bool
    ) -> None:
        """Site edits up to ``event`` were seen; forget what they make stale, in one write.

        ``reconcile`` forgets the reconciled day (the ARI job re-reads the calendar and the
        closures on its next run), ``rooms`` the rooms' synced day (the properties job re-checks
        them)."""
        sql = (
            "INSERT INTO property_state (property_uid, drift_event) VALUES (?, ?) "
            "ON CONFLICT (property_uid) DO UPDATE SET drift_event = excluded.drift_event, "
            "ari_reconciled_on = CASE WHEN ? THEN NULL ELSE ari_reconciled_on END, "
            "rooms_synced_on = CASE WHEN ? THEN NULL ELSE rooms_synced_on END"
        )
        await self._write_ari(sql, (property_uid, event, reconcile, rooms))

    async def _write_ari(self, sql: str, args: tuple[Any, ...]) -> None:
        async with self._moving("ari"):
            await self._write(sql, args)

    async def _progress_rows(
        self, columns: tuple[str, ...], property_uids: Collection[int]
    ) -> dict[int, Any]:
        """The ``columns`` of every property's row (all rows: a site has a few dozen properties,
        and one query beats one per property), keyed by uid, for the uids asked."""
        wanted = set(property_uids)
        sql = f"SELECT property_uid, {', '.join(columns)} FROM property_state"  # noqa: S608 - fixed names
        rows = await self._all(sql)
        return {int(row["property_uid"]): row for row in rows if row["property_uid"] in wanted}

    async def _progress(self, column: str, property_uid: int) -> Any:
        sql = f"SELECT {column} FROM property_state WHERE property_uid = ?"  # noqa: S608 - fixed names
        row = await self._one(sql, (property_uid,))
        return None if row is None else row[column]
