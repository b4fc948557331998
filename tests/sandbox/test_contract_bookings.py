"""Contract of reservations, booking links, booking lists and change logs, as the real engine
answers them (spec §3.7, its Real engine notes)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sandbox.conftest import RIVAL, Api, FakeWallClock, add_room, create_property
from worker.sandbox.store import SandboxStore

ADD, CANCEL = "/cmf/reservations/add", "/cmf/reservations/cancel"


def _reservation(uid: int, remote_id: str = "778812", **stay: Any) -> dict[str, Any]:
    return {
        "remote_reservation_id": remote_id,
        "referrer": "OTA Booker",
        "comments": "OTA id BK-1",
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
                "room_type_name": "",
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


def _cancel(*remote_ids: str) -> dict[str, str]:
    return {"reservation_ids": json.dumps(list(remote_ids))}


async def _hotel(api: Api, rooms: int = 1) -> int:
    uid = await create_property(api)
    for _ in range(rooms):
        await add_room(api, uid)
    return uid


async def test_add_reservation_links_and_lists(ready: Api) -> None:
    """A push becomes a booking with its link; booking/link and list/bookings find it."""
    uid = await _hotel(ready)
    answer = await ready.cmf("PUT", ADD, _form(_reservation(uid)))
    assert answer["unsuccessful_bookings"] == []
    link = answer["successful_bookings"]["778812"]["link"]
    assert link == {"link_id": link["link_id"], "contract_uid": link["contract_uid"],
                    "property_uid": uid, "date_from": "2025-04-01", "date_to": "2025-04-02",
                    "property_name": "Sea View"}  # fmt: skip
    contract = str(link["contract_uid"])
    found = await ready.cmf("GET", f"/cmf/property/booking/link/{uid}/778812")
    assert found == {"local_bookings": [{"local_booking_id": contract}]}
    [booking] = await ready.cmf("GET", f"/cmf/property/list/bookings/{uid}")
    assert (booking["booking_id"], booking["booking_number"], booking["comments"]) == (
        contract, "778812", "OTA id BK-1")  # fmt: skip
    assert booking["mapping"] == {"linked_bookings": {
        "channel_id": booking["mapping"]["linked_bookings"]["channel_id"],
        "remote_booking_id": "778812", "local_booking_id": contract}}  # fmt: skip
    assert booking["status"] == {"status_code": 3, "status_text": "Approved "}
    assert booking["guest_data"]["enc_firstname"] == "Ana"
    assert booking["guest_data"]["country"] == "Portugal"
    assert booking["guest_numbers"] == {"adults": 0, "children": 0, "number_of_guests": 2}
    assert (booking["booking_total"], booking["currency_code"]) == ("240.00", "EUR")


async def test_resending_creates_a_duplicate(ready: Api) -> None:
    """reservations/add does not deduplicate on remote_reservation_id."""
    uid = await _hotel(ready, rooms=2)
    for _ in range(2):
        await ready.cmf("PUT", ADD, _form(_reservation(uid)))
    found = await ready.cmf("GET", f"/cmf/property/booking/link/{uid}/778812")
    assert len(found["local_bookings"]) == 2


async def test_booking_link_is_blind_to_text_ids(ready: Api) -> None:
    """A non-numeric remote id finds nothing although the push exists (and numbers are compared
    as numbers: 0778812 finds 778812)."""
    uid = await _hotel(ready, rooms=2)
    await ready.cmf("PUT", ADD, _form(_reservation(uid, "OTA-1"), _reservation(uid)))
    assert await ready.cmf("GET", f"/cmf/property/booking/link/{uid}/OTA-1") == {
        "local_bookings": []
    }
    found = await ready.cmf("GET", f"/cmf/property/booking/link/{uid}/0778812")
    assert len(found["local_bookings"]) == 1
    assert await ready.cmf("GET", f"/cmf/property/booking/link/{uid}/5") == {"local_bookings": []}


@pytest.mark.parametrize(
    ("stay", "message"),
    [
        ({"room_type_name": None}, "No rooms available for the required room type name"),
        ({"room_type_name": "Twin"}, "No rooms available for the required room type name"),
        ({"room_type_id": 3}, "No rooms available for the required room type id"),
        ({"guest_number": 3}, "No rooms available that can accommodate the required guest numbers"),
    ],
)
async def test_room_choice_refusals(ready: Api, stay: dict[str, Any], message: str) -> None:
    """A missing room_type_name means "Double"; type id, name and guests must fit a room."""
    uid = await _hotel(ready)
    item = _reservation(uid, **stay)
    item["stay_infos"][0] = {k: v for k, v in item["stay_infos"][0].items() if v is not None}
    answer = await ready.cmf("PUT", ADD, _form(item))
    assert answer == {"successful_bookings": [],
                      "unsuccessful_bookings": {"778812": {"success": False,
                                                           "message": message}}}  # fmt: skip


async def test_the_room_class_name_filters_rooms(ready: Api) -> None:
    """room_type_name, when given, must be the class's real name."""
    uid = await _hotel(ready)
    answer = await ready.cmf(
        "PUT", ADD, _form(_reservation(uid, room_type_name="Room Double beds"))
    )
    assert answer["unsuccessful_bookings"] == []


async def test_busy_rooms_refuse_a_push(ready: Api) -> None:
    """A push needs a room free on every night (bookings and closures take rooms)."""
    uid = await _hotel(ready)
    await ready.cmf("PUT", ADD, _form(_reservation(uid)))
    answer = await ready.cmf("PUT", ADD, _form(_reservation(uid, "778813", date_from="2025-04-02",
                                                            date_to="2025-04-03")))  # fmt: skip
    assert answer["unsuccessful_bookings"]["778813"]["message"] == "No rooms continuously available"


@pytest.mark.parametrize("field", ["email", "phone", "language_id"])
async def test_missing_guest_field_is_unsuccessful(ready: Api, field: str) -> None:
    """A missing guest field lands in unsuccessful_bookings as '<field> not set'."""
    uid = await _hotel(ready)
    item = _reservation(uid)
    del item["guest_info"][field]
    answer = await ready.cmf("PUT", ADD, _form(item))
    assert answer["successful_bookings"] == []
    assert answer["unsuccessful_bookings"] == {
        "778812": {"success": False, "message": f"{field} not set"}
    }


@pytest.mark.parametrize("field", ["client_price", "channel_price", "already_paid"])
async def test_missing_price_is_unsuccessful(ready: Api, field: str) -> None:
    """Every price of a stay is required."""
    uid = await _hotel(ready)
    item = _reservation(uid)
    del item["stay_infos"][0][field]
    answer = await ready.cmf("PUT", ADD, _form(item))
    assert answer["unsuccessful_bookings"]["778812"]["message"] == f"{field} not set"


async def test_stays_of_foreign_properties_are_skipped(ready: Api) -> None:
    """A stay for a property this channel does not own creates nothing and reports nothing."""
    uid = await _hotel(ready)
    mine = ready.token
    ready.token = await ready.fetch_token(RIVAL)
    await ready.cmf("POST", "/cmf/channel/announce/otabooker/R", {"params": "{}"})
    answer = await ready.cmf("PUT", ADD, _form(_reservation(uid)))
    assert answer == {"successful_bookings": [], "unsuccessful_bookings": []}
    ready.token = mine
    assert await ready.cmf("GET", f"/cmf/property/list/bookings/{uid}") == []


async def test_reservations_field_must_be_json_object(ready: Api) -> None:
    """The reservations field must parse and hold a list under 'reservations'."""
    assert await ready.error("PUT", ADD, {}) == "reservations not set"
    assert "JSON object" in await ready.error("PUT", ADD, {"reservations": "[1]"})
    assert "list" in await ready.error("PUT", ADD, {"reservations": "{}"})


async def test_cancel_by_numeric_id_drops_the_link(ready: Api, store: SandboxStore) -> None:
    """A cancel sets status 6 and deletes the link row: mapping and booking/link forget it."""
    uid = await _hotel(ready)
    contract = (await ready.cmf("PUT", ADD, _form(_reservation(uid))))["successful_bookings"][
        "778812"
    ]["link"]["contract_uid"]
    answer = await ready.cmf("PUT", CANCEL, _cancel("778812"))
    assert answer == {"success": True, "cancellations": [
        f"Cancelled booking for property uid {uid} with contract id of {contract} "]}  # fmt: skip
    [booking] = await ready.cmf("GET", f"/cmf/property/list/bookings/{uid}")
    assert (booking["status"]["status_code"], booking["mapping"]) == (6, [])
    assert await ready.cmf("GET", f"/cmf/property/booking/link/{uid}/778812") == {
        "local_bookings": []
    }
    assert await ready.cmf("PUT", CANCEL, _cancel("778812")) == {
        "success": False, "message": "No reservations found"}  # fmt: skip
    assert store.bookings(uid)[0]["mapping"] == {"remote_booking_id": "778812"}  # the truth
    assert "JSON list" in await ready.error("PUT", CANCEL, {"reservation_ids": "{}"})


async def test_cancelling_one_text_id_cancels_every_text_id(
    ready: Api, store: SandboxStore
) -> None:
    """The hazard the worker must never trigger: ids are cast to integers, so cancelling
    BK-2027-0004 cancels every linked push of the channel whose remote id is not numeric."""
    uid = await _hotel(ready, rooms=3)
    items = [_reservation(uid, rid) for rid in ("BK-2027-0003", "BK-2027-0004", "778812")]
    await ready.cmf("PUT", ADD, _form(*items))
    answer = await ready.cmf("PUT", CANCEL, _cancel("BK-2027-0004"))
    assert len(answer["cancellations"]) == 2
    status = {b["mapping"]["remote_booking_id"]: b["status"]["status_code"]
              for b in store.bookings(uid)}  # fmt: skip
    assert status == {"BK-2027-0003": 6, "BK-2027-0004": 6, "778812": 3}


async def test_site_bookings_and_closures_are_listed(ready: Api, store: SandboxStore) -> None:
    """A guest's booking has a random 8-digit number and no mapping; a closure is listed too."""
    uid = await _hotel(ready, rooms=2)
    made = store.book_on_site(uid, "2025-05-01", "2025-05-03", firstname="Bo")
    closure = {
        "property_uid": str(uid),
        "room_ids": "[]",
        "text": "paint",
        "availability": json.dumps({"date_from": "2025-06-01", "date_to": "2025-06-02"}),
    }
    await ready.cmf("PUT", "/cmf/property/blackbooking", closure)
    site, black = await ready.cmf("GET", f"/cmf/property/list/bookings/{uid}")
    assert (site["booking_id"], site["mapping"], site["referrer"]) == (
        str(made["booking_id"]), [], "Website")  # fmt: skip
    assert site["booking_number"].isdigit()
    assert len(site["booking_number"]) == 8
    assert made["booking_number"] == site["booking_number"]
    assert (black["referrer"], black["booking_created"], black["booking_total"]) == (
        "Jomres", "1970-01-01 00:00:01", "0.00")  # fmt: skip
    assert (black["comments"], black["mapping"], black["guest_data"]["enc_email"]) == (
        "paint", [], "")  # fmt: skip


async def test_change_log_events(ready: Api, store: SandboxStore) -> None:
    """Events carry their webhook; a booking comes with its invoice's events, as on the real
    engine; the site's own events have channel_data []."""
    uid = await _hotel(ready)
    store.book_on_site(uid, "2025-05-01", "2025-05-03")
    logs = await ready.cmf("GET", "/cmf/properties/change/logs")
    created, added, *booked = logs[str(uid)]
    assert [e["action"] for e in (created, added)] == ["property_created", "room_added"]
    assert [e["action"] for e in booked] == [
        "property_settings_updated", "invoice_created", "invoice_updated", "invoice_updated",
        "booking_added", "property_state_change"]  # fmt: skip
    assert "task" not in booked[3]["webhook_event"]["data"]  # sic, as the real engine
    assert created["channel_data"]["channel_name"] == "otabooker"
    assert {str(e["channel_data"]) for e in booked} == {"[]"}
    assert added["webhook_event"]["data"]["room_uid"] > 0
    assert (created["event_id"], created["property_uid"]) == ("1", str(uid))


async def test_last_modified_strictly_increases(
    ready: Api, store: SandboxStore, clock: FakeWallClock
) -> None:
    """Changes within one second still move last_modified forward; the list follows its order."""
    uid = await _hotel(ready, rooms=2)
    first = store.book_on_site(uid, "2025-05-01", "2025-05-01")
    second = store.book_on_site(uid, "2025-06-01", "2025-06-01")
    changed = store.modify_site_booking(first["booking_id"], surname="Changed")
    again = store.cancel_site_booking(first["booking_id"])
    stamps = [first["last_modified"], changed["last_modified"], again["last_modified"]]
    assert stamps == sorted(set(stamps))
    assert again["status"]["status_code"] == 6
    listed = await ready.cmf("GET", f"/cmf/property/list/bookings/{uid}")
    assert [b["booking_id"] for b in listed] == [str(second["booking_id"]),
                                                 str(first["booking_id"])]  # fmt: skip
    logs = await ready.cmf("GET", "/cmf/properties/change/logs")
    actions = [event["action"] for event in logs[str(uid)]]
    cancel = ["invoice_updated", "invoice_cancelled", "booking_cancelled"]
    assert actions[-4:] == ["booking_modified", *cancel]


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


async def test_put_booking_link_moves_a_push_to_a_numeric_id(ready: Api) -> None:
    """PUT booking/link points a text-id push's link row at a numeric id: booking/link then finds
    it and a cancel by that id cancels it alone."""
    uid = await _hotel(ready, rooms=2)
    answer = await ready.cmf(
        "PUT", ADD, _form(_reservation(uid, "BK-1"), _reservation(uid, "BK-2"))
    )
    contract = answer["successful_bookings"]["BK-1"]["link"]["contract_uid"]
    form = {"property_uid": str(uid), "remote_booking_id": "900000000000004",
            "local_booking_id": str(contract)}  # fmt: skip
    link = await ready.cmf("PUT", "/cmf/property/booking/link", form)
    assert isinstance(link["link_id"], str)  # an existing row's id, read back as text
    found = await ready.cmf("GET", f"/cmf/property/booking/link/{uid}/900000000000004")
    assert found == {"local_bookings": [{"local_booking_id": str(contract)}]}
    cancelled = await ready.cmf("PUT", CANCEL, _cancel("900000000000004"))
    assert len(cancelled["cancellations"]) == 1
    form["local_booking_id"] = "424242"
    assert await ready.error("PUT", "/cmf/property/booking/link", form) == "Booking does not exist"
