"""The real engine's property, room and review answers, built from the sandbox's state.

Field names, key order and value types are copied from the transcripts of the real engine
(``../shared/real-engine/transcripts``): ids as strings in some places and numbers in others,
``NULL`` columns as ``null`` until a full save turns them into ``""``, PHP's ``[]`` for an empty
array and ``{}`` for an empty object. Pure functions of the domain objects.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from datetime import date
from typing import Any

from worker.sandbox import dictionaries as dicts
from worker.sandbox.forms import nights
from worker.sandbox.php import php_array
from worker.sandbox.store_inventory import Property, Room, Tariff

NO_ROOMS = "Ok, let's get started. First you need to create some rooms for this property."
NO_TARIFFS_UNIT = "Next you will need to add some tariffs. These are your basic prices."
NO_TARIFFS_ROOMS = (
    "Next you will need to add some tariffs. These are your basic room prices, you should add "
    "prices for each room type that you have in your real-life property."
)
NO_IMAGE = (
    "Research has proven that properties with lots of high quality images generate more views. "
    "Upload a main image and some slideshow pictures to improve your chances of getting bookings."
)
NO_ADDRESS = (
    "You'll need to complete your address details so that your guests can find you when they "
    "come to stay."
)
_TEXT_KEYS = (
    ("description", "property_description"), ("checkin_times", "property_checkin_times"),
    ("area_activities", "property_area_activities"),
    ("driving_directions", "property_driving_directions"), ("airports", "property_airports"),
    ("othertransport", "property_othertransport"), ("terms", "property_policies_disclaimers"),
)  # fmt: skip


def review_warnings(prop: Property, *, has_tariff: bool) -> list[str]:
    """What ``PUT status/review`` warns about, in the real engine's order."""
    warnings = []
    if not prop.rooms:
        warnings.append(NO_ROOMS)
    if not has_tariff:
        warnings.append(NO_TARIFFS_UNIT if prop.single_unit else NO_TARIFFS_ROOMS)
    if not prop.images.get("property"):
        warnings.append(NO_IMAGE)
    if not (prop.street and prop.town):
        warnings.append(NO_ADDRESS)
    return warnings


def room_object(room: Room) -> dict[str, Any]:
    """One entry of ``GET /cmf/property/rooms/@uid``."""
    return {
        "room_uid": room.room_uid, "room_name": room.room_name, "room_number": room.room_number,
        "room_type_id": room.room_type_id, "room_type": dicts.room_type_name(room.room_type_id),
        "room_features": [], "max_people": room.max_people, "singleperson_suppliment": 0,
        "tagline": "", "surcharge": 0, "description": "",
    }  # fmt: skip


def room_info(rooms: list[Room]) -> dict[str, Any]:
    """``room_info`` of the property object: rooms grouped by room type, ids as strings."""
    by_type: dict[int, list[Room]] = {}
    for room in rooms:
        by_type.setdefault(room.room_type_id, []).append(room)
    types = {rt: dicts.ROOM_TYPES.get(rt) for rt in by_type}
    return {
        "rooms": php_array({r.room_uid: str(r.room_uid) for r in rooms}),
        "rooms_by_type": php_array(
            {rt: [str(r.room_uid) for r in rs] for rt, rs in by_type.items()}
        ),
        "room_types": php_array({
            rt: {"abbv": t.abbv if t else "", "desc": "", "image": t.image if t else ""}
            for rt, t in types.items()
        }),
        "rooms_max_people": php_array({
            rt: php_array({r.room_uid: str(r.max_people) for r in rs}) for rt, rs in by_type.items()
        }),
    }  # fmt: skip


def _content(prop: Property) -> dict[str, Any]:
    """The descriptive columns, ``NULL`` ones as ``None`` until a full save."""
    saved = prop.saved

    def column(value: str | None) -> str | None:
        return "" if saved and value is None else value

    body: dict[str, Any] = {
        "property_street": prop.street, "property_town": prop.town,
        "property_region": str(prop.region_id), "property_country": prop.country,
        "property_postcode": column(prop.postcode), "property_tel": column(prop.tel),
        "property_fax": column(prop.fax), "property_email": prop.email,
        "property_features": [] if saved else None,
    }  # fmt: skip
    body.update({key: prop.texts.get(name, "") for name, key in _TEXT_KEYS})
    body.update({
        "price": "0", "published": int(prop.published), "stars": prop.stars,
        "superior": prop.superior, "ptype_id": prop.ptype_id, "lat": column(prop.lat),
        "long": column(prop.long), "metatitle": "", "metadescription": "", "metakeywords": "",
        "approved": 0, "permit_number": prop.texts.get("permit_number", ""), "cat_id": 0,
    })  # fmt: skip
    return body


def property_object(
    prop: Property,
    tariff: Tariff | None,
    *,
    site: str,
    changelog_items: int | None = None,
    overlay: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The property object. ``changelog_items`` given: ``GET``'s answer (uid as a string, with
    ``other_settings``); else the answer of a content ``PUT``, whose ``overlay`` replaces the
    fields that request wrote with the values as it wrote them."""
    getting = changelog_items is not None
    body: dict[str, Any] = {
        "propertys_uid": str(prop.property_uid) if getting else prop.property_uid,
        "property_name": prop.property_name,
        **_content(prop),
        **(overlay or {}),
    }
    if prop.rooms:
        body["room_info"] = room_info(prop.rooms)
    body["images"] = {"image_relative_path": site}
    if prop.room_snapshot is not None:
        body["rooms"] = {"local_rooms": [
            {"room_uid": str(uid), "room_classes_uid": str(rt), "max_people": str(people)}
            for uid, rt, people in prop.room_snapshot
        ]}  # fmt: skip
    if tariff is not None and tariff.sets:
        body["tariffs"] = tariff_rows(tariff)
    if getting:
        body["other_settings"] = {"cleaning_fee": 0, "security_deposit": 0}
    body["remote_data"] = {}
    if getting:
        body["changelog_item_count"] = changelog_items
    return body


def segments(tariff: Tariff) -> Iterator[tuple[str, str, str, int]]:
    """The tariff window as runs of nights with one price and minimum stay:
    ``(first night, last night, price, minstay)``, in date order."""
    run: list[Any] | None = None
    window = date.fromisoformat(tariff.first_night), date.fromisoformat(tariff.last_night)
    for night in nights(*window):
        value = (tariff.price(night), tariff.minstay(night))
        if run is not None and (run[2], run[3]) == value:
            run[1] = night
            continue
        if run is not None:
            yield run[0], run[1], run[2], run[3]
        run = [night, night, *value]
    if run is not None:
        yield run[0], run[1], run[2], run[3]


def tariff_rows(tariff: Tariff) -> list[dict[str, str]]:
    """``tariffs`` of the property object: one row per room type and run of nights."""
    rows: list[dict[str, str]] = []
    runs = list(segments(tariff))
    for _tarifftype, room_type in tariff.sets:
        for first, last, price, minstay in runs:
            rows.append({
                "rates_uid": str(len(rows) + 1), "rate_title": "Tariff", "rate_description": "",
                "validfrom": first.replace("-", "/"), "validto": last.replace("-", "/"),
                "roomrateperday": f"{float(price):.7f}", "mindays": str(minstay),
                "maxdays": "365", "minpeople": "1", "maxpeople": str(tariff.max_people),
                "roomclass_uid": str(room_type), "ignore_pppn": "0", "allow_ph": "1",
                "allow_we": "1",
            })  # fmt: skip
    return rows
