"""The reservation decision table and the API item built from a vendor reservation."""

from __future__ import annotations

from datetime import date

import pytest

from tests.sync.support import reservation
from worker.api.models import Booking
from worker.inventory.models import Reservation as VendorReservation
from worker.sync.reservation_plan import (
    Step,
    cancellable_id,
    content_digest,
    find_pushed,
    is_site_reservation_id,
    next_step,
    site_reservation_id,
    to_api,
)


@pytest.mark.parametrize(
    ("wanted", "status", "rejected", "step"),
    [
        ("confirmed", None, None, Step.PUSH),
        ("confirmed", "intent", None, Step.PUSH),
        ("confirmed", "pushed", None, Step.NOTHING),
        ("confirmed", "cancelled", None, Step.NOTHING),
        ("confirmed", "failed", "same", Step.NOTHING),
        ("confirmed", "failed", "older", Step.PUSH),
        ("cancelled", "pushed", None, Step.CANCEL),
        ("cancelled", "cancel_intent", None, Step.CANCEL),
        ("cancelled", None, None, Step.CHECK_THEN_CANCEL),
        ("cancelled", "intent", None, Step.CHECK_THEN_CANCEL),
        ("cancelled", "failed", None, Step.NEVER_PUSHED),
        ("cancelled", "cancelled", None, Step.NOTHING),
    ],
)
def test_next_step_follows_the_table(
    wanted: str, status: str | None, rejected: str | None, step: Step
) -> None:
    """Each (inventory status, state status) pair leads to the documented step."""
    assert next_step(wanted, status, digest="same", rejected_digest=rejected) is step  # type: ignore[arg-type]


def test_to_api_maps_one_stay_with_the_last_night() -> None:
    """One stay on the property with guests and prices; the digest follows the content."""
    vendor = VendorReservation.model_validate(reservation("OTA-9", 5))
    item = to_api(7, vendor)
    assert item.remote_reservation_id == site_reservation_id("OTA-9")
    assert "OTA-9" in item.comments
    assert item.guest_info.name == "Ana"
    [stay] = item.stay_infos
    assert (stay.property_id, stay.guest_number, stay.room_type_id) == (7, 2, 1)
    assert stay.date_to == date.fromisoformat(reservation("OTA-9", 5)["date_to"])
    other = VendorReservation.model_validate({**reservation("OTA-9", 5), "guests": 3})
    assert content_digest(item) == content_digest(to_api(7, vendor))
    assert content_digest(item) != content_digest(to_api(7, other))


def _booking(
    booking_id: int, number: str, *, mapped: str | None = None, status: int = 3
) -> Booking:
    mapping: object = {"linked_bookings": {"remote_booking_id": mapped}} if mapped else []
    return Booking.model_validate(
        {
            "booking_id": str(booking_id),
            "booking_number": number,
            "status": {"status_code": status},
            "property_uid": "2",
            "last_modified": "2026-12-01 08:26:35",
            "date_from": "2027-01-20",
            "date_to": "2027-01-22",
            "mapping": mapping,
        }
    )


def test_site_ids_are_stable_numeric_and_outside_the_site_numbers() -> None:
    """The same OTA id always gives the same 15-digit id starting with 9; others differ."""
    ids = {site_reservation_id(f"BK-2027-{n:04}") for n in range(2000)}
    assert len(ids) == 2000
    assert site_reservation_id("BK-2027-0001") == site_reservation_id("BK-2027-0001")
    assert all(is_site_reservation_id(i) and int(i) < 2**53 for i in ids)
    assert not is_site_reservation_id("40081543")
    assert not is_site_reservation_id("BK-1")


def test_only_numeric_ids_are_cancellable() -> None:
    """A text id would cancel every text-id booking of the channel on the real engine."""
    assert cancellable_id(site_reservation_id("OTA-1"))
    assert cancellable_id("778812")
    assert not cancellable_id("BK-2027-0001")
    assert not cancellable_id("")


def test_find_pushed_by_mapping_or_number_and_legacy_ota_ids() -> None:
    """A push is found by its mapping, by its number after a cancel dropped the mapping, and
    under the OTA id an earlier version used; an 8-digit site number never matches alone."""
    site = site_reservation_id("BK-7")
    bookings = [
        _booking(1, "55512345"),  # a site booking
        _booking(2, site, mapped=site),
        _booking(3, site, status=6),  # cancelled push: mapping gone
        _booking(4, "BK-7", mapped="BK-7"),  # pushed by an earlier version
    ]
    assert [b.booking_id for b in find_pushed(bookings, "BK-7", site)] == [2, 3, 4]
    assert find_pushed(bookings, "55512345", site_reservation_id("55512345")) == []
    assert find_pushed(bookings, "BK-8", site_reservation_id("BK-8")) == []
