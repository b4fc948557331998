"""Base price, nightly prices, minimum stays, calendar, price list and closures (§3.5–3.6).

Thin handlers over ``store.rates`` and ``store.closures``. In the default mode parameter errors
carry the real engine's wording (``Date from incorrect, must be in Y-m-d format``, ...).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any, TypeVar

from worker.errors import ClientRequestError
from worker.sandbox.forms import (
    invalid,
    parse_date,
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

_T = TypeVar("_T")
# The real engine's wording for what the sandbox's parsers reject, by the field they name.
_ENGINE_WORDING = (
    ("date_from", "Date from incorrect, must be in Y-m-d format"),
    ("date_to is not", "Date to incorrect, must be in Y-m-d format"),
    ("ratepernight", "Ratepernight not set or less than 1"),
    ("minstay", "Minstay not set or less than 1"),
)


def _entries(call: Call, parse: Callable[[list[Any]], _T], entries: list[Any]) -> _T:
    """Parsed entries; a rejected one is reported in the real engine's words by default."""
    try:
        return parse(entries)
    except ClientRequestError as exc:
        wording = next((w for prefix, w in _ENGINE_WORDING if exc.message.startswith(prefix)), None)
        if call.engine and wording is not None:
            raise invalid(wording) from None
        raise


def base_price(call: Call) -> bool:
    price = parse_money(required(call.form, "base_price"), "base_price")
    people = parse_int(required(call.form, "max_people"), "max_people", minimum=1)
    return call.store.rates.set_base_price(
        call.channel_ref, call.owned, price, people, engine=call.engine
    )


def prices(call: Call) -> bool:
    entries = _entries(call, parse_rates, parse_json(call.form, "ratepernight", list))
    return call.store.rates.set_prices(call.channel_ref, call.owned, entries, engine=call.engine)


def minstays(call: Call) -> bool:
    entries = _entries(call, parse_minstays, parse_json(call.form, "minstays", list))
    return call.store.rates.set_minstays(call.channel_ref, call.owned, entries, engine=call.engine)


def _engine_range(call: Call) -> tuple[date, date]:
    try:
        first = parse_date(call.param("start"), "start")
    except ClientRequestError:
        raise invalid("Start date incorrect, must be in Y-m-d format") from None
    try:
        return first, parse_date(call.param("end"), "end")
    except ClientRequestError:
        raise invalid("End date incorrect, must be in Y-m-d format") from None


def calendar(call: Call) -> Any:
    if not call.engine:
        first, last = parse_range(call.param("start"), call.param("end"))
        return call.store.rates.calendar(call.owned.property_uid, first, last)
    return call.store.rates.engine_calendar(call.owned, *_engine_range(call))


def list_prices(call: Call) -> Any:
    return call.store.rates.list_prices(call.owned)


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
    return call.store.closures.add_black(call.channel_ref, call.owned, black, engine=call.engine)


def delete_blackbooking(call: Call) -> bool:
    raw = call.param("contract_id")
    if not raw.isdigit():
        wording = (
            "Contract id is not valid" if call.engine else f"Black booking {raw} does not exist"
        )
        raise invalid(wording)
    return call.store.closures.delete_black(
        call.channel_ref, call.owned, int(raw), engine=call.engine
    )


def list_blackbookings(call: Call) -> Any:
    return call.store.closures.future_blacks(call.owned, call.store.today(), engine=call.engine)


ENDPOINTS = (
    Endpoint("PUT", "/cmf/property/base/price", base_price, property_from="form",
             legacy_failure=("response", "error")),
    Endpoint("PUT", "/cmf/property/prices", prices, property_from="form",
             legacy_failure=("calendar", "message")),
    Endpoint("PUT", "/cmf/property/minstays", minstays, property_from="form",
             legacy_failure=("calendar", "message")),
    Endpoint("GET", "/cmf/property/calendar/{property_uid}/{start}/{end}", calendar,
             property_from="path"),
    Endpoint("GET", "/cmf/property/list/prices/{property_uid}", list_prices,
             property_from="path"),
    Endpoint("PUT", "/cmf/property/blackbooking", add_blackbooking, property_from="form",
             legacy_failure=("response", "message")),
    Endpoint("DELETE", "/cmf/property/blackbooking/{property_uid}/{contract_id}",
             delete_blackbooking, property_from="path", legacy_failure=("delete_tariffs", "error")),
    Endpoint("GET", "/cmf/property/list/blackbookings/{property_uid}", list_blackbookings,
             property_from="path"),
)  # fmt: skip
