"""Contract of properties and rooms (spec §3.3–3.4)."""

from __future__ import annotations

import pytest

from tests.sandbox.conftest import Api, add_room, create_property
from worker.sandbox.store import SandboxStore


async def test_create_and_read_property(ready: Api, store: SandboxStore) -> None:
    """POST property returns the uid; GET returns the object; ids lists it with its remote uid."""
    uid = await create_property(ready, "HOTEL-7", property_name="Harbour Inn")
    assert isinstance(uid, int)
    prop = await ready.cmf("GET", f"/cmf/property/{uid}")
    assert prop == {"property_uid": uid, "property_name": "Harbour Inn", "remote_uid": "HOTEL-7",
                    "country": "GB", "region_id": 1, "ptype_id": 1, "published": False,
                    "rooms": []}  # fmt: skip
    ids = await ready.cmf("GET", "/cmf/properties/ids")
    assert ids == {str(uid): {"local_property_uid": uid, "remote_property_uid": "HOTEL-7"}}
    assert store.properties_of("demo", "otabooker")[0]["property_uid"] == uid


async def test_duplicate_remote_uid_in_one_channel(ready: Api) -> None:
    """The same remote_uid twice in one channel is refused."""
    await create_property(ready, "DUP")
    form = {"property_name": "x", "remote_uid": "DUP", "country": "GB", "region_id": "1",
            "ptype_id": "1"}  # fmt: skip
    assert await ready.error("POST", "/cmf/property", form) == (
        "That Remote ID already exists in the system."
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"property_name": ""}, "property_name not set"),
        ({"remote_uid": " "}, "remote_uid not set"),
        ({"country": "XX"}, "Country XX does not exist"),
        ({"region_id": "5"}, "Region 5 does not exist in country GB"),
        ({"region_id": "abc"}, "region_id is not a valid integer"),
        ({"ptype_id": "99"}, "Property type 99 does not exist"),
    ],
)
async def test_create_property_validation(
    ready: Api, changes: dict[str, str], message: str
) -> None:
    """Country, region (of that country) and property type are checked against the dictionaries."""
    form = {"property_name": "x", "remote_uid": "V1", "country": "GB", "region_id": "1",
            "ptype_id": "1", **changes}  # fmt: skip
    assert await ready.error("POST", "/cmf/property", form) == message


async def test_delete_property(ready: Api) -> None:
    """DELETE local property answers true and the property is gone for the channel."""
    uid = await create_property(ready)
    assert await ready.cmf("DELETE", f"/cmf/property/local/{uid}") is True
    assert await ready.cmf("GET", "/cmf/properties/ids") == {}
    assert "does not exist" in await ready.error("GET", f"/cmf/property/{uid}")


async def test_review_and_publish_need_rooms_and_base_price(
    ready: Api, store: SandboxStore
) -> None:
    """Incomplete properties do not publish; with a room and a base price they do."""
    uid = await create_property(ready)
    form = {"property_uid": str(uid)}
    review = await ready.cmf("PUT", "/cmf/property/status/review", form)
    assert review["property_complete"] is False
    assert len(review["warnings"]) == 2
    assert await ready.cmf("PUT", "/cmf/property/publish", form) == {"published": False}
    await add_room(ready, uid)
    price = {"property_uid": str(uid), "base_price": "100", "max_people": "2"}
    await ready.cmf("PUT", "/cmf/property/base/price", price)
    review = await ready.cmf("PUT", "/cmf/property/status/review", form)
    assert review == {"property_complete": True, "warnings": []}
    assert await ready.cmf("PUT", "/cmf/property/publish", form) == {"published": True}
    assert (await ready.cmf("GET", f"/cmf/property/{uid}"))["published"] is True
    _status, body, _ = await ready.call("GET", "/core/get_properties", auth=False)
    assert body["data"]["response"] == [{"property_uid": uid, "property_name": "Sea View"}]


async def test_review_without_property_uid(ready: Api) -> None:
    """A form endpoint without property_uid is a parameter error."""
    assert await ready.error("PUT", "/cmf/property/status/review", {}) == "property_uid not set"


async def test_rooms_create_update_list(ready: Api) -> None:
    """PUT room with room_uid 0 creates, with an id updates; GET lists the rooms."""
    uid = await create_property(ready)
    room_uid = await add_room(ready, uid)
    form = {"property_uid": str(uid), "room_type_id": "3", "room_uid": str(room_uid),
            "max_people": "3", "room_name": "Twin", "room_number": "102"}  # fmt: skip
    assert await ready.cmf("PUT", "/cmf/property/room", form) == {"room_uid": room_uid}
    rooms = await ready.cmf("GET", f"/cmf/property/rooms/{uid}")
    assert rooms == [{"room_uid": room_uid, "room_name": "Twin", "room_number": "102",
                      "room_type_id": 3, "max_people": 3}]  # fmt: skip


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"room_type_id": "7"}, "Room type 7 cannot be used with this property type"),
        ({"room_uid": "999"}, "does not exist"),
        ({"max_people": "0"}, "max_people must be at least 1"),
        ({"max_people": ""}, "max_people not set"),
    ],
)
async def test_room_validation(ready: Api, changes: dict[str, str], message: str) -> None:
    """Room type must suit the property type; room ids must exist; max_people ≥ 1."""
    uid = await create_property(ready)
    form = {"property_uid": str(uid), "room_type_id": "1", "room_uid": "0", "max_people": "2",
            **changes}  # fmt: skip
    assert message in await ready.error("PUT", "/cmf/property/room", form)


async def test_delete_room_and_room_with_bookings(ready: Api, store: SandboxStore) -> None:
    """A free room is deleted (true); a room with bookings answers success false in a 200."""
    uid = await create_property(ready)
    free, booked = await add_room(ready, uid), await add_room(ready, uid)
    assert await ready.cmf("DELETE", f"/cmf/property/room/{uid}/{free}") is True
    store.book_on_site(uid, "2025-04-01", "2025-04-02")
    answer = await ready.cmf("DELETE", f"/cmf/property/room/{uid}/{booked}")
    assert answer["success"] is False
    assert answer["message"]
    assert "does not exist" in await ready.error("DELETE", f"/cmf/property/room/{uid}/{free}")
