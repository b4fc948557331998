"""Properties, their status and rooms (spec §3.3–3.4): thin handlers over ``store.properties``.

Each handler picks the real engine's behaviour (``call.engine``, the default) or the older
servers' (legacy) and leaves the rest to the store's operations.
"""

from __future__ import annotations

from typing import Any

from worker.sandbox.forms import invalid, parse_int, required
from worker.sandbox.php import empty_as_list, intval
from worker.sandbox.routes_base import Call, Endpoint
from worker.sandbox.store_inventory import Room
from worker.sandbox.store_operations import remote_uid_value


def property_ids(call: Call) -> Any:
    ids = call.store.properties.property_ids(call.channel_ref)
    if not call.engine:
        return ids
    # the real engine answers every id as a string, and no property as []
    return empty_as_list({uid: {k: str(v) for k, v in row.items()} for uid, row in ids.items()})


def create_property(call: Call) -> int:
    form = call.form
    name = form.get("property_name", "").strip()
    if not call.engine:
        name = required(form, "property_name")
        required(form, "remote_uid")
    return call.store.properties.create_property(
        call.channel_ref,
        engine=call.engine,
        property_name=name,
        remote_uid=remote_uid_value(form.get("remote_uid", "").strip()),
        country=form.get("country", "").strip().upper(),
        region_id=intval(form.get("region_id", "")),
        ptype_id=intval(form.get("ptype_id", "")),
    )


def get_property(call: Call) -> dict[str, Any]:
    if not call.engine:
        return call.store.properties.spec_view(call.owned)
    return call.store.properties.engine_view(call.owned, site=call.live_site)


def delete_property(call: Call) -> bool:
    return call.store.properties.delete_property(call.owned)


def review(call: Call) -> dict[str, Any]:
    if not call.engine:
        return call.store.properties.spec_review(call.owned)
    return call.store.properties.review(call.owned)


def publish(call: Call) -> dict[str, Any]:
    if not call.engine:
        return call.store.properties.spec_publish(call.owned)
    return call.store.properties.publish(call.owned)


def unpublish(call: Call) -> bool:
    return call.store.properties.unpublish(call.owned)


def status(call: Call) -> dict[str, str]:
    return call.store.properties.status(call.owned)


def rooms(call: Call) -> list[dict[str, Any]]:
    return call.store.properties.rooms_view(call.owned, engine=call.engine)


def _room(call: Call) -> Room:
    form = call.form
    uid = form.get("room_uid", "0") or "0"
    if call.engine:  # the real engine casts whatever it gets and ignores max_people
        return Room(intval(uid), form.get("room_name", ""), form.get("room_number", ""),
                    intval(form.get("room_type_id", "")), 0)  # fmt: skip
    return Room(
        room_uid=parse_int(uid, "room_uid", minimum=0),
        room_name=form.get("room_name", "").strip(),
        room_number=form.get("room_number", "").strip(),
        room_type_id=parse_int(required(form, "room_type_id"), "room_type_id", minimum=1),
        max_people=parse_int(required(form, "max_people"), "max_people", minimum=1),
    )


def put_room(call: Call) -> Any:
    if not call.engine:
        return call.store.properties.spec_put_room(call.channel_ref, call.owned, _room(call))
    return call.store.properties.put_room(call.channel_ref, call.owned, _room(call))


def delete_room(call: Call) -> Any:
    raw = call.param("room_uid")
    if not raw.isdigit():
        raise invalid(f"Room {raw} does not exist in property {call.owned.property_uid}")
    if call.engine:
        return call.store.properties.engine_delete_room(call.owned, int(raw))
    return call.store.properties.delete_room(call.owned, int(raw))


ENDPOINTS = (
    Endpoint("GET", "/cmf/properties/ids", property_ids),
    Endpoint("POST", "/cmf/property", create_property, legacy_failure=("property", "message")),
    Endpoint("GET", "/cmf/property/{property_uid}", get_property, property_from="path"),
    Endpoint("DELETE", "/cmf/property/local/{property_uid}", delete_property, property_from="path"),
    Endpoint("PUT", "/cmf/property/status/review", review, property_from="form"),
    Endpoint("GET", "/cmf/property/status/{property_uid}", status, property_from="path"),
    Endpoint("PUT", "/cmf/property/publish", publish, property_from="form",
             legacy_failure=("response", "message")),
    Endpoint("PUT", "/cmf/property/unpublish", unpublish, property_from="form"),
    Endpoint("GET", "/cmf/property/rooms/{property_uid}", rooms, property_from="path"),
    Endpoint("PUT", "/cmf/property/room", put_room, property_from="form",
             legacy_failure=("response", "error")),
    Endpoint("DELETE", "/cmf/property/room/{property_uid}/{room_uid}", delete_room,
             property_from="path"),
)  # fmt: skip
