"""Closures (black bookings, spec §3.6): create, cancel and list, in both modes.

A closure is a contract of the site: it shares the booking-id sequence, the real engine lists it
among bookings, and deleting it cancels it (it stays on record). The real engine answers a clash
with a booking as a bare ``{"success": false}`` and lists closure ids as strings.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from worker.sandbox.forms import invalid
from worker.sandbox.php import sanitize_special_chars
from worker.sandbox.store_bookings import BlackBooking, Bookings
from worker.sandbox.store_inventory import Property
from worker.sandbox.store_operations import ChannelRef


class ClosureOperations:
    """Closures of a channel's properties."""

    def __init__(self, bookings: Bookings) -> None:
        self._bookings = bookings

    def add_black(
        self, channel: ChannelRef, prop: Property, black: BlackBooking, *, engine: bool = False
    ) -> dict[str, Any]:
        known = {room.room_uid for room in prop.rooms}
        if not black.room_ids:
            black.room_ids = sorted(known)
        elif not set(black.room_ids) <= known:
            raise invalid("room_ids contains a room that is not in this property")
        busy = self._bookings.busy_rooms(prop.property_uid, black.date_from, black.date_to)
        if busy & set(black.room_ids):
            return {"success": False} if engine else {
                "success": False, "message": "Those dates are already booked"}  # fmt: skip
        if engine:
            black.text = sanitize_special_chars(black.text)
        contract_id = self._bookings.add_black(black)
        self._bookings.record(prop.property_uid, "blackbooking_created", **channel.log_fields(),
                              contract_uid=contract_id)  # fmt: skip
        return {"success": True, "contract_id": contract_id}

    def delete_black(
        self, channel: ChannelRef, prop: Property, contract_id: int, *, engine: bool = False
    ) -> bool:
        """Cancel a closure; the real engine logs it as a cancelled booking."""
        message = "Contract id is not valid" if engine else (
            f"Black booking {contract_id} does not exist")  # fmt: skip
        self._bookings.delete_black(prop.property_uid, contract_id, message)
        self._bookings.record(prop.property_uid, "booking_cancelled", **channel.log_fields(),
                              contract_uid=contract_id)  # fmt: skip
        return True

    def future_blacks(self, prop: Property, today: date, *, engine: bool = False) -> Any:
        """Live closures whose last night is today or later; ``[]`` when there is none."""
        blacks = [b for b in self._bookings.blacks_of(prop.property_uid) if b.date_to >= str(today)]
        if not blacks:
            return []
        blacks.sort(key=lambda b: b.contract_id)
        ids: list[Any] = [str(b.contract_id) if engine else b.contract_id for b in blacks]
        return {
            "blackbooking_ids": ids,
            "blackbookings": {
                str(b.contract_id): {"date_from": b.date_from, "date_to": b.date_to} for b in blacks
            },
        }
