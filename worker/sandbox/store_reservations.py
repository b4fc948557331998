"""CMF operations on bookings (spec §3.7), in both modes, plus guests booking on the site.

``reservations/add`` does not deduplicate: re-sending a reservation creates another booking. Stays
for properties the channel does not own are skipped silently. The real engine (``engine``) books a
room of the channel's rooms link that is free on every night, of the stay's room type, whose class
is called ``room_type_name`` (``"Double"`` when absent, no filter when ``""``) and that holds the
guests. Older servers (legacy) always find a room. Cancellations and links: ``store_links``.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from worker.errors import ClientRequestError
from worker.sandbox import dictionaries as dicts
from worker.sandbox import engine_bookings as views
from worker.sandbox.forms import Reservation, Stay, parse_reservation
from worker.sandbox.php import (
    empty_as_list,
)
from worker.sandbox.store_bookings import Booking, Bookings, Event
from worker.sandbox.store_inventory import Inventory, Property, Room
from worker.sandbox.store_links import SITE_CHANNEL, LinkOperations
from worker.sandbox.store_operations import ChannelRef

DEFAULT_ROOM_TYPE_NAME = "Double"
ENGINE_CURRENCY = "EUR"
APPROVED = 3


class NoRoom(Exception):
    """The real engine found no room for a stay; the message is its wording."""


def engine_room(rooms: list[Room], busy: set[int], stay: Stay) -> Room:
    """The room the real engine books for ``stay``, or ``NoRoom`` with its reason."""
    free = [r for r in rooms if r.room_uid not in busy]
    if not free:
        raise NoRoom("No rooms continuously available")
    typed = [r for r in free if r.room_type_id == stay.room_type_id]
    if not typed:
        raise NoRoom("No rooms available for the required room type id")
    name = DEFAULT_ROOM_TYPE_NAME if stay.room_type_name is None else stay.room_type_name
    named = [r for r in typed if not name or dicts.room_type_name(r.room_type_id) == name]
    if not named:
        raise NoRoom("No rooms available for the required room type name")
    fitting = [r for r in named if r.max_people >= stay.guest_number]
    if not fitting:
        raise NoRoom("No rooms available that can accommodate the required guest numbers")
    return fitting[0]


class BookingOperations(LinkOperations):
    """Reservations pushed by channels, and bookings made on the site."""

    def __init__(self, inventory: Inventory, bookings: Bookings) -> None:
        self._inventory = inventory
        self._bookings = bookings

    def _owned(self, channel: ChannelRef, uid: int) -> Property | None:
        prop = self._inventory.properties.get(uid)
        if prop is None or (prop.owner_id, prop.channel_name) != (channel.owner_id, channel.name):
            return None
        return prop

    def add_reservations(
        self, channel: ChannelRef, items: list[Any], *, engine: bool = False
    ) -> dict[str, Any]:
        done: dict[str, Any] = {}
        failed: dict[str, Any] = {}
        for index, item in enumerate(items):
            try:
                reservation = parse_reservation(item)
                link = self._book(channel, reservation, engine=engine)
            except (ClientRequestError, NoRoom) as exc:
                message = exc.message if isinstance(exc, ClientRequestError) else str(exc)
                failed[_reservation_key(item, index)] = {"success": False, "message": message}
                continue
            if link is not None:
                done[reservation.remote_id] = {"success": True, "link": link}
        if engine:
            return {"successful_bookings": empty_as_list(done),
                    "unsuccessful_bookings": empty_as_list(failed)}  # fmt: skip
        return {"successful_bookings": done, "unsuccessful_bookings": failed}

    def _book(
        self, channel: ChannelRef, reservation: Reservation, *, engine: bool
    ) -> dict[str, Any] | None:
        link = None
        for stay in reservation.stays:
            prop = self._owned(channel, stay.property_id)
            if prop is None:
                continue  # not this channel's property: skipped silently
            booking = self._book_stay(channel, reservation, prop, stay, engine=engine)
            link = {"contract_uid": booking.booking_id, "property_uid": prop.property_uid,
                    "date_from": booking.date_from, "date_to": booking.date_to}  # fmt: skip
            if engine:
                link = {"link_id": booking.link_id, **link, "property_name": prop.property_name}
        return link

    def _room_for(self, prop: Property, stay: Stay, *, engine: bool) -> int:
        first, last = stay.date_from.isoformat(), stay.date_to.isoformat()
        if not engine:
            return self._bookings.pick_room(
                prop.property_uid, prop.rooms, stay.room_type_id, first, last
            )
        busy = self._bookings.busy_rooms(prop.property_uid, first, last)
        return engine_room(prop.channel_rooms, busy, stay).room_uid

    def _book_stay(
        self, channel: ChannelRef, reservation: Reservation, prop: Property, stay: Stay, *,
        engine: bool,
    ) -> Booking:  # fmt: skip
        room_uid = self._room_for(prop, stay, engine=engine)
        guest = reservation.guest
        values: dict[str, Any] = {
            "status_code": 2 if stay.already_paid > 0 else 1,
            "currency_code": dicts.currency_for(prop.country),
            "referrer": reservation.referrer or channel.name,
        }
        if engine:
            values = {"status_code": APPROVED, "currency_code": ENGINE_CURRENCY,
                      "referrer": reservation.referrer, "number": reservation.remote_id,
                      **self._invoice(prop), "link_id": self._bookings.next_id("link"),
                      "link_remote_id": reservation.remote_id,
                      "comments": reservation.comments}  # fmt: skip
        booking = self._bookings.add(
            **values, property_uid=prop.property_uid, room_uid=room_uid,
            date_from=stay.date_from.isoformat(), date_to=stay.date_to.isoformat(),
            booking_total=str(stay.client_price), adults=stay.guest_number, children=0,
            firstname=guest["name"], surname=guest["surname"], email=guest["email"],
            tel_mobile=guest["phone"], country_code=guest["country_code"],
            street=guest["address"], postcode=guest["post_code"],
            guest_id=self._guest_id(guest["email"]), channel=channel.key,
            channel_id=channel.channel_id, remote_booking_id=reservation.remote_id,
        )  # fmt: skip
        self._bookings.record_booking(booking, channel.log_fields(), engine=engine)
        return booking

    def _invoice(self, prop: Property) -> dict[str, int]:
        """A new invoice of the property: its site-wide id and its number within the property."""
        return {"invoice_id": self._bookings.next_id("invoice"),
                "invoice_number": self._bookings.invoice_number(prop.property_uid)}  # fmt: skip

    def _guest_id(self, email: str) -> int:
        """The site's guest record: one per e-mail address."""
        known = (b.guest_id for b in self._bookings.bookings.values() if b.email == email)
        return next((gid for gid in known if gid), 0) or self._bookings.next_id("guest")

    def list_bookings(
        self, channel: ChannelRef, prop: Property, *, engine: bool = False
    ) -> list[dict[str, Any]]:
        """Legacy: bookings only, ``mapping`` for the channel's pushes. Engine: closures too."""
        bookings = self._bookings.of_property(prop.property_uid)
        if not engine:
            return [b.spec_view(channel.key) for b in bookings]
        entries: list[tuple[str, int, dict[str, Any]]] = [
            (b.last_modified, b.booking_id, views.booking_object(b)) for b in bookings
        ]
        for black in self._bookings.blacks_of(prop.property_uid, cancelled=True):
            entries.append((black.last_modified, black.contract_id, views.black_object(black)))
        return [view for _, _, view in sorted(entries, key=lambda e: (e[0], e[1]))]

    def change_logs(self, channel: ChannelRef, *, engine: bool = False) -> dict[str, Any]:
        owned = {p.property_uid for p in self._inventory.of_channel(channel.owner_id, channel.name)}
        return self.change_log_view(self._bookings.recent_events(owned), engine=engine)

    @staticmethod
    def change_log_view(grouped: dict[int, list[Event]], *, engine: bool) -> dict[str, Any]:
        """The answer: each property's events (``recent_events``), as the mode shows them."""
        if engine:
            return {str(uid): [views.event_object(e) for e in events]
                    for uid, events in grouped.items()}  # fmt: skip
        return {str(uid): [e.spec_view() for e in events] for uid, events in grouped.items()}

    # bookings made on the hotel's own site ----------------------------------------------------

    def book_on_site(
        self, prop: Property, first: date, last: date, *, engine: bool, **guest: Any
    ) -> Booking:
        start, end = first.isoformat(), last.isoformat()
        room_uid = self._bookings.pick_room(prop.property_uid, prop.rooms, 0, start, end)
        values: dict[str, Any] = {
            "status_code": 1,
            "referrer": "website",
            "currency_code": dicts.currency_for(prop.country),
        }
        if engine:
            values = {
                "status_code": APPROVED,
                "referrer": "Website",
                "currency_code": ENGINE_CURRENCY,
                "number": self._bookings.site_number(),
                **self._invoice(prop),
                "guest_id": self._guest_id(guest.get("email", "")),
            }
        booking = self._bookings.add(
            **values, property_uid=prop.property_uid, room_uid=room_uid, date_from=start,
            date_to=end, children=0, tel_mobile="", country_code=prop.country, **guest,
        )  # fmt: skip
        self._bookings.record_booking(booking, {"channel_name": SITE_CHANNEL}, engine=engine)
        return booking

    def modify_site_booking(self, booking: Booking, changes: dict[str, Any]) -> Booking:
        self._bookings.change(booking, **changes)
        self._bookings.record(booking.property_uid, "booking_modified", SITE_CHANNEL,
                              contract_uid=booking.booking_id)  # fmt: skip
        return booking


def _reservation_key(item: Any, index: int) -> str:
    """The id an unsuccessful item is reported under (its position when it has none)."""
    remote_id = item.get("remote_reservation_id") if isinstance(item, dict) else None
    return str(index) if remote_id in (None, "") else str(remote_id)
