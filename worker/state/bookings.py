"""The ``booking_revisions`` table: per site booking, the last revision delivered to the sink
and a later one parked because it could not be read (``BookingRevision``)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from worker.state.tables import Tables

__all__ = ["BOOKING_DELIVERED", "BookingRevision", "BookingsTable"]

# Also run by the outbox, in the transaction that queues the revision.
BOOKING_DELIVERED = (
    "INSERT INTO booking_revisions (booking_id, property_uid, delivered) VALUES (?, ?, ?) "
    "ON CONFLICT (booking_id) DO UPDATE SET property_uid = excluded.property_uid, "
    "delivered = excluded.delivered, parked = NULL, reason = NULL"
)


@dataclass(frozen=True, slots=True)
class BookingRevision:
    """What became of one site booking: the last revision delivered (None: none yet) and a
    later revision parked because it could not be read (None: none), with the reason."""

    delivered: str | None = None
    parked: str | None = None
    reason: str | None = None


class BookingsTable(Tables):
    async def booking_revisions(self, property_uid: int) -> dict[int, BookingRevision]:
        """Booking id → what became of it, for the property's bookings (and those carried over
        from an older version, whose property is not known yet)."""
        rows = await self._all(
            "SELECT booking_id, delivered, parked, reason FROM booking_revisions "
            "WHERE property_uid = ? OR property_uid IS NULL",
            (property_uid,),
        )
        return {
            int(row["booking_id"]): BookingRevision(row["delivered"], row["parked"], row["reason"])
            for row in rows
        }

    async def record_booking_delivered(
        self, property_uid: int, booking_id: int, revision: str
    ) -> None:
        """The sink holds ``revision`` now; a parked earlier revision is settled by it."""
        await self._write(BOOKING_DELIVERED, (booking_id, property_uid, revision))

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
                rows = [(int(r["booking_id"]), r["property_uid"]) for r in await cursor.fetchall()]
            await conn.executemany(
                "DELETE FROM booking_revisions WHERE booking_id = ?",
                [(i,) for i, uid in rows if uid is not None and i not in listed_ids],
            )
            await conn.executemany(
                "UPDATE booking_revisions SET property_uid = ? WHERE booking_id = ?",
                [(property_uid, i) for i, uid in rows if uid is None and i in listed_ids],
            )

    async def parked_booking_count(self) -> int:
        """Site bookings whose latest revision is parked (the bookings job's held items)."""
        row = await self._one(
            "SELECT COUNT(*) AS parked FROM booking_revisions WHERE parked IS NOT NULL"
        )
        return int(row["parked"]) if row else 0
