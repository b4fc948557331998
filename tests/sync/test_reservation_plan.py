"""The reservation decision table and the API item built from a vendor reservation."""

from __future__ import annotations

from datetime import date

import pytest

from tests.sync.support import reservation
from worker.inventory.models import Reservation as VendorReservation
from worker.sync.reservation_plan import Step, content_digest, next_step, to_api


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
    assert item.remote_reservation_id == "OTA-9"
    assert item.guest_info.name == "Ana"
    [stay] = item.stay_infos
    assert (stay.property_id, stay.guest_number, stay.room_type_id) == (7, 2, 1)
    assert stay.date_to == date.fromisoformat(reservation("OTA-9", 5)["date_to"])
    other = VendorReservation.model_validate({**reservation("OTA-9", 5), "guests": 3})
    assert content_digest(item) == content_digest(to_api(7, vendor))
    assert content_digest(item) != content_digest(to_api(7, other))
