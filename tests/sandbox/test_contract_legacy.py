"""Contract of the legacy switch: every Compatibility behaviour the sandbox serves (spec §1–3)."""

from __future__ import annotations

import json

import pytest

from tests.sandbox.conftest import DEMO, READER, Api, add_room, create_property
from worker.sandbox.store import SandboxStore


@pytest.fixture
def legacy(store: SandboxStore) -> SandboxStore:
    store.legacy = True
    return store


async def test_token_response_shape(api: Api, legacy: SandboxStore) -> None:
    """Stored scopes granted comma-separated, expires_in a numeric string, token_type bearer."""
    form = {"grant_type": "client_credentials", "client_id": DEMO.client_id,
            "client_secret": DEMO.secret, "scope": "read"}  # fmt: skip
    status, body, _ = await api.call("POST", "/oauth/token", form=form)
    assert status == 200
    assert (body["token_type"], body["expires_in"], body["scope"]) == (
        "bearer",
        "3600",
        "read,write,delete",
    )
    del form["scope"]
    status, body, _ = await api.call("POST", "/oauth/token", form=form)
    assert status == 200
    assert "scope" not in body


async def test_token_request_at_api_root(api: Api, store: SandboxStore) -> None:
    """POST / takes the token request only in legacy mode."""
    form = {"grant_type": "client_credentials", "client_id": DEMO.client_id,
            "client_secret": DEMO.secret, "scope": "read"}  # fmt: skip
    assert (await api.call("POST", "/", form=form))[0] == 404
    store.legacy = True
    status, body, _ = await api.call("POST", "/", form=form)
    assert status == 200
    assert body["access_token"]


async def test_legacy_401_bodies(api: Api, legacy: SandboxStore) -> None:
    """Expired tokens say so in the old wording; missing tokens are invalid_request."""
    status, body, _ = await api.call("GET", "/cmf/versions")
    assert (status, body["error"]) == (401, "invalid_request")
    api.token = await api.fetch_token()
    legacy.expire_all_tokens()
    status, body, _ = await api.call("GET", "/cmf/versions")
    assert status == 401
    assert body == {"error": "invalid_token",
                    "error_description": "The access token provided has expired"}  # fmt: skip


async def test_missing_scope_is_400_envelope(api: Api, legacy: SandboxStore) -> None:
    """A missing scope is HTTP 400 'Client not allowed to access this feature : <scope>'."""
    api.token = await api.fetch_token(client=READER)
    status, body, _ = await api.call("PUT", "/cmf/property/publish", form={})
    assert status == 400
    assert body["error_message"] == "Client not allowed to access this feature : write"


async def test_endpoint_errors_are_http_200(ready: Api, legacy: SandboxStore) -> None:
    """Channel errors use the short meta-204 form; read endpoint errors the full envelope in 200."""
    ready.channel = None
    status, body, _ = await ready.call("GET", "/cmf/versions")
    assert (status, body) == (200, {"meta": {"code": 204, "error_message": "Channel not set"}})
    ready.channel = "otabooker"
    status, body, _ = await ready.call("GET", "/cmf/property/calendar/999/2025-03-01/2025-03-01")
    assert status == 200
    assert "does not have access to property" in body["meta"]["error_message"]
    uid = await create_property(ready)
    status, body, _ = await ready.call("GET", f"/cmf/property/calendar/{uid}/2025-03-01/x")
    assert status == 200
    assert body["lines"] == []
    assert "not a valid date" in body["error_message"]


async def test_write_failures_inside_success_envelopes(ready: Api, legacy: SandboxStore) -> None:
    """Write endpoint errors arrive as success false under data.response/property/calendar."""
    uid = await create_property(ready, "7")
    form = {"property_name": "x", "remote_uid": "7", "country": "GB", "region_id": "1",
            "ptype_id": "1"}  # fmt: skip
    status, body, _ = await ready.call("POST", "/cmf/property", form=form)
    assert status == 200
    assert body["data"]["property"] == {
        "success": False,
        "message": "That Remote ID already exists in the system.",
    }
    rates = json.dumps([{"date_from": "2025-03-01", "date_to": "2025-03-01", "ratepernight": 9}])
    status, body, _ = await ready.call(
        "PUT", "/cmf/property/prices", form={"property_uid": str(uid), "ratepernight": rates}
    )
    assert body["data"]["calendar"] == {"success": False, "message": "First set the Base rate"}


async def test_string_ids_and_rooms_keyed_by_id(ready: Api, legacy: SandboxStore) -> None:
    """Ids and flags are strings, rooms come keyed by room_uid, empty objects are []."""
    assert await ready.cmf("GET", "/cmf/properties/ids") == []
    uid = await create_property(ready, "12")
    room = await add_room(ready, uid)
    prop = await ready.cmf("GET", f"/cmf/property/{uid}")
    assert prop["property_uid"] == str(uid)
    assert prop["published"] == "0"
    assert prop["remote_uid"] == "12"
    assert prop["region_id"] == "1113"
    assert prop["rooms"][str(room)]["room_uid"] == str(room)
    rooms = await ready.cmf("GET", f"/cmf/property/rooms/{uid}")
    assert list(rooms) == [str(room)]
    channel_id = await ready.cmf("GET", "/cmf/channel/announce/otabooker")
    assert isinstance(channel_id, str)
    assert channel_id.isdigit()


async def test_remote_uid_is_cast_to_int(ready: Api, legacy: SandboxStore) -> None:
    """A non-numeric remote_uid is stored as 0, so a second one collides."""
    uid = await create_property(ready, "ABC-1")
    ids = await ready.cmf("GET", "/cmf/properties/ids")
    assert ids[str(uid)]["remote_property_uid"] == "0"
    form = {"property_name": "x", "remote_uid": "XYZ", "country": "GB", "region_id": "1",
            "ptype_id": "1"}  # fmt: skip
    _status, body, _ = await ready.call("POST", "/cmf/property", form=form)
    assert body["data"]["property"]["success"] is False


async def test_bad_segment_count_is_html_404(ready: Api, legacy: SandboxStore) -> None:
    """A path under a known route family with the wrong segment count gets an HTML 404."""
    status, body, headers = await ready.call("GET", "/cmf/property/rooms/1/extra")
    assert status == 404
    assert headers["Content-Type"].startswith("text/html")
    assert "Not Found" in body
    status, body, _ = await ready.call("GET", "/nothing/at/all")
    assert status == 404
    assert body["error_message"] == "Request /nothing/at/all unknown"


async def test_legacy_is_read_per_request(ready: Api, store: SandboxStore) -> None:
    """Flipping the switch at run time changes the very next answer."""
    assert "Jomres" in await ready.cmf("GET", "/cmf/versions")
    store.legacy = True
    assert await ready.cmf("GET", "/cmf/versions") == {"bookyflow": "10.7.2", "cmf": "3.4"}


async def test_spec_shapes_of_the_older_servers(ready: Api, legacy: SandboxStore) -> None:
    """Property object, rooms and calendar nights in the spec's shape (prices in the calendar,
    max_people as sent), and a review that needs only rooms and a base price."""
    uid = await create_property(ready, "12")
    form = {"property_uid": str(uid), "room_type_id": "1", "room_uid": "0", "max_people": "3",
            "room_name": "D", "room_number": "1"}  # fmt: skip
    await ready.cmf("PUT", "/cmf/property/room", form)
    assert (await ready.cmf("GET", f"/cmf/property/{uid}"))["remote_uid"] == "12"
    [room] = (await ready.cmf("GET", f"/cmf/property/rooms/{uid}")).values()
    assert room["max_people"] == "3"
    price = {"property_uid": str(uid), "base_price": "100", "max_people": "2"}
    await ready.cmf("PUT", "/cmf/property/base/price", price)
    cal = await ready.cmf("GET", f"/cmf/property/calendar/{uid}/2025-03-01/2025-03-01")
    assert cal == {"2025-03-01": {"price": "100.00", "minstay": "1", "is_blocked": False}}
    review = await ready.cmf("PUT", "/cmf/property/status/review", {"property_uid": str(uid)})
    assert review == {"property_complete": True, "warnings": []}
    assert await ready.cmf("PUT", "/cmf/property/publish", {"property_uid": str(uid)}) == {
        "published": "1"
    }


async def test_older_servers_match_remote_ids_as_text(ready: Api, legacy: SandboxStore) -> None:
    """No room type name needed, text ids found by booking/link and cancelled one by one."""
    uid = await create_property(ready)
    await add_room(ready, uid)
    guest = dict.fromkeys(("name", "surname", "email", "phone", "address", "post_code",
                           "country_code", "language_id"), "x")  # fmt: skip
    items = [{"remote_reservation_id": rid, "guest_info": guest, "stay_infos": [
        {"property_id": uid, "date_from": "2025-04-01", "date_to": "2025-04-01", "room_type_id": 1,
         "guest_number": 4, "client_price": 1, "channel_price": 1, "already_paid": 0}]}
        for rid in ("OTA-1", "OTA-2")]  # fmt: skip
    form = {"reservations": json.dumps({"reservations": items})}
    answer = await ready.cmf("PUT", "/cmf/reservations/add", form)
    assert set(answer["successful_bookings"]) == {"OTA-1", "OTA-2"}
    assert answer["unsuccessful_bookings"] == []
    linked = await ready.cmf("GET", f"/cmf/property/booking/link/{uid}/OTA-1")
    assert len(linked["local_bookings"]) == 1
    cancel = {"reservation_ids": json.dumps(["OTA-1"])}
    assert len((await ready.cmf("PUT", "/cmf/reservations/cancel", cancel))["cancellations"]) == 1
    statuses = [b["status"]["status_code"] for b in legacy.bookings(uid)]
    assert sorted(statuses) == [1, 6]


async def test_older_servers_refuse_only_a_booked_room(ready: Api, legacy: SandboxStore) -> None:
    """A free room is deleted even while another room has bookings (success false for that one)."""
    uid = await create_property(ready)
    free, booked = await add_room(ready, uid), await add_room(ready, uid)
    legacy.book_on_site(uid, "2025-04-01", "2025-04-02")
    room_of_booking = legacy.records.of_property(uid)[0].room_uid
    other = free if room_of_booking == booked else booked
    assert await ready.cmf("DELETE", f"/cmf/property/room/{uid}/{other}") is True
    answer = await ready.cmf("DELETE", f"/cmf/property/room/{uid}/{room_of_booking}")
    assert answer["success"] is False
