"""CMF operations on availability and bookings (spec §3.6–3.7), plus guests booking on the site.

``reservations/add`` does not deduplicate: re-sending a reservation creates another booking, which
is why a careful client checks ``booking/link`` first. Stays for properties the channel does not own
are skipped silently, as the real server does.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from worker.errors import ClientRequestError
from worker.sandbox import dictionaries as dicts
from worker.sandbox.forms import Reservation, Stay, invalid, parse_reservation
from worker.sandbox.store_bookings import CANCELLED, BlackBooking, Booking, Bookings
from worker.sandbox.store_inventory import Inventory, Property
from worker.sandbox.store_operations import ChannelRef

SITE_CHANNEL = ""  # change-log channel name of bookings made on the hotel's own site


class BookingOperations:
    """Closures, reservations pushed by channels, and bookings made on the site."""

    def __init__(self, inventory: Inventory, bookings: Bookings) -> None:
        self._inventory = inventory
        self._bookings = bookings

    # black bookings ---------------------------------------------------------------------------

    def add_black(self, channel: ChannelRef, prop: Property, black: BlackBooking) -> dict[str, Any]:
        known = {room.room_uid for room in prop.rooms}
        if not black.room_ids:
            black.room_ids = sorted(known)
        elif not set(black.room_ids) <= known:
            raise invalid("room_ids contains a room that is not in this property")
        busy = self._bookings.busy_rooms(prop.property_uid, black.date_from, black.date_to)
        if busy & set(black.room_ids):
            return {"success": False, "message": "Those dates are already booked"}
        contract_id = self._bookings.add_black(black)
        self._bookings.record(prop.property_uid, "blackbooking_added", channel.name)
        return {"success": True, "contract_id": contract_id}

    def delete_black(self, channel: ChannelRef, prop: Property, contract_id: int) -> bool:
        self._bookings.delete_black(prop.property_uid, contract_id)
        self._bookings.record(prop.property_uid, "blackbooking_deleted", channel.name)
        return True

    def future_blacks(self, prop: Property, today: date) -> Any:
        """Closures whose last night is today or later; ``[]`` when there is none."""
        blacks = [b for b in self._bookings.blacks_of(prop.property_uid) if b.date_to >= str(today)]
        if not blacks:
            return []
        blacks.sort(key=lambda b: b.contract_id)
        return {
            "blackbooking_ids": [b.contract_id for b in blacks],
            "blackbookings": {
                str(b.contract_id): {"date_from": b.date_from, "date_to": b.date_to} for b in blacks
            },
        }

    # reservations -----------------------------------------------------------------------------

    def add_reservations(self, channel: ChannelRef, items: list[Any]) -> dict[str, Any]:
        done: dict[str, Any] = {}
        failed: dict[str, Any] = {}
        for index, item in enumerate(items):
            try:
                reservation = parse_reservation(item)
            except ClientRequestError as exc:
                failed[_reservation_key(item, index)] = {"success": False, "message": exc.message}
                continue
            link = self._book(channel, reservation)
            if link is not None:
                done[reservation.remote_id] = {"success": True, "link": link}
        return {"successful_bookings": done, "unsuccessful_bookings": failed}

    def _book(self, channel: ChannelRef, reservation: Reservation) -> dict[str, Any] | None:
        link = None
        for stay in reservation.stays:
            prop = self._inventory.properties.get(stay.property_id)
            if prop is None or (prop.owner_id, prop.channel_name) != (
                channel.owner_id,
                channel.name,
            ):
                continue  # not this channel's property: skipped silently
            booking = self._book_stay(channel, reservation, prop, stay)
            link = {
                "contract_uid": booking.booking_id,
                "property_uid": prop.property_uid,
                "date_from": booking.date_from,
                "date_to": booking.date_to,
            }
        return link

    def _book_stay(
        self, channel: ChannelRef, reservation: Reservation, prop: Property, stay: Stay
    ) -> Booking:
        first, last = stay.date_from.isoformat(), stay.date_to.isoformat()
        guest = reservation.guest
        booking = self._bookings.add(
            status_code=2 if stay.already_paid > 0 else 1,
            property_uid=prop.property_uid,
            room_uid=self._bookings.pick_room(
                prop.property_uid, prop.rooms, stay.room_type_id, first, last
            ),
            date_from=first,
            date_to=last,
            booking_total=str(stay.client_price),
            currency_code=dicts.currency_for(prop.country),
            referrer=reservation.referrer or channel.name,
            adults=stay.guest_number,
            children=0,
            firstname=guest["name"],
            surname=guest["surname"],
            email=guest["email"],
            tel_mobile=guest["phone"],
            country_code=guest["country_code"],
            channel=channel.key,
            remote_booking_id=reservation.remote_id,
        )
        self._bookings.record(prop.property_uid, "booking_added", channel.name)
        return booking

    def cancel_reservations(self, channel: ChannelRef, remote_ids: list[Any]) -> dict[str, Any]:
        wanted = {str(remote_id) for remote_id in remote_ids}
        found = [
            b
            for b in self._bookings.bookings.values()
            if b.channel == channel.key and b.remote_booking_id in wanted
        ]
        if not found:
            return {"success": False, "message": "No reservations found"}
        for booking in found:
            if booking.status_code != CANCELLED:
                self.cancel(booking, channel.name)
        cancellations = [
            {"remote_reservation_id": b.remote_booking_id, "local_booking_id": b.booking_id}
            for b in found
        ]
        return {"success": True, "cancellations": cancellations}

    def cancel(self, booking: Booking, channel_name: str) -> Booking:
        self._bookings.change(booking, status_code=CANCELLED)
        self._bookings.record(booking.property_uid, "booking_cancelled", channel_name)
        return booking

    def booking_link(self, channel: ChannelRef, prop: Property, remote_id: str) -> dict[str, Any]:
        local = [
            {"local_booking_id": b.booking_id}
            for b in sorted(self._bookings.of_property(prop.property_uid), key=_by_id)
            if b.channel == channel.key and b.remote_booking_id == remote_id
        ]
        return {"local_bookings": local}

    def list_bookings(self, channel: ChannelRef, prop: Property) -> list[dict[str, Any]]:
        return [b.view(channel.key) for b in self._bookings.of_property(prop.property_uid)]

    def change_logs(self, channel: ChannelRef) -> dict[str, Any]:
        owned = {p.property_uid for p in self._inventory.of_channel(channel.owner_id, channel.name)}
        grouped = self._bookings.recent_events(owned)
        return {str(uid): [e.view() for e in events] for uid, events in grouped.items()}

    # bookings made on the hotel's own site ----------------------------------------------------

    def book_on_site(self, prop: Property, first: date, last: date, **guest: Any) -> Booking:
        start, end = first.isoformat(), last.isoformat()
        room_uid = self._bookings.pick_room(prop.property_uid, prop.rooms, 0, start, end)
        booking = self._bookings.add(
            status_code=1, property_uid=prop.property_uid, room_uid=room_uid, date_from=start,
            date_to=end, currency_code=dicts.currency_for(prop.country), referrer="website",
            children=0, tel_mobile="", country_code=prop.country, **guest,
        )  # fmt: skip
        self._bookings.record(prop.property_uid, "booking_added", SITE_CHANNEL)
        return booking

    def modify_site_booking(self, booking: Booking, changes: dict[str, Any]) -> Booking:
        self._bookings.change(booking, **changes)
        self._bookings.record(booking.property_uid, "booking_modified", SITE_CHANNEL)
        return booking


def _by_id(booking: Booking) -> int:
    return booking.booking_id


def _reservation_key(item: Any, index: int) -> str:
    """The id an unsuccessful item is reported under (its position when it has none)."""
    remote_id = item.get("remote_reservation_id") if isinstance(item, dict) else None
    return str(index) if remote_id in (None, "") else str(remote_id)
