"""The live suite's inventory: the engine's example inventory moved into the future, with OTA ids.

``live_inventory`` shifts every date of ``../shared/real-engine/live-inventory.example.json`` (whose
region and type ids fit that site) so that its first night is two weeks from today, and gives the
properties reservations with non-numeric ids (``BK-2027-0001``: the case the engine handles worst)
on free dates. ``expected_*`` compute what the engine must end with over the worker's horizon.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Iterable, Iterator, Mapping
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

__all__ = [
    "LEAD_DAYS",
    "SITE_BOOKING",
    "Stay",
    "expected_closures",
    "expected_minstays",
    "expected_prices",
    "legacy_push_form",
    "live_inventory",
    "nights",
    "reservation_of",
    "reservations",
]

LEAD_DAYS = 14
DATE_KEYS = ("date_from", "date_to")


class Stay(NamedTuple):
    """A reservation of the live inventory: nights ``offset`` .. ``offset + nights - 1``."""

    property_remote_uid: str
    reservation_id: str
    status: str
    room_type_id: int
    offset: int
    nights: int
    surname: str


# Offsets in days from today; no two stays of one room type overlap, none meets a closure.
STAYS = (
    Stay("1001", "BK-2027-0001", "confirmed", 1, 20, 3, "Silva"),
    Stay("1001", "BK-2027-0002", "confirmed", 3, 50, 3, "Baker"),
    Stay("1001", "BK-2027-0003", "cancelled", 1, 60, 3, "Never"),
    Stay("2001", "BK-2027-0004", "confirmed", 7, 30, 3, "Costa"),
)
# A guest's booking "on the hotel's site": property, room remote id, offset, nights.
SITE_BOOKING = ("1001", "1001-A", 70, 2)


def nights(first: date, count: int) -> Iterator[date]:
    return (first + timedelta(days=i) for i in range(count))


def _dates(example: Mapping[str, Any]) -> Iterator[date]:
    for prop in example["properties"]:
        for key in ("rates", "minstays", "closures", "reservations"):
            for entry in prop.get(key, []):
                yield from (date.fromisoformat(entry[k]) for k in DATE_KEYS)


def reservation_of(stay: Stay, today: date) -> dict[str, Any]:
    first = today + timedelta(days=stay.offset)
    return {
        "id": stay.reservation_id,
        "status": stay.status,
        "referrer": "LiveOTA",
        "guest": {
            "name": "Guest",
            "surname": stay.surname,
            "email": f"{stay.surname.lower()}@example.org",
            "phone": "+351000000",
            "address": "Rua 1",
            "post_code": "1000-001",
            "country_code": "PT",
            "language_id": "en-GB",
        },
        "date_from": first.isoformat(),
        "date_to": (first + timedelta(days=stay.nights - 1)).isoformat(),
        "room_type_id": stay.room_type_id,
        "guests": 2,
        "client_price": "300.00",
        "channel_price": "300.00",
        "already_paid": "0.00",
    }


def live_inventory(example: Mapping[str, Any], today: date) -> dict[str, Any]:
    """The example with every date moved to start ``LEAD_DAYS`` from today, and ``STAYS``."""
    shift = today + timedelta(days=LEAD_DAYS) - min(_dates(example))
    document = copy.deepcopy(dict(example))
    for prop in document["properties"]:
        for key in ("rates", "minstays", "closures"):
            for entry in prop.get(key, []):
                for k in DATE_KEYS:
                    entry[k] = (date.fromisoformat(entry[k]) + shift).isoformat()
        prop["reservations"] = [
            reservation_of(stay, today)
            for stay in STAYS
            if stay.property_remote_uid == prop["remote_uid"]
        ]
    return document


def legacy_push_form(reservation: Mapping[str, Any], property_uid: int) -> dict[str, str]:
    """``reservations/add`` of the reservation under its OTA id, as earlier worker versions sent
    it (with the ``room_type_name`` the engine needs, so that the push succeeds)."""
    stay = {
        "property_id": property_uid,
        "date_from": reservation["date_from"],
        "date_to": reservation["date_to"],
        "room_type_id": reservation["room_type_id"],
        "room_type_name": "",
        "guest_number": reservation["guests"],
        "client_price": reservation["client_price"],
        "channel_price": reservation["channel_price"],
        "already_paid": reservation["already_paid"],
    }
    item = {
        "remote_reservation_id": reservation["id"],
        "referrer": reservation["referrer"],
        "comments": "",
        "guest_info": dict(reservation["guest"]),
        "stay_infos": [stay],
    }
    return {"reservations": json.dumps({"reservations": [item]})}


def reservations(document: Mapping[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """``(property remote_uid, reservation)`` of every reservation of the document."""
    for prop in document["properties"]:
        for reservation in prop.get("reservations", []):
            yield prop["remote_uid"], reservation


def _later_wins(
    entries: Iterable[Mapping[str, Any]], key: str, default: Any, first: date, count: int
) -> dict[date, Any]:
    values = dict.fromkeys(nights(first, count), default)
    for entry in entries:
        start, end = (date.fromisoformat(entry[k]) for k in DATE_KEYS)
        for night in nights(start, (end - start).days + 1):
            if night in values:
                values[night] = entry[key]
    return values


def expected_prices(prop: Mapping[str, Any], first: date, count: int) -> dict[date, Decimal]:
    """Price per night of ``[first, first + count)``: the base price unless a rate covers it."""
    values = _later_wins(prop.get("rates", []), "price", prop["base_price"], first, count)
    return {night: Decimal(value) for night, value in values.items()}


def expected_minstays(prop: Mapping[str, Any], first: date, count: int) -> dict[date, int]:
    """Minimum stay per night of ``[first, first + count)``: 1 unless a minimum stay covers it."""
    return _later_wins(prop.get("minstays", []), "minstay", 1, first, count)


def expected_closures(prop: Mapping[str, Any]) -> list[tuple[date, date]]:
    """The property's closures as ``(first night, last night)``, sorted."""
    return sorted(
        (date.fromisoformat(c["date_from"]), date.fromisoformat(c["date_to"]))
        for c in prop.get("closures", [])
    )
