"""Base price, nightly prices, minimum stays, the calendar and closures (spec §3.5–3.6)."""

from __future__ import annotations

from typing import Any

from worker.sandbox.forms import (
    invalid,
    parse_id_list,
    parse_int,
    parse_json,
    parse_minstays,
    parse_money,
    parse_range,
    parse_rates,
    required,
)
from worker.sandbox.routes_base import Call, Endpoint
from worker.sandbox.store_bookings import BlackBooking


def base_price(call: Call) -> bool:
    price = parse_money(required(call.form, "base_price"), "base_price")
    people = parse_int(required(call.form, "max_people"), "max_people", minimum=1)
    return call.store.properties.set_base_price(call.channel_ref, call.owned, price, people)


def prices(call: Call) -> bool:
    entries = parse_rates(parse_json(call.form, "ratepernight", list))
    return call.store.properties.set_prices(call.channel_ref, call.owned, entries)


def minstays(call: Call) -> bool:
    entries = parse_minstays(parse_json(call.form, "minstays", list))
    return call.store.properties.set_minstays(call.channel_ref, call.owned, entries)


def calendar(call: Call) -> dict[str, Any]:
    first, last = parse_range(call.param("start"), call.param("end"))
    return call.store.properties.calendar(call.owned.property_uid, first, last)


def add_blackbooking(call: Call) -> dict[str, Any]:
    availability = parse_json(call.form, "availability", dict)
    first, last = parse_range(availability.get("date_from"), availability.get("date_to"))
    black = BlackBooking(
        contract_id=0,
        property_uid=call.owned.property_uid,
        date_from=first.isoformat(),
        date_to=last.isoformat(),
        room_ids=parse_id_list(call.form, "room_ids"),
        remote_booking_id=call.form.get("remote_booking_id", ""),
        text=call.form.get("text", ""),
    )
    return call.store.reservations.add_black(call.channel_ref, call.owned, black)


def delete_blackbooking(call: Call) -> bool:
    raw = call.param("contract_id")
    if not raw.isdigit():
        raise invalid(f"Black booking {raw} does not exist")
    return call.store.reservations.delete_black(call.channel_ref, call.owned, int(raw))


def list_blackbookings(call: Call) -> Any:
    return call.store.reservations.future_blacks(call.owned, call.store.today())


ENDPOINTS = (
    Endpoint("PUT", "/cmf/property/base/price", base_price, property_from="form",
             legacy_failure=("response", "error")),
    Endpoint("PUT", "/cmf/property/prices", prices, property_from="form",
             legacy_failure=("calendar", "message")),
    Endpoint("PUT", "/cmf/property/minstays", minstays, property_from="form",
             legacy_failure=("calendar", "message")),
    Endpoint("GET", "/cmf/property/calendar/{property_uid}/{start}/{end}", calendar,
             property_from="path"),
    Endpoint("PUT", "/cmf/property/blackbooking", add_blackbooking, property_from="form",
             legacy_failure=("response", "message")),
    Endpoint("DELETE", "/cmf/property/blackbooking/{property_uid}/{contract_id}",
             delete_blackbooking, property_from="path", legacy_failure=("delete_tariffs", "error")),
    Endpoint("GET", "/cmf/property/list/blackbookings/{property_uid}", list_blackbookings,
             property_from="path"),
)  # fmt: skip
