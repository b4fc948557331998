"""Contract of properties and rooms as the real engine answers them (spec §3.3–3.4)."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import DEVON, Api, add_room, create_property, set_base_price
from worker.sandbox.store import SandboxStore

REVIEW = "/cmf/property/status/review"


async def test_create_and_read_property(ready: Api, store: SandboxStore) -> None:
    """POST property returns the uid; GET answers the real property object; ids lists it."""
    uid = await create_property(ready, "7001", property_name="Harbour Inn")
    assert isinstance(uid, int)
    prop = await ready.cmf("GET", f"/cmf/property/{uid}")
    assert (prop["propertys_uid"], prop["property_name"], prop["property_region"]) == (
        str(uid), "Harbour Inn", DEVON)  # fmt: skip
    assert (prop["property_country"], prop["ptype_id"], prop["published"]) == ("GB", 1, 0)
    assert (prop["property_postcode"], prop["lat"], prop["property_features"]) == (None,) * 3
    assert "remote_uid" not in prop
    assert "room_info" not in prop
    assert prop["remote_data"] == {}
    ids = await ready.cmf("GET", "/cmf/properties/ids")
    assert ids == {str(uid): {"local_property_uid": str(uid), "remote_property_uid": "7001"}}
    assert store.properties_of("demo", "otabooker")[0]["remote_uid"] == 7001


async def test_remote_uid_is_cast_to_an_integer(ready: Api) -> None:
    """Like the real engine, a non-numeric remote_uid keeps its leading digits (or is 0)."""
    await create_property(ready, "77abc")
    uid = await create_property(ready, "OTA-1")
    ids = await ready.cmf("GET", "/cmf/properties/ids")
    assert [row["remote_property_uid"] for row in ids.values()] == ["77", "0"]
    form = {"property_name": "x", "remote_uid": "XYZ", "country": "GB", "region_id": DEVON,
            "ptype_id": "1"}  # fmt: skip
    message = "That Remote ID already exists in the system."
    assert await ready.error("POST", "/cmf/property", form) == message
    assert str(uid) in ids


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"country": "XX"}, "Country incorrect"),
        ({"region_id": "999999"}, "Region id incorrect"),
        ({"region_id": "abc"}, "Region id incorrect"),
        ({"ptype_id": "99"}, "Property type id incorrect"),
    ],
)
async def test_create_property_validation(
    ready: Api, changes: dict[str, str], message: str
) -> None:
    """Country, region and property type must exist, in the real engine's words."""
    form = {"property_name": "x", "remote_uid": "1", "country": "GB", "region_id": DEVON,
            "ptype_id": "1", **changes}  # fmt: skip
    assert await ready.error("POST", "/cmf/property", form) == message


async def test_region_is_not_checked_against_the_country(ready: Api) -> None:
    """Region ids are site-wide and the real engine does not check them against the country."""
    uid = await create_property(ready, region_id="1")  # region 1 is in Andorra
    assert (await ready.cmf("GET", f"/cmf/property/{uid}"))["property_region"] == "1"


async def test_delete_property(ready: Api) -> None:
    """DELETE local property answers true and the property is gone for the channel."""
    uid = await create_property(ready)
    assert await ready.cmf("DELETE", f"/cmf/property/local/{uid}") is True
    assert await ready.cmf("GET", "/cmf/properties/ids") == []
    assert "does not exist" in await ready.error("GET", f"/cmf/property/{uid}")


async def test_review_warns_in_the_real_engine_order(ready: Api) -> None:
    """No rooms, no tariffs, no main image, no address: each has the real warning, in order."""
    uid = await create_property(ready)
    warnings = (await ready.cmf("PUT", REVIEW, {"property_uid": str(uid)}))["warnings"]
    assert [w.split()[:3] for w in warnings] == [
        ["Ok,", "let's", "get"], ["Next", "you", "will"], ["Research", "has", "proven"],
        ["You'll", "need", "to"],
    ]  # fmt: skip
    assert "each room type" in warnings[1]


async def test_publishing_needs_a_passing_review(ready: Api, store: SandboxStore) -> None:
    """Publish answers false (status 5) until a review passes; then true with 2, then 1."""
    uid = await create_property(ready)
    form = {"property_uid": str(uid)}
    publish = await ready.cmf("PUT", "/cmf/property/publish", form)
    assert publish == {"published": False, "property_status_response_code": "5",
                       "property_status_response_text": "Approved (but incomplete)"}  # fmt: skip
    await add_room(ready, uid)
    await set_base_price(ready, uid)
    address = {**form, "street": "1 Quay", "town": "Exeter", "postcode": "EX1"}
    await ready.cmf("PUT", "/cmf/property/address", address)
    assert len((await ready.cmf("PUT", REVIEW, form))["warnings"]) == 1  # the main image
    store.content.add_image(store.inventory.properties[uid], "property", 0, "main.jpg")
    assert await ready.cmf("PUT", REVIEW, form) == {"property_complete": True, "warnings": []}
    status = await ready.cmf("GET", f"/cmf/property/status/{uid}")
    assert status == {"status_code": "2", "status_text": "Approved (but not published)"}
    first = await ready.cmf("PUT", "/cmf/property/publish", form)
    again = await ready.cmf("PUT", "/cmf/property/publish", form)
    codes = (first["published"], first["property_status_response_code"],
             again["published"], again["property_status_response_code"])  # fmt: skip
    assert codes == (True, "2", True, "1")
    assert (await ready.cmf("GET", f"/cmf/property/{uid}"))["published"] == 1
    _status, body, _ = await ready.call("GET", "/core/get_properties", auth=False)
    assert body["data"]["response"] == [{"property_uid": uid, "property_name": "Sea View"}]
    assert await ready.cmf("PUT", "/cmf/property/unpublish", form) is True
    assert await ready.cmf("PUT", "/cmf/property/unpublish", form) is False


async def test_review_without_property_uid(ready: Api) -> None:
    """A form endpoint without property_uid is a parameter error."""
    assert await ready.error("PUT", REVIEW, {}) == "property_uid not set"


async def test_rooms_create_update_list(ready: Api) -> None:
    """PUT room with room_uid 0 creates, with an id updates; every room holds 2 guests."""
    uid = await create_property(ready)
    room_uid = await add_room(ready, uid)
    form = {"property_uid": str(uid), "room_type_id": "3", "room_uid": str(room_uid),
            "max_people": "5", "room_name": "Twin", "room_number": "102"}  # fmt: skip
    assert await ready.cmf("PUT", "/cmf/property/room", form) == {"room_uid": room_uid}
    rooms = await ready.cmf("GET", f"/cmf/property/rooms/{uid}")
    assert rooms == [{"room_uid": room_uid, "room_name": "Twin", "room_number": "102",
                      "room_type_id": 3, "room_type": "Room Single", "room_features": [],
                      "max_people": 2, "singleperson_suppliment": 0, "tagline": "",
                      "surcharge": 0, "description": ""}]  # fmt: skip
    prop = await ready.cmf("GET", f"/cmf/property/{uid}")
    assert prop["room_info"]["rooms_max_people"] == {"3": {str(room_uid): "2"}}
    assert prop["rooms"] == {"local_rooms": [
        {"room_uid": str(room_uid), "room_classes_uid": "3", "max_people": "2"}]}  # fmt: skip


async def test_unknown_room_uid_is_updated_without_effect(ready: Api) -> None:
    """The real engine answers the uid of a room that does not exist, and changes nothing."""
    uid = await create_property(ready)
    assert await add_room(ready, uid, room_uid="999") == 999
    assert await ready.cmf("GET", f"/cmf/property/rooms/{uid}") == []


@pytest.mark.parametrize(
    ("room_type", "message"),
    [("", "Room type not set "), ("7", "Room type not valid for this property type")],
)
async def test_room_validation(ready: Api, room_type: str, message: str) -> None:
    """The room type must be given and must suit the property type."""
    uid = await create_property(ready)
    form = {"property_uid": str(uid), "room_type_id": room_type, "room_uid": "0"}
    assert await ready.error("PUT", "/cmf/property/room", form) == message


async def test_single_unit_property_comes_with_its_room(ready: Api) -> None:
    """An apartment is created with one room of the engine's choosing, which a PUT takes over;
    after that every PUT room answers "Cannot add more than one room to an SRP"."""
    uid = await create_property(ready, ptype_id="7")
    [auto] = await ready.cmf("GET", f"/cmf/property/rooms/{uid}")
    assert (auto["room_name"], auto["room_type_id"], auto["max_people"]) == ("", 6, 10)
    assert (
        await add_room(ready, uid, room_type="7", room_uid=str(auto["room_uid"]))
        == auto["room_uid"]
    )
    [taken] = await ready.cmf("GET", f"/cmf/property/rooms/{uid}")
    assert (taken["room_type_id"], taken["max_people"], taken["room_name"]) == (7, 2, "Double")
    form = {"property_uid": str(uid), "room_type_id": "7", "room_uid": "0"}
    refused = await ready.data("PUT", "/cmf/property/room", form)
    assert refused == {
        "property": {"success": 0, "message": "Cannot add more than one room to an SRP"}
    }
    assert len(await ready.cmf("GET", f"/cmf/property/rooms/{uid}")) == 1


async def test_single_unit_property_can_get_a_second_room_first(ready: Api) -> None:
    """Before the takeover, room_uid 0 adds a second room to a villa (and then more)."""
    uid = await create_property(ready, ptype_id="6", region_id="985", country="ES")
    await add_room(ready, uid, room_type="8")
    await add_room(ready, uid, room_type="8")
    assert len(await ready.cmf("GET", f"/cmf/property/rooms/{uid}")) == 3


async def test_delete_room_refused_while_the_property_has_bookings(
    ready: Api, store: SandboxStore
) -> None:
    """Any live booking of the property refuses every room's deletion (under data.delete_tariffs);
    without bookings a room goes, and with it the channel's rooms link: no calendar until the
    next PUT room."""
    uid = await create_property(ready)
    free, kept = await add_room(ready, uid), await add_room(ready, uid)
    await set_base_price(ready, uid)
    booking = store.book_on_site(uid, "2025-04-01", "2025-04-02")
    refused = await ready.data("DELETE", f"/cmf/property/room/{uid}/{free}")
    assert refused == {"delete_tariffs": {"success": False, "error": (
        "There are bookings for this property, you must delete all bookings before attempting "
        "to delete rooms")}}  # fmt: skip
    store.cancel_site_booking(booking["booking_id"])
    assert await ready.cmf("DELETE", f"/cmf/property/room/{uid}/{free}") is True
    calendar = f"/cmf/property/calendar/{uid}/2025-03-01/2025-03-01"
    assert await ready.error("GET", calendar) == "There are no rooms for this property."
    await add_room(ready, uid, room_uid=str(kept))
    assert await ready.cmf("GET", calendar)
    assert "does not exist" in await ready.error("DELETE", f"/cmf/property/room/{uid}/{free}")
