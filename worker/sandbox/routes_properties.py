"""Properties and rooms (spec §3.3–3.4): thin handlers over ``store.properties``."""

from __future__ import annotations

from typing import Any

from worker.sandbox.forms import invalid, parse_int, required
from worker.sandbox.routes_base import Call, Endpoint
from worker.sandbox.store_inventory import Room
from worker.sandbox.store_operations import remote_uid_value


def property_ids(call: Call) -> dict[str, Any]:
    return call.store.properties.property_ids(call.channel_ref)


def create_property(call: Call) -> int:
    form = call.form
    return call.store.properties.create_property(
        call.channel_ref,
        property_name=required(form, "property_name"),
        remote_uid=remote_uid_value(required(form, "remote_uid"), legacy=call.legacy),
        country=required(form, "country").upper(),
        region_id=parse_int(required(form, "region_id"), "region_id", minimum=1),
        ptype_id=parse_int(required(form, "ptype_id"), "ptype_id", minimum=1),
    )


def get_property(call: Call) -> dict[str, Any]:
    return call.store.properties.property_view(call.owned)


def delete_property(call: Call) -> bool:
    return call.store.properties.delete_property(call.owned)


def review(call: Call) -> dict[str, Any]:
    return call.store.properties.review(call.owned)


def publish(call: Call) -> dict[str, Any]:
    return call.store.properties.publish(call.owned)


def rooms(call: Call) -> list[dict[str, Any]]:
    return call.store.properties.rooms_view(call.owned)


def put_room(call: Call) -> dict[str, Any]:
    form = call.form
    room = Room(
        room_uid=parse_int(form.get("room_uid", "0") or "0", "room_uid", minimum=0),
        room_name=form.get("room_name", "").strip(),
        room_number=form.get("room_number", "").strip(),
        room_type_id=parse_int(required(form, "room_type_id"), "room_type_id", minimum=1),
        max_people=parse_int(required(form, "max_people"), "max_people", minimum=1),
    )
    return call.store.properties.put_room(call.owned, room)


def delete_room(call: Call) -> Any:
    raw = call.param("room_uid")
    if not raw.isdigit():
        raise invalid(f"Room {raw} does not exist in property {call.owned.property_uid}")
    return call.store.properties.delete_room(call.owned, int(raw))


ENDPOINTS = (
    Endpoint("GET", "/cmf/properties/ids", property_ids),
    Endpoint("POST", "/cmf/property", create_property, legacy_failure=("property", "message")),
    Endpoint("GET", "/cmf/property/{property_uid}", get_property, property_from="path"),
    Endpoint("DELETE", "/cmf/property/local/{property_uid}", delete_property, property_from="path"),
    Endpoint("PUT", "/cmf/property/status/review", review, property_from="form"),
    Endpoint(
        "PUT",
        "/cmf/property/publish",
        publish,
        property_from="form",
        legacy_failure=("response", "message"),
    ),
    Endpoint("GET", "/cmf/property/rooms/{property_uid}", rooms, property_from="path"),
    Endpoint(
        "PUT",
        "/cmf/property/room",
        put_room,
        property_from="form",
        legacy_failure=("response", "error"),
    ),
    Endpoint(
        "DELETE", "/cmf/property/room/{property_uid}/{room_uid}", delete_room, property_from="path"
    ),
)
