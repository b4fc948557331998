"""The ``reservations`` table: where pushing (or cancelling) each OTA reservation stands.

An intent is recorded before the request and the outcome after it, so a crash in between is
resolved from the server (``booking/link``) instead of sending the reservation again. Beside the
status each row keeps what the reservations job needs of it later: ``push_record``, what was
pushed (``worker.sync.reservation_plan.PushedRecord``, compared for ``reservation.changed`` and
by safe prune), and ``rejected_digest``, the content the site refused (sent again only when it
changes). Both were ``meta`` keys before schema 7.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from worker.state.tables import Tables

__all__ = ["ReservationRecord", "ReservationStatus", "ReservationsTable"]

ReservationStatus = Literal["intent", "pushed", "cancel_intent", "cancelled", "failed"]

_COLUMNS = (
    "remote_id, property_uid, status, booking_ids, message, updated_at, site_id, "
    "push_record, rejected_digest"
)

_RECORD = (
    "INSERT INTO reservations (remote_id, property_uid, status, booking_ids, message, "
    "updated_at, site_id, rejected_digest) VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (remote_id) DO UPDATE SET property_uid = excluded.property_uid, "
    "status = excluded.status, booking_ids = excluded.booking_ids, "
    "message = excluded.message, updated_at = excluded.updated_at, "
    "site_id = COALESCE(excluded.site_id, site_id), "
    "rejected_digest = COALESCE(excluded.rejected_digest, rejected_digest)"
)


# Well below SQLite's limit on bound parameters (32766; 999 before 3.32).
_IDS_PER_QUERY = 500


@dataclass(frozen=True)
class ReservationRecord:
    """Where pushing (or cancelling) one OTA reservation stands.

    ``remote_id`` is the OTA's id; ``site_id`` the remote id the site knows it by (see
    ``worker.sync.reservation_plan``), or None when nothing was sent under a known id yet;
    ``push_record`` what was pushed and ``rejected_digest`` what was refused (module docstring).
    """

    remote_id: str
    property_uid: int
    status: ReservationStatus
    booking_ids: tuple[int, ...]
    message: str | None
    updated_at: datetime
    site_id: str | None = None
    push_record: str | None = None
    rejected_digest: str | None = None


class ReservationsTable(Tables):
    async def record_reservation(
        self,
        remote_id: str,
        property_uid: int,
        status: ReservationStatus,
        *,
        booking_ids: tuple[int, ...] = (),
        message: str | None = None,
        site_id: str | None = None,
        rejected_digest: str | None = None,
    ) -> None:
        """Record an intent (before the request) or an outcome (after it).

        ``site_id`` None keeps the one already recorded (an outcome of an earlier intent), and so
        does ``rejected_digest`` None (given with a ``failed`` outcome: the content refused).
        """
        args = (
            remote_id,
            property_uid,
            status,
            json.dumps(list(booking_ids)),
            message,
            self._now(),
            site_id,
            rejected_digest,
        )
        async with self._moving("reservations"):
            await self._write(_RECORD, args)

    async def remember_push(self, remote_id: str, push_record: str) -> None:
        """Keep what was pushed of the reservation (its record must exist)."""
        sql = "UPDATE reservations SET push_record = ? WHERE remote_id = ?"
        async with self._moving("reservations"):
            await self._write(sql, (push_record, remote_id))

    async def reservations_by_id(self, remote_ids: Iterable[str]) -> dict[str, ReservationRecord]:
        """``get_reservation`` of each OTA id that has a record, in one query per
        ``_IDS_PER_QUERY`` ids (the reservations job's per-run read)."""
        ids = sorted(set(remote_ids))
        found: dict[str, ReservationRecord] = {}
        for i in range(0, len(ids), _IDS_PER_QUERY):
            chunk = ids[i : i + _IDS_PER_QUERY]
            marks = ", ".join("?" for _ in chunk)
            sql = f"SELECT {_COLUMNS} FROM reservations WHERE remote_id IN ({marks})"  # noqa: S608 - fixed names, placeholders
            found.update(
                (row["remote_id"], _reservation(row)) for row in await self._all(sql, tuple(chunk))
            )
        return found

    async def get_reservation(self, remote_id: str) -> ReservationRecord | None:
        sql = f"SELECT {_COLUMNS} FROM reservations WHERE remote_id = ?"  # noqa: S608 - fixed names
        row = await self._one(sql, (remote_id,))
        return _reservation(row) if row else None

    async def pushed_booking_ids(self, property_uid: int) -> set[int]:
        """Site booking ids of every reservation this worker pushed to the property."""
        rows = await self._all(
            "SELECT booking_ids FROM reservations WHERE property_uid = ?", (property_uid,)
        )
        return {int(i) for row in rows for i in json.loads(row["booking_ids"])}

    async def list_reservations(self, *statuses: ReservationStatus) -> list[ReservationRecord]:
        """Reservations in any of ``statuses`` (e.g. unresolved intents after a crash)."""
        marks = ", ".join("?" for _ in statuses)
        sql = (
            f"SELECT {_COLUMNS} FROM reservations "  # noqa: S608 - fixed names, placeholders
            f"WHERE status IN ({marks}) ORDER BY remote_id"
        )
        return [_reservation(row) for row in await self._all(sql, statuses)]

    async def held_reservations(self) -> tuple[int, datetime | None]:
        """Reservations held (the site refused them, or their cancellation cannot be sent
        safely: what ``status`` lists as held), and when the oldest of them was last updated."""
        row = await self._one(
            "SELECT COUNT(*) AS held, MIN(updated_at) AS oldest FROM reservations "
            "WHERE status = 'failed' OR message LIKE 'cancel held%'"
        )
        if row is None:
            return 0, None
        oldest = row["oldest"]
        return int(row["held"]), None if oldest is None else datetime.fromisoformat(oldest)

    async def reservations_of(self, property_uid: int) -> list[ReservationRecord]:
        """Every reservation record of the property, by OTA id."""
        sql = (
            f"SELECT {_COLUMNS} FROM reservations "  # noqa: S608 - fixed names
            "WHERE property_uid = ? ORDER BY remote_id"
        )
        return [_reservation(row) for row in await self._all(sql, (property_uid,))]


def _reservation(row: sqlite3.Row) -> ReservationRecord:
    return ReservationRecord(
        row["remote_id"],
        int(row["property_uid"]),
        row["status"],
        tuple(int(i) for i in json.loads(row["booking_ids"])),
        row["message"],
        datetime.fromisoformat(row["updated_at"]),
        row["site_id"],
        row["push_record"],
        row["rejected_digest"],
    )
