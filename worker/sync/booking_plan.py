"""Pure decisions of the bookings job: which properties to read, and how a booking is recorded.

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

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from worker.api.models import Booking, ChangeLogEvent
from worker.inventory.sink import BookingEvent

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


def is_own_push(booking: Booking) -> bool:
    """Bookings this channel pushed carry ``mapping.remote_booking_id``."""
    return booking.mapping is not None and bool(booking.mapping.remote_booking_id)


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
