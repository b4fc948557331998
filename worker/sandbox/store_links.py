"""Cancellations and booking links of pushed reservations (spec §3.7), in both modes.

The real engine keeps a link row per push (``bookings_xref``): ``reservations/cancel`` casts its
ids to integers and compares them with each row's remote id as MySQL compares a string column
with a number (so one text id cancels every text-id push of the channel), and deletes the rows it
cancelled; ``GET booking/link`` pastes its id unquoted into SQL (a text id finds nothing);
``PUT booking/link`` moves a row to another remote id. ``worker.sandbox.php`` has those semantics.
Older servers (legacy) match remote ids as strings.
"""

from __future__ import annotations

from typing import Any

from worker.sandbox.forms import invalid
from worker.sandbox.php import intval, is_sql_number, mysql_number, sanitize_special_chars
from worker.sandbox.store_bookings import CANCELLED, Booking, Bookings
from worker.sandbox.store_inventory import Inventory, Property
from worker.sandbox.store_operations import ChannelRef

SITE_CHANNEL = ""  # change-log channel name of bookings made on the hotel's own site


class LinkOperations:
    """The part of ``BookingOperations`` that finds, cancels and relinks pushes."""

    _inventory: Inventory
    _bookings: Bookings

    def cancel_reservations(
        self, channel: ChannelRef, remote_ids: list[Any], *, engine: bool = False
    ) -> dict[str, Any]:
        """Legacy: ids matched as strings. Engine: ids cast to integers and compared with each
        linked push's remote id as MySQL compares a string column with a number; a cancelled
        push loses its link row."""
        mine = [b for b in self._bookings.bookings.values() if b.channel == channel.key]
        if engine:
            wanted_numbers = {float(intval(remote_id)) for remote_id in remote_ids}
            found = [b for b in mine if b.link_id and b.link_remote_id is not None
                     and mysql_number(b.link_remote_id) in wanted_numbers]  # fmt: skip
        else:
            wanted = {str(remote_id) for remote_id in remote_ids}
            found = [b for b in mine if b.remote_booking_id in wanted]
        if not found:
            return {"success": False, "message": "No reservations found"}
        found.sort(key=lambda b: b.link_id or b.booking_id)
        for booking in found:
            if engine:  # the link row is deleted along with the cancellation
                booking.link_id, booking.link_remote_id = 0, None
            if booking.status_code != CANCELLED:
                self.cancel(booking, channel, engine=engine)
            else:
                self._bookings.save(booking)
        if engine:
            return {"success": True, "cancellations": [
                f"Cancelled booking for property uid {b.property_uid} with contract id of "
                f"{b.booking_id} " for b in found]}  # fmt: skip
        cancellations = [
            {"remote_reservation_id": b.remote_booking_id, "local_booking_id": b.booking_id}
            for b in found
        ]
        return {"success": True, "cancellations": cancellations}

    def cancel(
        self, booking: Booking, channel: ChannelRef | None, *, engine: bool = False
    ) -> Booking:
        """Status 6, logged for the channel, or for the site when ``channel`` is None."""
        self._bookings.change(booking, status_code=CANCELLED)
        who = channel.log_fields() if channel else {"channel_name": SITE_CHANNEL}
        if engine:
            self._bookings.record_cancellation(booking, who)
        else:
            self._bookings.record(booking.property_uid, "booking_cancelled", **who,
                                  contract_uid=booking.booking_id)  # fmt: skip
        return booking

    def booking_link(
        self, channel: ChannelRef, prop: Property, remote_id: str, *, engine: bool = False
    ) -> dict[str, Any]:
        """Legacy: every push with that exact id. Engine: a non-numeric id is an SQL error
        (nothing found); a numeric one matches linked pushes numerically."""
        mine = [b for b in sorted(self._bookings.of_property(prop.property_uid), key=_by_id)
                if b.channel == channel.key]  # fmt: skip
        if not engine:
            return {
                "local_bookings": [
                    {"local_booking_id": b.booking_id}
                    for b in mine
                    if b.remote_booking_id == remote_id
                ]
            }
        if not is_sql_number(remote_id):
            return {"local_bookings": []}
        number = float(remote_id)
        return {"local_bookings": [
            {"local_booking_id": str(b.booking_id)} for b in mine
            if b.link_id and mysql_number(b.link_remote_id or "") == number
        ]}  # fmt: skip

    def relink(
        self, channel: ChannelRef, prop: Property, remote_id: str, local_id: int
    ) -> dict[str, Any]:
        """``PUT booking/link``: the booking's link row gets ``remote_id`` (a row is added when
        it had none). The answer's id is a string for an updated row, a number for a new one."""
        if not remote_id:
            raise invalid("Remote booking id not set.")
        live = [b for b in self._bookings.of_property(prop.property_uid) if b.active]
        if not live:
            raise invalid("Proprety has no active bookings")  # sic
        booking = next((b for b in live if b.booking_id == local_id), None)
        if booking is None:
            raise invalid("Booking does not exist")
        link_id: int | str = str(booking.link_id) if booking.link_id else 0
        if not booking.link_id:
            booking.link_id = self._bookings.next_id("link")
            booking.channel, booking.channel_id = channel.key, channel.channel_id
            link_id = booking.link_id
        booking.link_remote_id = sanitize_special_chars(remote_id)
        self._bookings.save(booking)
        return {"link_id": link_id}


def _by_id(booking: Booking) -> int:
    return booking.booking_id
