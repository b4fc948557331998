"""Contract of reservations, booking links, booking lists and change logs (spec §3.7)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sandbox.conftest import RIVAL, Api, FakeWallClock, add_room, create_property
from worker.sandbox.store import SandboxStore


def _reservation(uid: int, remote_id: str = "OTA-1", **stay: Any) -> dict[str, Any]:
    return {
        "remote_reservation_id": remote_id,
        "referrer": "OTA Booker",
        "comments": "",
        "guest_info": {
            "name": "Ana",
            "surname": "Silva",
            "email": "ana@example.org",
            "phone": "+351 123",
            "address": "Rua 1",
            "post_code": "1000",
            "country_code": "PT",
            "language_id": "en-GB",
        },
        "stay_infos": [
            {
                "property_id": uid,
                "date_from": "2025-04-01",
                "date_to": "2025-04-02",
                "room_type_id": 1,
                "guest_number": 2,
                "client_price": "240.00",
                "channel_price": "200.00",
                "already_paid": "0",
                **stay,
            }
        ],
    }


def _form(*items: dict[str, Any]) -> dict[str, str]:
    return {"reservations": json.dumps({"reservations": list(items)})}


async def _hotel(api: Api) -> int:
    uid = await create_property(api)
    await add_room(api, uid)
    return uid


async def test_add_reservation_links_and_lists(ready: Api) -> None:
    """A pushed reservation becomes a booking, found by booking/link and in list/bookings."""
    uid = await _hotel(ready)
    answer = await ready.cmf("PUT", "/cmf/reservations/add", _form(_reservation(uid)))
    assert answer["unsuccessful_bookings"] == {}
    link = answer["successful_bookings"]["OTA-1"]["link"]
    assert link["property_uid"] == uid
    assert link["date_to"] == "2025-04-02"
    found = await ready.cmf("GET", f"/cmf/property/booking/link/{uid}/OTA-1")
    assert found == {"local_bookings": [{"local_booking_id": link["contract_uid"]}]}
    [booking] = await ready.cmf("GET", f"/cmf/property/list/bookings/{uid}")
    assert booking["booking_id"] == link["contract_uid"]
    assert booking["mapping"] == {"remote_booking_id": "OTA-1"}
    assert booking["status"] == {"status_code": 1, "status_text": "New - deposit unpaid"}
    assert booking["guest_data"]["firstname"] == "Ana"
    assert booking["guest_numbers"] == {"adults": 2, "children": 0, "number_of_guests": 2}
    assert booking["booking_total"] == "240.00"
    assert booking["currency_code"] == "GBP"


async def test_resending_creates_a_duplicate(ready: Api) -> None:
    """reservations/add does not deduplicate on remote_reservation_id."""
    uid = await _hotel(ready)
    for _ in range(2):
        await ready.cmf("PUT", "/cmf/reservations/add", _form(_reservation(uid)))
    found = await ready.cmf("GET", f"/cmf/property/booking/link/{uid}/OTA-1")
    assert len(found["local_bookings"]) == 2


async def test_unknown_remote_id_links_to_nothing(ready: Api) -> None:
    """booking/link for an unknown id is an empty list."""
    uid = await _hotel(ready)
    assert await ready.cmf("GET", f"/cmf/property/booking/link/{uid}/NOPE") == {
        "local_bookings": []
    }


@pytest.mark.parametrize("field", ["email", "phone", "language_id"])
async def test_missing_guest_field_is_unsuccessful(ready: Api, field: str) -> None:
    """A missing guest field lands in unsuccessful_bookings as '<field> not set'."""
    uid = await _hotel(ready)
    item = _reservation(uid)
    del item["guest_info"][field]
    answer = await ready.cmf("PUT", "/cmf/reservations/add", _form(item))
    assert answer["successful_bookings"] == {}
    assert answer["unsuccessful_bookings"] == {
        "OTA-1": {"success": False, "message": f"{field} not set"}
    }


@pytest.mark.parametrize("field", ["client_price", "channel_price", "already_paid"])
async def test_missing_price_is_unsuccessful(ready: Api, field: str) -> None:
    """Every price of a stay is required."""
    uid = await _hotel(ready)
    item = _reservation(uid)
    del item["stay_infos"][0][field]
    answer = await ready.cmf("PUT", "/cmf/reservations/add", _form(item))
    assert answer["unsuccessful_bookings"]["OTA-1"]["message"] == f"{field} not set"


async def test_stays_of_foreign_properties_are_skipped(ready: Api) -> None:
    """A stay for a property this channel does not own creates nothing and reports nothing."""
    await _hotel(ready)
    mine = ready.token
    ready.token = await ready.fetch_token(RIVAL)
    await ready.cmf("POST", "/cmf/channel/announce/otabooker/R", {"params": "{}"})
    answer = await ready.cmf("PUT", "/cmf/reservations/add", _form(_reservation(1)))
    assert answer == {"successful_bookings": {}, "unsuccessful_bookings": {}}
    ready.token = mine
    assert await ready.cmf("GET", "/cmf/property/list/bookings/1") == []


async def test_reservations_field_must_be_json_object(ready: Api) -> None:
    """The reservations field must parse and hold a list under 'reservations'."""
    assert await ready.error("PUT", "/cmf/reservations/add", {}) == "reservations not set"
    bad = {"reservations": "[1]"}
    assert "JSON object" in await ready.error("PUT", "/cmf/reservations/add", bad)
    assert "list" in await ready.error("PUT", "/cmf/reservations/add", {"reservations": "{}"})


async def test_cancel_by_remote_ids(ready: Api, store: SandboxStore) -> None:
    """Cancelling sets status 6; unknown ids answer success false 'No reservations found'."""
    uid = await _hotel(ready)
    await ready.cmf("PUT", "/cmf/reservations/add", _form(_reservation(uid)))
    answer = await ready.cmf("PUT", "/cmf/reservations/cancel",
                             {"reservation_ids": json.dumps(["OTA-1"])})  # fmt: skip
    assert answer["success"] is True
    assert len(answer["cancellations"]) == 1
    assert store.bookings(uid)[0]["status"]["status_code"] == 6
    none = await ready.cmf("PUT", "/cmf/reservations/cancel",
                           {"reservation_ids": json.dumps(["ZZZ"])})  # fmt: skip
    assert none == {"success": False, "message": "No reservations found"}
    assert "JSON list" in await ready.error(
        "PUT", "/cmf/reservations/cancel", {"reservation_ids": "{}"}
    )


async def test_site_bookings_appear_without_mapping(ready: Api, store: SandboxStore) -> None:
    """A guest's booking on the hotel site is listed without mapping and logged."""
    uid = await _hotel(ready)
    made = store.book_on_site(uid, "2025-05-01", "2025-05-03", firstname="Bo")
    [listed] = await ready.cmf("GET", f"/cmf/property/list/bookings/{uid}")
    assert listed == made
    assert "mapping" not in listed
    logs = await ready.cmf("GET", "/cmf/properties/change/logs")
    actions = [event["action"] for event in logs[str(uid)]]
    assert "booking_added" in actions
    assert logs[str(uid)][0].keys() == {
        "event_id",
        "property_uid",
        "action",
        "date",
        "channel_data",
    }


async def test_last_modified_strictly_increases(
    ready: Api, store: SandboxStore, clock: FakeWallClock
) -> None:
    """Changes within one second still move last_modified forward; the list follows its order."""
    uid = await _hotel(ready)
    first = store.book_on_site(uid, "2025-05-01", "2025-05-01")
    second = store.book_on_site(uid, "2025-06-01", "2025-06-01")
    changed = store.modify_site_booking(first["booking_id"], surname="Changed")
    again = store.cancel_site_booking(first["booking_id"])
    stamps = [first["last_modified"], changed["last_modified"], again["last_modified"]]
    assert stamps == sorted(set(stamps))
    assert len(set(stamps)) == 3
    assert again["status"]["status_code"] == 6
    listed = await ready.cmf("GET", f"/cmf/property/list/bookings/{uid}")
    assert [b["booking_id"] for b in listed] == [second["booking_id"], first["booking_id"]]
    logs = await ready.cmf("GET", "/cmf/properties/change/logs")
    actions = [event["action"] for event in logs[str(uid)]]
    assert actions[-2:] == ["booking_modified", "booking_cancelled"]


async def test_change_log_keeps_fourteen_days(
    ready: Api, store: SandboxStore, clock: FakeWallClock
) -> None:
    """Events older than 14 days are no longer reported."""
    uid = await _hotel(ready)
    store.book_on_site(uid, "2025-05-01", "2025-05-01")
    clock.advance(15 * 86400)
    ready.token = await ready.fetch_token()
    assert await ready.cmf("GET", "/cmf/properties/change/logs") == {}


async def test_site_booking_helpers_validate(store: SandboxStore, ready: Api) -> None:
    """Unknown properties or bookings and bad dates are ValueErrors."""
    uid = await _hotel(ready)
    with pytest.raises(ValueError, match="does not exist"):
        store.book_on_site(999, "2025-05-01", "2025-05-01")
    with pytest.raises(ValueError, match="not a valid date"):
        store.book_on_site(uid, "2025-02-30", "2025-03-01")
    with pytest.raises(ValueError, match="does not exist"):
        store.cancel_site_booking(12345)
