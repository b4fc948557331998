"""Bookings, black bookings (closures) and the change log (spec §3.6–3.7).

Bookings and black bookings share one contract-id sequence, as in BookyFlow where a closure is a
booking of the owner. ``last_modified`` strictly increases on every change of a booking (bumped by
a second when the change lands in the same second), so ``<booking_id>:<last_modified>`` names one
revision. Deleting a closure cancels it (the real engine keeps it as a cancelled contract). A
pushed booking's link row (``link_id``) is what ``reservations/cancel`` deletes. The change log
(``store_events``) keeps 14 days. ``spec_view`` is the spec's booking object; the real engine's
lives in ``engine_bookings``.
"""

from __future__ import annotations

import random
from dataclasses import asdict, dataclass, fields
from datetime import UTC, datetime, timedelta
from typing import Any

from worker.sandbox.forms import invalid
from worker.sandbox.persistence import Ledger
from worker.sandbox.store_events import STAMP, ChangeLog, Event
from worker.sandbox.store_inventory import Room

__all__ = ["CANCELLED", "STATUS_TEXT", "BlackBooking", "Booking", "Bookings", "Event"]

CANCELLED = 6
_NOT_OCCUPYING = frozenset({CANCELLED, 7, 8})
STATUS_TEXT = {
    1: "New - deposit unpaid",
    2: "New - deposit paid",
    3: "Approved",
    4: "Checked in",
    5: "Checked out",
    6: "Cancelled",
    7: "No show",
    8: "Rejected",
}


@dataclass
class Booking:
    """One stay in one room; ``channel`` is ``"<owner>:<name>"`` of the channel that pushed it."""

    booking_id: int
    booking_number: str
    status_code: int
    property_uid: int
    room_uid: int
    booking_created: str
    last_modified: str
    date_from: str
    date_to: str
    booking_total: str
    currency_code: str
    referrer: str
    adults: int
    children: int
    firstname: str
    surname: str
    email: str
    tel_mobile: str
    country_code: str
    channel: str | None = None
    remote_booking_id: str | None = None
    comments: str = ""
    invoice_id: int = 0
    guest_id: int = 0
    street: str = ""
    postcode: str = ""
    link_id: int = 0
    channel_id: int = 0
    link_remote_id: str | None = None  # the remote id on the push's link row (None: no row)
    invoice_number: int = 0

    @property
    def active(self) -> bool:
        return self.status_code not in _NOT_OCCUPYING

    def overlaps(self, first: str, last: str) -> bool:
        return self.active and self.date_from <= last and first <= self.date_to

    def spec_view(self, channel: str | None) -> dict[str, Any]:
        """The booking object of spec §3.7; ``mapping`` only for the channel that pushed it."""
        body: dict[str, Any] = {
            "booking_id": self.booking_id,
            "booking_number": self.booking_number,
            "status": {
                "status_code": self.status_code,
                "status_text": STATUS_TEXT[self.status_code],
            },
            "property_uid": self.property_uid,
            "booking_created": self.booking_created,
            "last_modified": self.last_modified,
            "date_from": self.date_from,
            "date_to": self.date_to,
            "booking_total": self.booking_total,
            "currency_code": self.currency_code,
            "referrer": self.referrer,
            "guest_numbers": {
                "adults": self.adults,
                "children": self.children,
                "number_of_guests": self.adults + self.children,
            },
            "guest_data": {
                "firstname": self.firstname,
                "surname": self.surname,
                "email": self.email,
                "tel_mobile": self.tel_mobile,
                "country_code": self.country_code,
            },
        }
        if channel is not None and channel == self.channel:
            body["mapping"] = {"remote_booking_id": self.link_remote_id or self.remote_booking_id}
        return body


@dataclass
class BlackBooking:
    """A closure of some rooms of a property over a range of nights."""

    contract_id: int
    property_uid: int
    date_from: str
    date_to: str
    room_ids: list[int]
    remote_booking_id: str = ""
    text: str = ""
    booking_number: str = ""
    last_modified: str = ""
    cancelled: bool = False

    def overlaps(self, first: str, last: str) -> bool:
        return not self.cancelled and self.date_from <= last and first <= self.date_to


BOOKING_FIELDS = frozenset(f.name for f in fields(Booking))


class Bookings(ChangeLog):
    """Every booking, black booking and change-log event of the site."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._db = ledger.persistence
        self.bookings: dict[int, Booking] = {}
        self._by_property: dict[int, dict[int, Booking]] = {}
        self._blacks: dict[int, dict[int, BlackBooking]] = {}
        for row in self._db.load("booking").values():
            self._index(Booking(**row))
        for row in self._db.load("black").values():
            black = BlackBooking(**row)
            self._blacks.setdefault(black.property_uid, {})[black.contract_id] = black
        self._load_events()
        self._random = random.Random()

    def _index(self, booking: Booking) -> None:
        self.bookings[booking.booking_id] = booking
        self._by_property.setdefault(booking.property_uid, {})[booking.booking_id] = booking

    def next_id(self, sequence: str) -> int:
        return self._ledger.next_id(sequence)

    def site_number(self) -> str:
        """A random 8-digit booking number, as the real site makes one, not yet in use."""
        taken = {b.booking_number for b in self.bookings.values()}
        taken |= {b.booking_number for blacks in self._blacks.values() for b in blacks.values()}
        while True:
            number = str(self._random.randint(10_000_000, 99_999_999))
            if number not in taken:
                return number

    def save(self, booking: Booking) -> Booking:
        self._index(booking)
        self._db.put("booking", booking.booking_id, asdict(booking))
        return booking

    def add(self, number: str | None = None, **values: Any) -> Booking:
        """A new booking; ``number`` defaults to the older servers' zero-padded booking id."""
        booking_id = self._ledger.next_id("contract")
        now = self._stamp()
        number = f"{booking_id:08d}" if number is None else number
        booking = Booking(booking_id, number, booking_created=now, last_modified=now, **values)
        return self.save(booking)

    def change(self, booking: Booking, **changes: Any) -> Booking:
        """Apply changes and move ``last_modified`` strictly forward."""
        unknown = set(changes) - BOOKING_FIELDS
        if unknown:
            raise invalid(f"Unknown booking fields: {', '.join(sorted(unknown))}")
        previous = datetime.strptime(booking.last_modified, STAMP).replace(tzinfo=UTC)
        stamp = max(self._ledger.now().replace(microsecond=0), previous + timedelta(seconds=1))
        for name, value in changes.items():
            setattr(booking, name, value)
        booking.last_modified = stamp.strftime(STAMP)
        return self.save(booking)

    def of_property(self, uid: int) -> list[Booking]:
        found = self._by_property.get(uid, {}).values()
        return sorted(found, key=lambda b: (b.last_modified, b.booking_id))

    def busy_rooms(self, uid: int, first: str, last: str) -> set[int]:
        """Rooms taken by bookings or closures on any night of the range."""
        busy = {b.room_uid for b in self.of_property(uid) if b.overlaps(first, last)}
        for black in self.blacks_of(uid):
            if black.overlaps(first, last):
                busy.update(black.room_ids)
        return busy

    def pick_room(self, uid: int, rooms: list[Room], room_type: int, first: str, last: str) -> int:
        """A free room of the type if any; a channel booking is never refused for lack of one
        (BookyFlow takes the channel's word), so it falls back to any room. 0 = no rooms."""
        busy = self.busy_rooms(uid, first, last)
        typed = [r for r in rooms if r.room_type_id == room_type]
        for candidates in (typed, rooms):
            free = [r for r in candidates if r.room_uid not in busy]
            if free or candidates:
                return (free or candidates)[0].room_uid
        return 0

    def add_black(self, black: BlackBooking) -> int:
        black.contract_id = self._ledger.next_id("contract")
        black.booking_number = self.site_number()
        black.last_modified = self._stamp()
        self._save_black(black)
        return black.contract_id

    def _save_black(self, black: BlackBooking) -> None:
        self._blacks.setdefault(black.property_uid, {})[black.contract_id] = black
        self._db.put("black", black.contract_id, asdict(black))

    def delete_black(self, uid: int, contract_id: int, message: str) -> None:
        """Cancel a live closure (it stays on record, as on the real engine)."""
        black = self._blacks.get(uid, {}).get(contract_id)
        if black is None or black.cancelled:
            raise invalid(message)
        black.cancelled = True
        black.last_modified = self._stamp()
        self._save_black(black)

    def blacks_of(self, uid: int, *, cancelled: bool = False) -> list[BlackBooking]:
        """Live closures of a property (and the cancelled ones too with ``cancelled``)."""
        blacks = self._blacks.get(uid, {}).values()
        return [b for b in blacks if cancelled or not b.cancelled]

    def forget_property(self, uid: int) -> None:
        for booking_id in self._by_property.pop(uid, {}):
            del self.bookings[booking_id]
            self._db.delete("booking", booking_id)
        for contract_id in self._blacks.pop(uid, {}):
            self._db.delete("black", contract_id)

    def invoice_number(self, uid: int) -> int:
        """The property's next invoice number (the real site numbers them per property)."""
        issued = sum(1 for b in self.of_property(uid) if b.invoice_id)
        return 1001 + issued
