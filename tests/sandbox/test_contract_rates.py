"""Contract of base price, prices, minimum stays, calendar and black bookings (spec §3.5–3.6)."""

from __future__ import annotations

import json

import pytest

from tests.sandbox.conftest import TODAY, Api, FakeWallClock, add_room, create_property
from worker.sandbox.store import SandboxStore


async def _hotel(api: Api, *, base: str | None = "100") -> int:
    uid = await create_property(api)
    await add_room(api, uid)
    if base is not None:
        form = {"property_uid": str(uid), "base_price": base, "max_people": "2"}
        assert await api.cmf("PUT", "/cmf/property/base/price", form) is True
    return uid


def _rates(uid: int, *entries: tuple[str, str, object]) -> dict[str, str]:
    rows = [{"date_from": a, "date_to": b, "ratepernight": r} for a, b, r in entries]
    return {"property_uid": str(uid), "ratepernight": json.dumps(rows)}


async def test_base_price_covers_today_to_two_years(ready: Api) -> None:
    """The base tariff runs from today for two years; outside it a night costs 0.00."""
    uid = await _hotel(ready)
    cal = await ready.cmf("GET", f"/cmf/property/calendar/{uid}/2025-02-28/2025-03-02")
    assert cal == {
        "2025-02-28": {"price": "0.00", "minstay": 1, "is_blocked": False},
        "2025-03-01": {"price": "100.00", "minstay": 1, "is_blocked": False},
        "2025-03-02": {"price": "100.00", "minstay": 1, "is_blocked": False},
    }
    late = await ready.cmf("GET", f"/cmf/property/calendar/{uid}/2027-03-01/2027-03-02")
    assert [night["price"] for night in late.values()] == ["100.00", "0.00"]


async def test_base_price_twice_is_an_error(ready: Api) -> None:
    """A second base price is refused."""
    uid = await _hotel(ready)
    form = {"property_uid": str(uid), "base_price": "90", "max_people": "2"}
    assert "already exists" in await ready.error("PUT", "/cmf/property/base/price", form)


async def test_calendar_without_tariff_is_zero(ready: Api) -> None:
    """Without any tariff every night costs 0.00."""
    uid = await _hotel(ready, base=None)
    cal = await ready.cmf("GET", f"/cmf/property/calendar/{uid}/{TODAY}/{TODAY}")
    assert cal[TODAY]["price"] == "0.00"


async def test_prices_and_minstays_need_a_base_rate(ready: Api) -> None:
    """Prices and minimum stays before a base price answer 'First set the Base rate'."""
    uid = await _hotel(ready, base=None)
    message = await ready.error("PUT", "/cmf/property/prices", _rates(uid, (TODAY, TODAY, 90)))
    assert message == "First set the Base rate"
    rows = json.dumps([{"date_from": TODAY, "date_to": TODAY, "minstay": 2}])
    form = {"property_uid": str(uid), "minstays": rows}
    assert await ready.error("PUT", "/cmf/property/minstays", form) == "First set the Base rate"


async def test_later_entries_win_where_ranges_overlap(ready: Api, store: SandboxStore) -> None:
    """Entries apply in order; overlapping nights take the later entry's value."""
    uid = await _hotel(ready)
    form = _rates(uid, ("2025-03-10", "2025-03-12", "120.5"), ("2025-03-12", "2025-03-13", 80))
    assert await ready.cmf("PUT", "/cmf/property/prices", form) is True
    rows = [{"date_from": "2025-03-10", "date_to": "2025-03-11", "minstay": 3},
            {"date_from": "2025-03-11", "date_to": "2025-03-11", "minstay": 2}]  # fmt: skip
    minstays = {"property_uid": str(uid), "minstays": json.dumps(rows)}
    assert await ready.cmf("PUT", "/cmf/property/minstays", minstays) is True
    cal = store.calendar(uid, "2025-03-10", "2025-03-14")
    assert [n["price"] for n in cal.values()] == ["120.50", "120.50", "80.00", "80.00", "100.00"]
    assert [n["minstay"] for n in cal.values()] == [3, 2, 1, 1, 1]


@pytest.mark.parametrize(
    ("entries", "message"),
    [
        ([("2024-02-30", "2024-03-01", 90)], "date_from is not a valid date (YYYY-MM-DD)"),
        ([("2025-3-01", "2025-03-02", 90)], "date_from is not a valid date (YYYY-MM-DD)"),
        ([("2025-03-05", "2025-03-04", 90)], "date_to is before date_from"),
        ([("2025-03-05", "2025-03-05", 0)], "ratepernight must be at least 1"),
        ([("2025-03-05", "2025-03-05", "abc")], "ratepernight is not a valid amount"),
    ],
)
async def test_prices_validation(
    ready: Api, entries: list[tuple[str, str, object]], message: str
) -> None:
    """Strict dates, date_to ≥ date_from and rates ≥ 1."""
    uid = await _hotel(ready)
    assert await ready.error("PUT", "/cmf/property/prices", _rates(uid, *entries)) == message


async def test_json_in_form_fields_must_parse_and_have_shape(ready: Api) -> None:
    """ratepernight must be JSON and a list; entries must carry every key."""
    uid = await _hotel(ready)
    form = {"property_uid": str(uid), "ratepernight": "[{"}
    assert (
        await ready.error("PUT", "/cmf/property/prices", form) == "ratepernight is not valid JSON"
    )
    form["ratepernight"] = "{}"
    assert "JSON list" in await ready.error("PUT", "/cmf/property/prices", form)
    form["ratepernight"] = json.dumps([{"date_from": TODAY, "date_to": TODAY}])
    assert await ready.error("PUT", "/cmf/property/prices", form) == "ratepernight not set"
    rows = json.dumps([{"date_from": TODAY, "date_to": TODAY, "minstay": 0}])
    form = {"property_uid": str(uid), "minstays": rows}
    assert await ready.error("PUT", "/cmf/property/minstays", form) == "minstay must be at least 1"


async def test_calendar_rejects_bad_ranges(ready: Api) -> None:
    """Calendar path dates are strict and ordered."""
    uid = await _hotel(ready)
    assert "not a valid date" in await ready.error(
        "GET", f"/cmf/property/calendar/{uid}/2025-02-30/2025-03-01"
    )
    assert "before" in await ready.error("GET", f"/cmf/property/calendar/{uid}/{TODAY}/2025-02-01")


def _closure(uid: int, first: str, last: str, rooms: str = "[]") -> dict[str, str]:
    availability = json.dumps({"date_from": first, "date_to": last})
    return {"property_uid": str(uid), "availability": availability, "room_ids": rooms}


async def test_blackbooking_lifecycle(ready: Api, store: SandboxStore) -> None:
    """PUT closes nights (calendar blocked), list shows it, DELETE reopens."""
    uid = await _hotel(ready)
    answer = await ready.cmf("PUT", "/cmf/property/blackbooking",
                             _closure(uid, "2025-03-05", "2025-03-06"))  # fmt: skip
    assert answer["success"] is True
    contract = answer["contract_id"]
    cal = store.calendar(uid, "2025-03-04", "2025-03-07")
    assert [n["is_blocked"] for n in cal.values()] == [False, True, True, False]
    listed = await ready.cmf("GET", f"/cmf/property/list/blackbookings/{uid}")
    assert listed == {
        "blackbooking_ids": [contract],
        "blackbookings": {str(contract): {"date_from": "2025-03-05", "date_to": "2025-03-06"}},
    }
    assert await ready.cmf("DELETE", f"/cmf/property/blackbooking/{uid}/{contract}") is True
    assert await ready.cmf("GET", f"/cmf/property/list/blackbookings/{uid}") == []
    assert "does not exist" in await ready.error(
        "DELETE", f"/cmf/property/blackbooking/{uid}/{contract}"
    )


async def test_blackbooking_on_booked_nights_fails(ready: Api, store: SandboxStore) -> None:
    """Closing nights a guest already booked answers success false."""
    uid = await _hotel(ready)
    store.book_on_site(uid, "2025-03-05", "2025-03-05")
    answer = await ready.cmf("PUT", "/cmf/property/blackbooking",
                             _closure(uid, "2025-03-04", "2025-03-06"))  # fmt: skip
    assert answer["success"] is False


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
