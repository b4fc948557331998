"""Pure decisions of the bookings job: which properties to read, which bookings are the site's,
which revisions are new, and how a booking is recorded.

Which bookings. Only bookings made on the site go to the vendor: not the channel's own pushes
(``is_own_push``) and not closures (``is_black_booking``), both of which the real engine lists
among the property's bookings.

Which properties. One ``change_logs()`` call per cycle names the properties with booking events;
a property is read (``list/bookings``) when its newest booking event not made by this channel is
newer than the last one handled, or when it was not read yet today (a property never read
included; the change log only covers 14 days, so a worker stopped for longer must still catch
up).

Which revisions. Every listed booking is compared with the last revision handled for *that*
booking (``worker.state.BookingRevision``), never with one cursor per property: a booking stamped
before the newest one seen — a site clock stepping back, a transaction committing late — is
still new (``is_handled``). A booking the client cannot parse is not allowed to fail the whole
list: ``parse_each`` sets it aside as ``Unreadable`` (its revision from the raw
``booking_id``/``last_modified``) so it is parked, reported once per revision, while the others
flow.

How a booking is recorded. The line's ``booking`` is the booking object as the client parsed it
(``worker.api.models.Booking``), serialised back to the wire shape: ids and counts as numbers,
money as decimal strings (``"200.00"``), dates as ``YYYY-MM-DD``, timestamps as BookyFlow writes
them (``"YYYY-MM-DD HH:MM:SS"``), and ``mapping`` left out when absent. Legacy servers' string ids
therefore arrive normalised. The revision is ``<booking_id>:<last_modified>`` in that format.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from worker.api.models import Booking, ChangeLogEvent, keyed_list, parse_as
from worker.errors import MalformedResponse
from worker.inventory.sink import BookingEvent
from worker.state import BookingRevision
from worker.sync.drift import is_drift
from worker.sync.reservation_plan import is_site_reservation_id

STAMP = "%Y-%m-%d %H:%M:%S"
CANCELLED = 6


def stamp(moment: datetime) -> str:
    return moment.strftime(STAMP)


def serialise(booking: Booking) -> dict[str, Any]:
    """The booking object in BookyFlow's wire shape (see the module docstring)."""
    body = booking.model_dump(mode="json", exclude_none=True)
    body["last_modified"] = stamp(booking.last_modified)
    if booking.booking_created is not None:
        body["booking_created"] = stamp(booking.booking_created)
    return body


def revision_of(booking: Booking) -> str:
    """``<booking_id>:<last_modified>``, as the line's ``revision`` (``booking_revision``)."""
    return f"{booking.booking_id}:{stamp(booking.last_modified)}"


def is_handled(revision: str, handled: BookingRevision | None) -> bool:
    """This revision of the booking was delivered, or parked, already: nothing to do."""
    return handled is not None and revision in (handled.delivered, handled.parked)


@dataclass(frozen=True, slots=True)
class Unreadable:
    """A listed booking the client could not parse; ``booking_id`` None when even that is bad.

    ``reason`` names the fields only (``parse_as`` never quotes values: they are guests' data).
    """

    booking_id: int | None
    revision: str
    reason: str


def parse_each(payload: Any) -> tuple[list[Booking], list[Unreadable]]:
    """The ``list/bookings`` payload booking by booking: what parses, and what does not.

    A payload that is not a list (or an id-keyed object) at all is still a ``MalformedResponse``.
    """
    items = keyed_list(payload)
    if not isinstance(items, list):
        raise MalformedResponse("bookings: unexpected shape at <root>", status=200, retryable=False)
    bookings: list[Booking] = []
    unreadable: list[Unreadable] = []
    for item in items:
        try:
            bookings.append(parse_as(Booking, item, what="booking"))
        except MalformedResponse as exc:
            unreadable.append(_unreadable(item, exc.message))
    return bookings, unreadable


# A parked revision is kept in state and logged: bounded, and encodable whatever the site sent.
_REVISION_MAX = 120


def _unreadable(item: Any, reason: str) -> Unreadable:
    raw = item if isinstance(item, Mapping) else {}
    revision = f"{raw.get('booking_id')}:{raw.get('last_modified')}"
    safe = revision.encode("utf-8", "replace").decode("utf-8")[:_REVISION_MAX]
    return Unreadable(_lenient_id(raw.get("booking_id")), safe, reason)


def _lenient_id(value: Any) -> int | None:
    """A booking id as the models accept one (``12`` or ``"12"``), else None."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = value.strip() if isinstance(value, str) else ""
    return int(text) if text.isascii() and text.isdecimal() else None


def is_own_push(booking: Booking, pushed_ids: Collection[int] = ()) -> bool:
    """A booking this channel pushed, not one made on the site.

    Pushes carry ``mapping.remote_booking_id`` — until they are cancelled: the real engine then
    drops the link, and the push looks like a site booking. So a booking is also ours when state
    recorded its id as pushed, or when its number (which the engine sets to the remote id) has
    the shape of the worker's site reservation ids (which survives a lost state directory).
    """
    if booking.mapping is not None and booking.mapping.remote_booking_id:
        return True
    return booking.booking_id in pushed_ids or is_site_reservation_id(booking.booking_number)


def is_black_booking(booking: Booking, closure_ids: Collection[int] = ()) -> bool:
    """A closure, which the real engine lists among bookings: never a guest's booking.

    Black bookings are the contracts of ``PUT blackbooking`` (``booking_id`` = its contract
    id) and carry the engine's "no date" creation stamp, ``1970-01-01 00:00:01`` — the hotel's
    own closures included, which state does not know.
    """
    created = booking.booking_created
    return booking.booking_id in closure_ids or (created is not None and created.year <= 1970)


def event_of(booking: Booking, *, first_seen: bool) -> BookingEvent:
    """``cancelled`` (status 6), ``created`` (the first revision delivered), else ``modified``."""
    if booking.status.status_code == CANCELLED:
        return "cancelled"
    return "created" if first_seen else "modified"


def newest_booking_event(events: Iterable[ChangeLogEvent], channel_name: str) -> int:
    """The highest event id of a booking event this channel did not cause (0 when none)."""
    return max(
        (
            event.event_id
            for event in events
            if event.action.startswith("booking_") and event.channel_name != channel_name
        ),
        default=0,
    )


@dataclass(frozen=True, slots=True)
class PropertyLog:
    """What the bookings job uses of one property's change log: the newest booking event this
    channel did not cause (``newest_booking_event``) and the events that are drift
    (``drift.is_drift``; ``drift.site_drift`` of these is that of all the events)."""

    newest_booking: int
    drift: tuple[ChangeLogEvent, ...]


def summarise(logs: Mapping[int, Iterable[ChangeLogEvent]], channel: str) -> dict[int, PropertyLog]:
    """``PropertyLog`` per property uid of the change log: kept between runs instead of the
    ~150 events a site logs in 14 days, so an unchanged log is neither parsed nor held."""
    summary: dict[int, PropertyLog] = {}
    for uid, events in logs.items():
        listed = list(events)
        drift = tuple(event for event in listed if is_drift(event, channel))
        summary[uid] = PropertyLog(newest_booking_event(listed, channel), drift)
    return summary


def needs_read(*, newest_event: int, handled_event: int, read_today: bool) -> bool:
    """Read the property's bookings? See the module docstring.

    A property never read is not read today either, so a property without bookings is listed
    once a day, not every cycle.
    """
    return newest_event > handled_event or not read_today
