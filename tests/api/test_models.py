"""Lenient parsing into strict models: string ids and flags, keyed objects, PHP's ``[]``."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pytest

from worker.api.models import (
    BlackBookings,
    Booking,
    BookingLinks,
    CalendarDay,
    ChangeLogEvent,
    GuestInfo,
    Property,
    RateRange,
    Reservation,
    ReservationsResult,
    StayInfo,
    TariffSets,
    TokenResponse,
    keyed_list,
    parse_as,
    php_dict,
    versions_of,
)
from worker.errors import MalformedResponse


def test_property_with_string_ids_flags_and_rooms_keyed_by_id() -> None:
    """``"4"`` → 4, ``"1"`` → True, numeric remote uid → str, ``{id: room}`` → list."""
    raw = {
        "property_uid": "4",
        "property_name": "Sea View",
        "remote_uid": 0,
        "country": "GB",
        "region_id": "12",
        "ptype_id": "1",
        "published": "1",
        "rooms": {"7": {"room_uid": "7", "room_type_id": "2", "max_people": "3"}},
    }
    prop = parse_as(Property, raw, what="property")
    assert (prop.property_uid, prop.region_id, prop.published, prop.remote_uid) == (
        4,
        12,
        True,
        "0",
    )
    assert [r.room_uid for r in prop.rooms] == [7]


@pytest.mark.parametrize(
    ("flag", "expected"), [("0", False), (0, False), ("true", True), (1, True)]
)
def test_flags_accept_strings_and_numbers(flag: Any, expected: bool) -> None:
    """Flags arrive as ``"0"``/``"1"``, 0/1 or words; all become real booleans."""
    raw = {"property_uid": 1, "property_name": "x", "remote_uid": "r", "published": flag}
    assert parse_as(Property, raw, what="property").published is expected


def test_strict_after_lenient_rejects_nonsense() -> None:
    """A non-numeric id is still refused, as ``MalformedResponse`` without the input value."""
    raw = {"property_uid": "four", "property_name": "secret-ish-value", "remote_uid": "r"}
    with pytest.raises(MalformedResponse) as info:
        parse_as(Property, raw, what="property")
    assert "property_uid" in str(info.value)
    assert "four" not in str(info.value)


def test_calendar_days_parse_money_and_dates() -> None:
    """Calendar keys become dates and prices ``Decimal`` (``"0.00"`` = no tariff)."""
    raw = {"2024-05-02": {"price": "0.00", "minstay": "2", "is_blocked": "1"}}
    days = parse_as(dict[date, CalendarDay], raw, what="calendar")
    day = days[date(2024, 5, 2)]
    assert day == CalendarDay(price=Decimal("0.00"), minstay=2, is_blocked=True)


def test_black_bookings_accept_php_empty_array() -> None:
    """``[]`` for "no closures" and string contract ids both parse."""
    assert parse_as(BlackBookings, php_dict([]), what="bb").blackbookings == {}
    raw = {
        "blackbooking_ids": ["5"],
        "blackbookings": {"5": {"date_from": "2024-06-01", "date_to": "2024-06-03"}},
    }
    closures = parse_as(BlackBookings, raw, what="bb").blackbookings
    assert closures[5].date_to == date(2024, 6, 3)


def test_reservation_results_with_empty_array_sides() -> None:
    """An empty side sent as ``[]`` is an empty mapping; links parse to typed values."""
    raw = {
        "successful_bookings": {
            "R1": {
                "success": True,
                "link": {
                    "contract_uid": "9",
                    "property_uid": "4",
                    "date_from": "2024-06-01",
                    "date_to": "2024-06-02",
                },
            }
        },
        "unsuccessful_bookings": [],
    }
    result = parse_as(ReservationsResult, raw, what="reservations")
    link = result.successful_bookings["R1"].link
    assert link is not None
    assert link.contract_uid == 9
    assert result.unsuccessful_bookings == {}


def test_booking_object_parses_nested_parts_and_empty_mapping() -> None:
    """A site booking (no ``mapping``, as ``[]``) parses with timestamps and money."""
    raw = {
        "booking_id": "11",
        "booking_number": 123,
        "status": {"status_code": "6", "status_text": "cancelled"},
        "property_uid": "4",
        "booking_created": "2024-05-01 10:00:00",
        "last_modified": "2024-05-02 11:30:00",
        "date_from": "2024-06-01",
        "date_to": "2024-06-02",
        "booking_total": "200.00",
        "currency_code": "EUR",
        "guest_numbers": {"adults": "2", "children": 0, "number_of_guests": "2"},
        "guest_data": {"firstname": "Ada", "surname": "L", "email": "a@example.org"},
        "mapping": [],
    }
    booking = parse_as(Booking, raw, what="booking")
    assert booking.status.status_code == 6
    assert booking.last_modified == datetime(2024, 5, 2, 11, 30)
    assert booking.booking_total == Decimal("200.00")
    assert booking.booking_number == "123"
    assert booking.mapping is None


def test_change_log_event_flattens_channel_name() -> None:
    """``channel_data.channel_name`` is lifted; ``[]`` channel data means no channel."""
    base = {"event_id": "1", "property_uid": "4", "action": "booking_added", "date": "2024-05-02"}
    ours = parse_as(ChangeLogEvent, {**base, "channel_data": {"channel_name": "acme"}}, what="e")
    site = parse_as(ChangeLogEvent, {**base, "channel_data": []}, what="e")
    assert (ours.channel_name, site.channel_name) == ("acme", None)


def test_booking_links_accept_keyed_objects() -> None:
    """Local booking links keyed by id parse like a list."""
    links = parse_as(BookingLinks, {"local_bookings": {"0": {"local_booking_id": "17"}}}, what="l")
    assert [link.local_booking_id for link in links.local_bookings] == [17]


def test_keyed_list_turns_objects_into_lists_and_keeps_lists() -> None:
    """Dictionaries keyed by id become lists in key order; lists pass through."""
    assert keyed_list({"GB": {"id": 1}, "FR": {"id": 2}}) == [{"id": 1}, {"id": 2}]
    assert keyed_list([1]) == [1]


@pytest.mark.parametrize(
    ("raw", "expires", "scopes"),
    [
        (
            {"access_token": "t", "expires_in": 3600, "scope": "read write"},
            3600.0,
            {"read", "write"},
        ),
        ({"access_token": "t", "expires_in": "60", "scope": "read,write"}, 60.0, {"read", "write"}),
        ({"access_token": "t", "token_type": "bearer"}, 3600.0, {"read", "delete"}),
        (
            {"access_token": "t", "expires_in": 31536000, "scope": ""},
            31536000.0,
            {"read", "delete"},
        ),
    ],
)
def test_token_response_is_parsed_leniently(
    raw: dict[str, Any], expires: float, scopes: set[str]
) -> None:
    """String or missing ``expires_in`` and comma, empty or missing ``scope`` are all accepted."""
    parsed = TokenResponse.model_validate(raw)
    assert parsed.expires_in == expires
    assert parsed.granted_scopes(("read", "delete")) == scopes


def test_token_response_repr_hides_the_token() -> None:
    """The access token never shows in the model's repr."""
    assert "sekrit-token" not in repr(TokenResponse(access_token="sekrit-token"))


def test_outgoing_models_serialise_dates_and_money_as_strings() -> None:
    """Request bodies carry ``YYYY-MM-DD`` dates and exact decimal strings."""
    rate = RateRange(
        date_from=date(2024, 6, 1), date_to=date(2024, 6, 3), ratepernight=Decimal("120.50")
    )
    assert rate.model_dump(mode="json") == {
        "date_from": "2024-06-01",
        "date_to": "2024-06-03",
        "ratepernight": "120.50",
    }
    guest = GuestInfo(
        name="Ada",
        surname="L",
        email="a@example.org",
        phone="1",
        address="Street 1",
        post_code="1000",
        country_code="GB",
    )
    stay = StayInfo(
        property_id=4,
        date_from=date(2024, 6, 1),
        date_to=date(2024, 6, 2),
        room_type_id=1,
        guest_number=2,
        client_price=Decimal("200"),
        channel_price=Decimal("180"),
        already_paid=Decimal("0"),
    )
    dumped = Reservation(
        remote_reservation_id="R1", guest_info=guest, stay_infos=[stay]
    ).model_dump(mode="json")
    assert dumped["stay_infos"][0]["date_to"] == "2024-06-02"
    assert dumped["stay_infos"][0]["client_price"] == "200"


def test_versions_accept_any_keys() -> None:
    """The versions answer is informational: the spec's keys, the real engine's, or anything."""
    assert versions_of({"Jomres": "10.7.2", "channelmanagement_framework": ""}) == {
        "Jomres": "10.7.2",
        "channelmanagement_framework": "",
    }
    assert versions_of({"bookyflow": "1.2.0", "cmf": 3}) == {"bookyflow": "1.2.0", "cmf": "3"}
    assert versions_of([]) == {"raw": "[]"}


def test_property_parses_the_real_engine_names() -> None:
    """``propertys_uid``, ``property_country``, ``property_region``; no remote uid needed."""
    prop = parse_as(
        Property,
        {"propertys_uid": "3", "property_name": "Alfama", "property_region": "3032",
         "property_country": "PT", "published": 0, "ptype_id": 7},
        what="property",
    )  # fmt: skip
    assert (prop.property_uid, prop.region_id, prop.country, prop.published) == (
        3, 3032, "PT", False,
    )  # fmt: skip
    assert prop.remote_uid is None


def test_booking_reads_linked_bookings_and_enc_guest_fields() -> None:
    """The real engine's mapping and ``enc_`` guest keys land in the same fields as the spec's."""
    booking = Booking.model_validate(
        {
            "booking_id": "2", "booking_number": "BK-1", "status": {"status_code": 3},
            "property_uid": "2", "last_modified": "2026-12-01 08:26:35",
            "date_from": "2027-01-20", "date_to": "2027-01-22",
            "mapping": {"linked_bookings": {"channel_id": "2", "remote_booking_id": "BK-1"}},
            "guest_data": {"enc_firstname": "Ana", "enc_email": "ana@example.org",
                           "country_code": "PT", "country": False},
        }
    )  # fmt: skip
    assert booking.mapping is not None
    assert booking.mapping.remote_booking_id == "BK-1"
    assert (booking.guest_data.firstname, booking.guest_data.email) == ("Ana", "ana@example.org")


def test_tariff_sets_flatten_to_price_minstay_and_nights() -> None:
    """``list/prices`` entries give the price sent (VAT included), ``min_days`` and the range."""
    sets = parse_as(
        TariffSets,
        {"tariff_sets": {"2": [{"rate_per_night": {"price_including_vat": 95,
                                                    "price_excluding_vat": 79.17},
                                "min_days": 3, "date_range": {"start": "2026-12-01",
                                                              "end": "2026-12-10"}}]}},
        what="tariffs",
    )  # fmt: skip
    [entry] = sets.tariff_sets["2"]
    assert (entry.price, entry.minstay, entry.date_to.isoformat()) == (Decimal(95), 3, "2026-12-10")
    assert parse_as(TariffSets, php_dict([]), what="tariffs").tariff_sets == {}
