"""Booking serialisation, own-push detection, events and the change-log read decision."""

from __future__ import annotations

from typing import Any

import pytest

from worker.api.models import Booking, ChangeLogEvent, parse_as
from worker.errors import MalformedResponse
from worker.state import BookingRevision
from worker.sync.booking_plan import (
    Unreadable,
    event_of,
    is_black_booking,
    is_handled,
    is_own_push,
    needs_read,
    newest_booking_event,
    parse_each,
    revision_of,
    serialise,
)
from worker.sync.reservation_plan import site_reservation_id


def _booking(**changes: Any) -> Booking:
    raw: dict[str, Any] = {
        "booking_id": "12",
        "booking_number": "B-12",
        "status": {"status_code": "1", "status_text": "New"},
        "property_uid": "3",
        "booking_created": "2026-01-02 10:00:00",
        "last_modified": "2026-01-02 10:05:00",
        "date_from": "2026-02-01",
        "date_to": "2026-02-02",
        "booking_total": "200.00",
        "mapping": [],
    }
    raw.update(changes)
    return parse_as(Booking, raw, what="booking")


def test_serialise_keeps_the_wire_shape() -> None:
    """Timestamps keep BookyFlow's format, money stays a string, an empty mapping is dropped."""
    body = serialise(_booking())
    assert body["last_modified"] == "2026-01-02 10:05:00"
    assert body["booking_created"] == "2026-01-02 10:00:00"
    assert body["booking_total"] == "200.00"
    assert body["booking_id"] == 12
    assert "mapping" not in body


def test_own_pushes_and_events() -> None:
    """A mapping marks our own push; status 6 is cancelled; first delivery is created."""
    assert is_own_push(_booking(mapping={"remote_booking_id": "OTA-1"}))
    assert not is_own_push(_booking())
    assert event_of(_booking(status={"status_code": 6}), first_seen=True) == "cancelled"
    assert event_of(_booking(), first_seen=True) == "created"
    assert event_of(_booking(), first_seen=False) == "modified"


def test_newest_booking_event_ignores_our_channel_and_other_actions() -> None:
    """Only booking events caused by someone else count."""
    events = parse_as(
        list[ChangeLogEvent],
        [
            {
                "event_id": 5,
                "property_uid": 1,
                "action": "booking_added",
                "date": "d",
                "channel_data": {"channel_name": ""},
            },
            {
                "event_id": 9,
                "property_uid": 1,
                "action": "booking_added",
                "date": "d",
                "channel_data": {"channel_name": "acme"},
            },
            {
                "event_id": 11,
                "property_uid": 1,
                "action": "tariffs_updated",
                "date": "d",
                "channel_data": {"channel_name": ""},
            },
        ],
        what="events",
    )
    assert newest_booking_event(events, "acme") == 5
    assert newest_booking_event([], "acme") == 0


def test_needs_read() -> None:
    """Read when never read today (first read included) or on news; otherwise not."""
    assert needs_read(newest_event=0, handled_event=0, read_today=False)
    assert needs_read(newest_event=6, handled_event=5, read_today=True)
    assert needs_read(newest_event=5, handled_event=5, read_today=False)
    assert not needs_read(newest_event=5, handled_event=5, read_today=True)


def _listed(**fields: object) -> Booking:
    base: dict[str, object] = {
        "booking_id": "5", "booking_number": "40081543", "status": {"status_code": 3},
        "property_uid": "2", "booking_created": "2026-12-01 07:42:48",
        "last_modified": "2026-12-01 07:42:48", "date_from": "2027-02-01",
        "date_to": "2027-02-02", "mapping": [],
    }  # fmt: skip
    return Booking.model_validate({**base, **fields})


def test_black_bookings_are_not_guest_bookings() -> None:
    """Closures (the engine's 1970 stamp, or a known contract id) are never delivered."""
    assert is_black_booking(_listed(booking_created="1970-01-01 00:00:01", referrer="Jomres"))
    assert is_black_booking(_listed(booking_id="9"), closure_ids={9})
    assert not is_black_booking(_listed())


def test_own_pushes_are_known_even_after_a_cancel_dropped_their_mapping() -> None:
    """By mapping, by a booking id state recorded, or by a site-id booking number."""
    assert is_own_push(_listed(mapping={"linked_bookings": {"remote_booking_id": "1"}}))
    assert is_own_push(_listed(booking_id="5", status={"status_code": 6}), pushed_ids={5})
    assert is_own_push(_listed(booking_number=site_reservation_id("BK-1")))
    assert not is_own_push(_listed())


def _raw(**fields: object) -> dict[str, object]:
    base: dict[str, object] = {
        "booking_id": "5", "status": {"status_code": 3}, "property_uid": "2",
        "last_modified": "2026-12-01 07:42:48", "date_from": "2027-02-01",
        "date_to": "2027-02-02",
    }  # fmt: skip
    return {**base, **fields}


def test_revisions_are_judged_per_booking_whatever_their_age() -> None:
    """A revision is handled only when it is the booking's delivered or parked one: an older
    stamp than any seen before is still new."""
    revision = revision_of(_listed(last_modified="2001-01-01 00:00:00"))
    assert revision == "5:2001-01-01 00:00:00"
    assert not is_handled(revision, None)
    assert not is_handled(revision, BookingRevision(delivered="5:2026-12-01 07:42:48"))
    assert is_handled(revision, BookingRevision(delivered=revision))
    assert is_handled(revision, BookingRevision(delivered="5:x", parked=revision))


def test_parse_each_sets_an_unparsable_booking_aside() -> None:
    """One bad booking leaves the others parsed; its id and raw revision are kept, its reason
    names the field and never the guest's values."""
    payload = {
        "5": _raw(),
        "6": _raw(booking_id="6", booking_total="two hundred", comments="Jo\ud800se"),
        "7": _raw(booking_id="x7", last_modified="Jo\ud800se"),
    }
    parsed, unreadable = parse_each(payload)
    assert [booking.booking_id for booking in parsed] == [5]
    assert unreadable[0] == Unreadable(6, "6:2026-12-01 07:42:48", unreadable[0].reason)
    assert "booking_total" in unreadable[0].reason
    assert "two hundred" not in unreadable[0].reason
    assert unreadable[1].booking_id is None
    assert unreadable[1].revision.encode("utf-8")  # encodable, whatever the site sent


def test_parse_each_refuses_a_payload_that_is_no_list() -> None:
    """A list that is not a list at all is still a malformed answer, not N parked bookings."""
    with pytest.raises(MalformedResponse):
        parse_each("bookings")
    assert parse_each([]) == ([], [])
