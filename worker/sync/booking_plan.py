"""Pure decisions of the bookings job: which properties to read, which bookings are the site's,
and how a booking is recorded.

Which bookings. Only bookings made on the site go to the vendor: not the channel's own pushes
(``is_own_push``) and not closures (``is_black_booking``), both of which the real engine lists
among the property's bookings.

Which properties. One ``change_logs()`` call per cycle names the properties with booking events;
a property is read (``list/bookings``) when its newest booking event not made by this channel is
newer than the last one handled, or when it was not read yet today (a property never read
included; the change log only covers 14 days, so a worker stopped for longer must still catch
up). A property without bookings has no cursor and is still read only once a day.

How a booking is recorded. The line's ``booking`` is the booking object as the client parsed it
(``worker.api.models.Booking``), serialised back to the wire shape: ids and counts as numbers,
money as decimal strings (``"200.00"``), dates as ``YYYY-MM-DD``, timestamps as BookyFlow writes
them (``"YYYY-MM-DD HH:MM:SS"``), and ``mapping`` left out when absent. Legacy servers' string ids
therefore arrive normalised. The revision is ``<booking_id>:<last_modified>`` in that format.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import datetime
from typing import Any

from worker.api.models import Booking, ChangeLogEvent
from worker.inventory.sink import BookingEvent
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


def needs_read(*, newest_event: int, handled_event: int, read_today: bool) -> bool:
    """Read the property's bookings? See the module docstring.

    A property never read is not read today either, so the cursor plays no part: a property
    without bookings has no cursor, and must not be listed again every cycle because of it.
    """
    return newest_event > handled_event or not read_today
