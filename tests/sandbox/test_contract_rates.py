"""Contract of base price, prices, minimum stays, calendar, price list and black bookings, as the
real engine answers them (spec §3.5–3.6)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.sandbox.conftest import (
    TODAY,
    Api,
    FakeWallClock,
    add_room,
    create_property,
    set_base_price,
)
from worker.sandbox.store import SandboxStore

NO_TARIFF_YET = (
    "Tariffs don't yet exist for this property. First set the Base rate, then you can use this "
    "feature to fine-tune things."
)


async def _hotel(api: Api, *, base: str | None = "100", rooms: tuple[str, ...] = ("1",)) -> int:
    uid = await create_property(api)
    for room_type in rooms:
        await add_room(api, uid, room_type)
    if base is not None:
        await set_base_price(api, uid, base)
    return uid


def _rates(uid: int, *entries: tuple[str, str, object]) -> dict[str, str]:
    rows = [{"date_from": a, "date_to": b, "ratepernight": r} for a, b, r in entries]
    return {"property_uid": str(uid), "ratepernight": json.dumps(rows)}


def _minstays(uid: int, *entries: tuple[str, str, int]) -> dict[str, str]:
    rows = [{"date_from": a, "date_to": b, "minstay": m} for a, b, m in entries]
    return {"property_uid": str(uid), "minstays": json.dumps(rows)}


def _runs(price_list: dict[str, Any]) -> list[tuple[str, str, float, int]]:
    """The first tariff set as (first night, last night, price, minstay) runs."""
    first_set = next(iter(price_list["tariff_sets"].values()))
    return [
        (t["date_range"]["start"], t["date_range"]["end"],
         t["rate_per_night"]["price_including_vat"], t["min_days"])
        for t in first_set
    ]  # fmt: skip


async def test_base_price_covers_today_to_two_years(ready: Api) -> None:
    """The base tariff runs from today for two years, one tariff set per room type."""
    uid = await _hotel(ready, rooms=("1", "3", "1"))
    price_list = await ready.cmf("GET", f"/cmf/property/list/prices/{uid}")
    assert [s[0]["room_type_id"] for s in price_list["tariff_sets"].values()] == [1, 3]
    assert _runs(price_list) == [("2025-03-01", "2027-03-01", 100, 1)]
    [tariff] = price_list["tariff_sets"][next(iter(price_list["tariff_sets"]))]
    assert tariff["rate_per_night"]["display_price"] == "83.33€"  # shown without 20 % VAT
    assert tariff["number_of_days"] == len(tariff["dates"]) == 731


async def test_calendar_nights_have_no_price(ready: Api) -> None:
    """Calendar nights carry minstay (inside the tariff) and is_blocked only."""
    uid = await _hotel(ready)
    cal = await ready.cmf("GET", f"/cmf/property/calendar/{uid}/2025-02-28/2025-03-01")
    assert cal == {"2025-02-28": {"is_blocked": False},
                   "2025-03-01": {"minstay": 1, "is_blocked": False}}  # fmt: skip


async def test_base_price_twice_is_an_error(ready: Api) -> None:
    """A second base price is refused with the real engine's words."""
    uid = await _hotel(ready)
    form = {"property_uid": str(uid), "base_price": "90", "max_people": "2"}
    assert await ready.error("PUT", "/cmf/property/base/price", form) == (
        "Tariffs already exist for this property, use the Property Minstays and Property Prices "
        "endpoints to set prices for different periods"
    )


async def test_no_tariff_is_a_successful_answer_under_data_calendar(ready: Api) -> None:
    """Before a base price the calendar and the price list answer 200 with success false."""
    uid = await _hotel(ready, base=None)
    cal = await ready.data("GET", f"/cmf/property/calendar/{uid}/{TODAY}/{TODAY}")
    assert cal == {"calendar": {"success": False, "error": "There are no tariffs for this "
                                "property, cannot return the completed calendar"}}  # fmt: skip
    prices = await ready.data("GET", f"/cmf/property/list/prices/{uid}")
    assert prices["calendar"]["error"].endswith("cannot return the base price")


async def test_base_price_without_rooms_prices_nothing(ready: Api) -> None:
    """Without rooms the base price answers true but creates no tariff; the calendar refuses."""
    uid = await _hotel(ready, rooms=())
    assert await ready.error("GET", f"/cmf/property/calendar/{uid}/{TODAY}/{TODAY}") == (
        "There are no rooms for this property."
    )
    await add_room(ready, uid)
    await set_base_price(ready, uid)  # allowed: there was no tariff


async def test_prices_and_minstays_need_a_base_rate(ready: Api) -> None:
    """Prices and minimum stays before a base price are refused."""
    uid = await _hotel(ready, base=None)
    message = await ready.error("PUT", "/cmf/property/prices", _rates(uid, (TODAY, TODAY, 90)))
    assert message == NO_TARIFF_YET
    form = _minstays(uid, (TODAY, TODAY, 2))
    assert await ready.error("PUT", "/cmf/property/minstays", form) == NO_TARIFF_YET


async def test_later_entries_win_and_prices_reset_minstays(ready: Api, store: SandboxStore) -> None:
    """Entries apply in order (the later wins); PUT prices resets its nights' minstay to 1."""
    uid = await _hotel(ready)
    form = _rates(uid, ("2025-03-10", "2025-03-12", "120.5"), ("2025-03-12", "2025-03-13", 80))
    assert await ready.cmf("PUT", "/cmf/property/prices", form) is True
    minstays = _minstays(uid, ("2025-03-10", "2025-03-11", 3), ("2025-03-11", "2025-03-11", 2))
    assert await ready.cmf("PUT", "/cmf/property/minstays", minstays) is True
    cal = store.calendar(uid, "2025-03-10", "2025-03-14")
    assert [n["price"] for n in cal.values()] == ["120.50", "120.50", "80.00", "80.00", "100.00"]
    assert [n["minstay"] for n in cal.values()] == [3, 2, 1, 1, 1]
    await ready.cmf("PUT", "/cmf/property/prices", _rates(uid, ("2025-03-11", "2025-03-11", 99)))
    cal = await ready.cmf("GET", f"/cmf/property/calendar/{uid}/2025-03-10/2025-03-11")
    assert [n["minstay"] for n in cal.values()] == [3, 1]


async def test_price_list_shows_every_night_s_price(ready: Api) -> None:
    """list/prices splits the tariff into runs with one price and minstay: every night's price
    can be read from it."""
    uid = await _hotel(ready)
    await ready.cmf("PUT", "/cmf/property/prices", _rates(uid, ("2025-03-10", "2025-03-12", 120)))
    await ready.cmf(
        "PUT", "/cmf/property/minstays", _minstays(uid, ("2025-03-12", "2025-03-14", 3))
    )
    runs = _runs(await ready.cmf("GET", f"/cmf/property/list/prices/{uid}"))
    assert runs == [("2025-03-01", "2025-03-09", 100, 1), ("2025-03-10", "2025-03-11", 120, 1),
                    ("2025-03-12", "2025-03-12", 120, 3), ("2025-03-13", "2025-03-14", 100, 3),
                    ("2025-03-15", "2027-03-01", 100, 1)]  # fmt: skip


async def test_prices_outside_the_tariff_stretch_it(ready: Api) -> None:
    """Pricing nights past the tariff's end extends it; minimum stays do not."""
    uid = await _hotel(ready)
    await ready.cmf("PUT", "/cmf/property/prices", _rates(uid, ("2027-02-28", "2027-03-03", 70)))
    await ready.cmf(
        "PUT", "/cmf/property/minstays", _minstays(uid, ("2027-03-03", "2027-03-05", 2))
    )
    runs = _runs(await ready.cmf("GET", f"/cmf/property/list/prices/{uid}"))
    assert runs[-1] == ("2027-03-03", "2027-03-03", 70, 2)


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("2024-02-30", "2024-03-01", 90)], "Date from incorrect, must be in Y-m-d format"),
        ([("2025-03-01", "2025-3-02", 90)], "Date to incorrect, must be in Y-m-d format"),
        ([("2025-03-05", "2025-03-05", 0)], "Ratepernight not set or less than 1"),
        ([("2025-03-05", "2025-03-04", 90)], "date_to is before date_from"),
    ],
)
async def test_prices_validation(
    ready: Api, entries: list[tuple[str, str, object]], message: str
) -> None:
    """Strict dates, ordered ranges and rates ≥ 1, in the real engine's words."""
    uid = await _hotel(ready)
    assert await ready.error("PUT", "/cmf/property/prices", _rates(uid, *entries)) == message


async def test_json_in_form_fields_must_parse_and_have_shape(ready: Api) -> None:
    """ratepernight must be JSON and a list; minstays must be at least 1."""
    uid = await _hotel(ready)
    form = {"property_uid": str(uid), "ratepernight": "[{"}
    assert (
        await ready.error("PUT", "/cmf/property/prices", form) == "ratepernight is not valid JSON"
    )
    form["ratepernight"] = "{}"
    assert "JSON list" in await ready.error("PUT", "/cmf/property/prices", form)
    form = _minstays(uid, (TODAY, TODAY, 0))
    message = await ready.error("PUT", "/cmf/property/minstays", form)
    assert message == "Minstay not set or less than 1"


async def test_calendar_range_checks(ready: Api) -> None:
    """Calendar dates are strict; a reversed range answers no nights."""
    uid = await _hotel(ready)
    assert await ready.error("GET", f"/cmf/property/calendar/{uid}/2025-02-30/2025-03-01") == (
        "Start date incorrect, must be in Y-m-d format"
    )
    assert await ready.error("GET", f"/cmf/property/calendar/{uid}/{TODAY}/x") == (
        "End date incorrect, must be in Y-m-d format"
    )
    assert await ready.cmf("GET", f"/cmf/property/calendar/{uid}/{TODAY}/2025-02-01") == {}


def _closure(uid: int, first: str, last: str, rooms: str = "[]", **extra: str) -> dict[str, str]:
    availability = json.dumps({"date_from": first, "date_to": last})
    return {"property_uid": str(uid), "availability": availability, "room_ids": rooms, **extra}


async def test_calendar_lists_booked_nights_outside_the_range(
    ready: Api, store: SandboxStore
) -> None:
    """Like the real engine, the calendar adds every night of live bookings and closures beyond
    the asked range (with is_blocked only)."""
    uid = await _hotel(ready, rooms=("1", "1"))
    await ready.cmf("PUT", "/cmf/property/blackbooking", _closure(uid, "2025-05-01", "2025-05-02"))
    store.book_on_site(uid, "2025-06-01", "2025-06-01")
    cal = await ready.cmf("GET", f"/cmf/property/calendar/{uid}/2025-03-01/2025-03-01")
    assert cal == {"2025-03-01": {"minstay": 1, "is_blocked": False},
                   "2025-05-01": {"is_blocked": True}, "2025-05-02": {"is_blocked": True},
                   "2025-06-01": {"is_blocked": False}}  # fmt: skip


async def test_blackbooking_lifecycle(ready: Api, store: SandboxStore) -> None:
    """PUT closes nights, list shows it (ids as strings), DELETE cancels it: it stays listed
    among the bookings as a cancelled contract."""
    uid = await _hotel(ready)
    closure = _closure(uid, "2025-03-05", "2025-03-06", text='Paint & "dry"')
    answer = await ready.cmf("PUT", "/cmf/property/blackbooking", closure)
    assert answer["success"] is True
    contract = answer["contract_id"]
    cal = store.calendar(uid, "2025-03-04", "2025-03-07")
    assert [n["is_blocked"] for n in cal.values()] == [False, True, True, False]
    listed = await ready.cmf("GET", f"/cmf/property/list/blackbookings/{uid}")
    assert listed == {
        "blackbooking_ids": [str(contract)],
        "blackbookings": {str(contract): {"date_from": "2025-03-05", "date_to": "2025-03-06"}},
    }
    [black] = await ready.cmf("GET", f"/cmf/property/list/bookings/{uid}")
    assert (black["booking_id"], black["referrer"], black["comments"]) == (
        str(contract), "Jomres", "Paint &#38; &#34;dry&#34;")  # fmt: skip
    assert await ready.cmf("DELETE", f"/cmf/property/blackbooking/{uid}/{contract}") is True
    assert await ready.cmf("GET", f"/cmf/property/list/blackbookings/{uid}") == []
    [black] = await ready.cmf("GET", f"/cmf/property/list/bookings/{uid}")
    assert black["status"] == {"status_code": 6, "status_text": "Cancelled"}
    message = await ready.error("DELETE", f"/cmf/property/blackbooking/{uid}/{contract}")
    assert message == "Contract id is not valid"


async def test_blackbooking_on_booked_nights_fails(ready: Api, store: SandboxStore) -> None:
    """Closing nights a guest already booked answers a bare success false."""
    uid = await _hotel(ready)
    store.book_on_site(uid, "2025-03-05", "2025-03-05")
    answer = await ready.cmf("PUT", "/cmf/property/blackbooking",
                             _closure(uid, "2025-03-04", "2025-03-06"))  # fmt: skip
    assert answer == {"success": False}


async def test_blackbooking_validation(ready: Api) -> None:
    """availability must be an object with strict dates; room_ids must be this property's."""
    uid = await _hotel(ready)
    bad_dates = _closure(uid, "2025-03-09", "2025-03-08")
    assert "before" in await ready.error("PUT", "/cmf/property/blackbooking", bad_dates)
    foreign_room = _closure(uid, TODAY, TODAY, rooms="[9999]")
    assert "room_ids" in await ready.error("PUT", "/cmf/property/blackbooking", foreign_room)
    form = {"property_uid": str(uid), "availability": "[]"}
    assert "JSON object" in await ready.error("PUT", "/cmf/property/blackbooking", form)


async def test_blackbooking_list_is_future_only(
    ready: Api, store: SandboxStore, clock: FakeWallClock
) -> None:
    """Closures whose last night has passed drop out of the list (but stay in the store)."""
    uid = await _hotel(ready)
    await ready.cmf("PUT", "/cmf/property/blackbooking", _closure(uid, TODAY, TODAY))
    clock.advance(86400)
    ready.token = await ready.fetch_token()  # the old one expired overnight
    assert await ready.cmf("GET", f"/cmf/property/list/blackbookings/{uid}") == []
    assert len(store.blackbookings(uid)) == 1
