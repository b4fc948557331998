"""Pure decisions of the reservations job: what one OTA reservation needs next.

A reservation must never reach the site twice (``reservations/add`` does not deduplicate), and a
cancellation is sent only for a reservation that was pushed. The state record says where each
reservation stands; where it cannot be sure (no record, or an ``intent`` left by a crash) the job
looks for an earlier push among the property's bookings (``find_pushed``) before acting.

Site ids. OTA ids are often not numeric (``BK-2027-0001``), and the real engine cannot take them:
``booking/link`` finds no non-numeric remote id, and ``reservations/cancel`` casts the ids to
integers, so cancelling one text id cancels every text-id booking of the channel. So every
reservation is pushed under a numeric id of the worker's own, ``site_reservation_id``: 15 digits
derived from the OTA id alone (so a lost state directory derives it again), starting with 9 —
outside the site's own 8-digit booking numbers and exact in the engine's floating-point
comparisons. The OTA id is sent beside it in ``comments`` (the real engine drops them; the worker's
state keeps the pair). Reservations pushed under their OTA id
by an earlier version keep that id (state, or a booking that carries it).

Earlier pushes are recognised from what ``list/bookings`` really returns: the channel's pushes
carry ``mapping.linked_bookings.remote_booking_id`` and have the remote id as ``booking_number``;
a cancelled push loses its mapping but keeps the number.

The decision table:

=========== ========================================== =====================================
inventory   state                                      step
=========== ========================================== =====================================
confirmed   none, intent                               PUSH (booking_link first, then add)
confirmed   failed, content changed since              PUSH
confirmed   failed, same content                       NOTHING (it was rejected; say so once)
confirmed   pushed, cancel_intent, cancelled           NOTHING
cancelled   pushed, cancel_intent                      CANCEL
cancelled   none, intent                               CHECK_THEN_CANCEL (booking_link decides)
cancelled   failed                                     NEVER_PUSHED (the site refused it)
cancelled   cancelled                                  NOTHING
=========== ========================================== =====================================
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date
from enum import Enum

from worker.api.models import Booking, GuestInfo, Reservation, StayInfo
from worker.inventory.models import Reservation as VendorReservation
from worker.state import ReservationStatus

CANCELLED = 6
_SITE_ID_SPAN = 10**14  # "9" + 14 digits: 15 in all, below 2**53


def site_reservation_id(ota_id: str) -> str:
    """The numeric remote id the worker pushes for OTA reservation ``ota_id`` (stable)."""
    digest = hashlib.blake2b(ota_id.encode(), digest_size=8, person=b"bf-resv-id").digest()
    return str(9 * _SITE_ID_SPAN + int.from_bytes(digest, "big") % _SITE_ID_SPAN)


def is_site_reservation_id(value: str) -> bool:
    """Whether ``value`` has the shape of ``site_reservation_id`` (a push of this worker)."""
    return len(value) == 15 and value.isascii() and value.isdigit() and value[0] == "9"


def cancellable_id(remote_id: str) -> bool:
    """Whether cancelling ``remote_id`` cancels only its own booking on the real engine."""
    return remote_id.isascii() and remote_id.isdigit() and len(remote_id) <= 15


def _remote_ids(booking: Booking) -> set[str]:
    ids = {booking.booking_number} if booking.booking_number else set()
    if booking.mapping is not None and booking.mapping.remote_booking_id:
        ids.add(booking.mapping.remote_booking_id)
    return ids


def find_pushed(bookings: Iterable[Booking], ota_id: str, site_id: str) -> list[Booking]:
    """The bookings that are earlier pushes of this reservation (see the module docstring).

    ``site_id`` matches by mapping or booking number; the OTA id (what earlier versions pushed)
    matches by mapping, or by number unless it could be one of the site's own 8-digit numbers.
    """
    wanted = {site_id, ota_id}
    site_number = ota_id.isdigit() and len(ota_id) == 8
    found = []
    for booking in bookings:
        ids = _remote_ids(booking)
        if site_number and booking.mapping is None:
            ids.discard(ota_id)
        if ids & wanted:
            found.append(booking)
    return found


def pushed_id(booking: Booking) -> str:
    """The remote id a found push was made under (its mapping, else its booking number)."""
    if booking.mapping is not None and booking.mapping.remote_booking_id:
        return booking.mapping.remote_booking_id
    return booking.booking_number


def is_active(booking: Booking) -> bool:
    return booking.status.status_code != CANCELLED


class Step(Enum):
    NOTHING = "nothing"
    PUSH = "push"
    CANCEL = "cancel"
    CHECK_THEN_CANCEL = "check_then_cancel"
    NEVER_PUSHED = "never_pushed"


def to_api(
    property_uid: int, reservation: VendorReservation, site_id: str | None = None
) -> Reservation:
    """The ``reservations/add`` item for a vendor reservation (one stay, ``date_to`` last night),
    under ``site_id`` (default: ``site_reservation_id`` of the OTA id)."""
    guest = reservation.guest
    return Reservation(
        remote_reservation_id=site_id or site_reservation_id(reservation.id),
        referrer=reservation.referrer,
        comments=f"{reservation.referrer} reservation {reservation.id}".strip(),
        guest_info=GuestInfo(
            name=guest.name,
            surname=guest.surname,
            email=guest.email,
            phone=guest.phone,
            address=guest.address,
            post_code=guest.post_code,
            country_code=guest.country_code,
            language_id=guest.language_id,
        ),
        stay_infos=[
            StayInfo(
                property_id=property_uid,
                date_from=reservation.date_from,
                date_to=reservation.date_to,
                room_type_id=reservation.room_type_id,
                guest_number=reservation.guests,
                client_price=reservation.client_price,
                channel_price=reservation.channel_price,
                already_paid=reservation.already_paid,
            )
        ],
    )


def content_digest(item: Reservation) -> str:
    """A fingerprint of what would be sent: a rejected reservation is retried only if it changes."""
    return hashlib.sha256(item.model_dump_json().encode()).hexdigest()[:32]


def needs_digest(wanted: str, status: ReservationStatus | None) -> bool:
    """Whether ``next_step`` and the step it gives use the content digest: a push, or a refused
    reservation (sent again only when its content changed). Any other reservation, pushed or
    cancelled, is not digested on every run."""
    return wanted == "confirmed" and status in (None, "intent", "failed")


def next_step(
    wanted: str,
    status: ReservationStatus | None,
    *,
    digest: str,
    rejected_digest: str | None = None,
) -> Step:
    """The decision table of the module docstring."""
    if wanted == "confirmed":
        return _confirmed(status, digest, rejected_digest)
    if status in ("pushed", "cancel_intent"):
        return Step.CANCEL
    if status in (None, "intent"):
        return Step.CHECK_THEN_CANCEL
    if status == "failed":
        return Step.NEVER_PUSHED
    return Step.NOTHING


def _confirmed(status: ReservationStatus | None, digest: str, rejected: str | None) -> Step:
    if status in (None, "intent"):
        return Step.PUSH
    if status == "failed" and digest != rejected:
        return Step.PUSH
    return Step.NOTHING


# -- reservation.changed ---------------------------------------------------------------------
# BookyFlow has no call to modify a reservation, so a pushed one whose stay or prices change in
# the vendor's document cannot be brought in line: it is reported instead, once per change. What
# was pushed is kept as one short digest per compared field (no guest data in clear) with the
# stay's last night (safe prune keeps a property whose pushed stay has not ended), with the
# reservation's record (``ReservationRecord.push_record``); ``reported`` is the digest of the
# fields last reported.

CHANGE_FIELDS = (
    "date_from",
    "date_to",
    "room_type_id",
    "guests",
    "client_price",
    "channel_price",
    "already_paid",
    "guest",
)


def field_digests(reservation: VendorReservation) -> dict[str, str]:
    """One short digest per compared field (``CHANGE_FIELDS``) of the vendor's reservation."""
    values = reservation.model_dump(mode="json", include=set(CHANGE_FIELDS))
    return {name: _short(json.dumps(values[name], sort_keys=True)) for name in CHANGE_FIELDS}


@dataclass(frozen=True)
class PushedRecord:
    """What the worker knows of a push: its last night and the digests of what was sent."""

    last_night: date | None
    fields: dict[str, str]
    reported: str | None = None

    @classmethod
    def of(cls, reservation: VendorReservation) -> PushedRecord:
        return cls(reservation.date_to, field_digests(reservation))

    def dump(self) -> str:
        night = self.last_night.isoformat() if self.last_night else None
        record = {"last_night": night, "fields": self.fields, "reported": self.reported}
        return json.dumps(record, sort_keys=True)


def read_pushed(value: str | None) -> PushedRecord | None:
    """The record kept in state, or None when there is none (or it cannot be read)."""
    if value is None:
        return None
    try:
        raw = json.loads(value)
        last_night = date.fromisoformat(raw["last_night"]) if raw.get("last_night") else None
        fields = {str(k): str(v) for k, v in dict(raw["fields"]).items()}
    except (ValueError, KeyError, TypeError, AttributeError):
        return None
    reported = raw.get("reported")
    return PushedRecord(last_night, fields, reported if isinstance(reported, str) else None)


def changed_fields(pushed: PushedRecord, current: dict[str, str]) -> tuple[str, ...]:
    """The compared fields whose current value differs from what was pushed, in a fixed order."""
    return tuple(name for name in CHANGE_FIELDS if pushed.fields.get(name) != current[name])


@dataclass(frozen=True)
class ChangeReport:
    """What to say about a pushed reservation now (``fields``, empty: nothing) and the record
    to keep after saying it."""

    fields: tuple[str, ...]
    record: PushedRecord


def report_change(pushed: PushedRecord, current: dict[str, str]) -> ChangeReport | None:
    """A change not yet reported, or a reported one undone; None when nothing is to be written.

    A change is reported once; back in line with what was pushed, the mark is cleared, so that
    changing it again is a new change.
    """
    fields = changed_fields(pushed, current)
    if not fields:
        if pushed.reported is None:
            return None
        return ChangeReport((), replace(pushed, reported=None))
    digest = _short(json.dumps(current, sort_keys=True))
    if digest == pushed.reported:
        return None
    return ChangeReport(fields, replace(pushed, reported=digest))


def _short(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=6).hexdigest()
