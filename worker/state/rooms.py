"""The ``rooms`` table: per property, the vendor's room ``remote_id`` → BookyFlow's
``room_uid``, and a digest of what was last sent for the room (``sent``)."""

from __future__ import annotations

from worker.state.tables import Tables

__all__ = ["RoomsTable"]


class RoomsTable(Tables):
    async def get_rooms(self, property_uid: int) -> dict[str, int]:
        """The vendor's room ``remote_id`` → BookyFlow ``room_uid`` (remembered until a rooms
        write: every job asks for it per property per run)."""

        async def read() -> dict[str, int]:
            sql = "SELECT remote_id, room_uid FROM rooms WHERE property_uid = ?"
            rows = await self._all(sql, (property_uid,))
            return {str(row["remote_id"]): int(row["room_uid"]) for row in rows}

        return dict(await self._remembered_read("rooms", property_uid, read))  # the caller's copy

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
        async with self._moving("rooms"):
            await self._write(sql, (property_uid, remote_id, room_uid, sent))

    async def get_room_digests(self, property_uid: int) -> dict[str, str]:
        """The vendor room ``remote_id`` → digest of what was last sent for it (when known)."""
        rows = await self._all(
            "SELECT remote_id, sent FROM rooms WHERE property_uid = ? AND sent IS NOT NULL",
            (property_uid,),
        )
        return {str(row["remote_id"]): str(row["sent"]) for row in rows}

    async def forget_room(self, property_uid: int, remote_id: str) -> None:
        sql = "DELETE FROM rooms WHERE property_uid = ? AND remote_id = ?"
        async with self._moving("rooms"):
            await self._write(sql, (property_uid, remote_id))
