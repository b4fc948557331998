"""The sandbox's reference data (spec §3.2), with the real engine's ids, names and flags.

Property types and room types are the real install's (flag 1 = one unit such as a villa, an
apartment or a cottage; 0 = rooms in a property), countries and regions come from
``dictionaries_data``. ``/cmf/list/countries`` and ``/cmf/list/regions`` list only what properties
of the site use; the ``/all`` variants list everything. Real answers carry ids as strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from worker.sandbox.dictionaries_data import COUNTRIES, PROPERTY_FEATURES
from worker.sandbox.dictionaries_data import REGIONS as _REGION_ROWS
from worker.sandbox.php import empty_as_list

# (id, name, flag) in the real list's order (by name).
_PROPERTY_TYPES: tuple[tuple[int, str, int], ...] = (
    (7, "Apartment", 1), (5, "Bed and Breakfast", 0), (4, "Camp Site", 0), (3, "Car", 1),
    (8, "Cottage", 1), (10, "For Sale", 4), (1, "Hotel", 0), (9, "Tour", 3), (6, "Villa", 1),
    (2, "Yacht", 1),
)  # fmt: skip
SINGLE_UNIT_FLAG = 1

_HOUSES = ("6", "7", "8")
# (id, abbreviation, property type ids it suits, image) in the real list's order (by name).
_ROOM_TYPES: tuple[tuple[int, str, tuple[str, ...], str], ...] = (
    (5, "1 Bedroom", ("7", "8", "6"), "1bedroom.png"),
    (6, "2 Bedrooms", _HOUSES, "2bedrooms.png"), (7, "3 Bedrooms", _HOUSES, "3bedrooms.png"),
    (8, "4 Bedrooms", _HOUSES, "4bedrooms.png"), (9, "5 Bedrooms", _HOUSES, "5bedrooms.png"),
    (10, "6+ Bedrooms", _HOUSES, "6bedrooms.png"),
    (16, "Car rental Hatchback", ("3",), "hatchback.png"),
    (17, "Car rental Luxury", ("3",), "luxury.png"),
    (18, "Car rental Minivan", ("3",), "minivan.png"),
    (19, "Car rental Saloon", ("3",), "saloon.png"),
    (20, "Car rental Sportscar", ("3",), "sportscar.png"),
    (4, "Room 4 Poster bed", ("1", "5"), "4poster.png"),
    (1, "Room Double beds", ("1", "5"), "double.png"), (3, "Room Single", ("1", "5"), "single.png"),
    (2, "Room Twin beds", ("1", "5"), "twin.png"),
    (11, "Tent pitch 1 person ", ("4",), "tent1.png"),
    (12, "Tent pitch 2 person ", ("4",), "tent2.png"),
    (13, "Tent pitch 3 person ", ("4",), "tent3.png"),
    (14, "Tent pitch 4 person ", ("4",), "tent4.png"),
    (15, "Tent pitch 6+ person", ("4",), "tent6.png"),
    (21, "Tent pitch Caravan", ("4",), "caravan.png"),
    (22, "Yacht 2 berth", ("2",), "yacht2.png"), (23, "Yacht 4 berth", ("2",), "yacht4.png"),
    (24, "Yacht 6 berth", ("2",), "yacht6.png"), (25, "Yacht 8+ berth", ("2",), "yacht8.png"),
)  # fmt: skip
# The room the real engine creates itself with a single-unit property, by property type.
AUTO_ROOM_TYPE = {2: 22, 3: 16, 6: 6, 7: 6, 8: 6}
AUTO_ROOM_MAX_PEOPLE = 10

_IMAGE_TYPES = (
    ("Property main image", "property"),
    ("Room images", "rooms"),
    ("Slideshow images", "slideshow"),
)  # fmt: skip


@dataclass(frozen=True)
class Region:
    """One region of a country; ids are site-wide."""

    id: int
    countrycode: str
    regionname: str


@dataclass(frozen=True)
class RoomType:
    """One room class: what it is called and which property types may use it."""

    id: int
    abbv: str
    ptypes: tuple[int, ...]
    image: str


REGIONS: dict[int, Region] = {rid: Region(rid, code, name) for rid, code, name in _REGION_ROWS}
COUNTRY_NAMES: dict[str, str] = {code: name for code, _, name in COUNTRIES}
COUNTRY_IDS: dict[str, int] = {code: cid for code, cid, _ in COUNTRIES}
PROPERTY_TYPE_FLAGS: dict[int, int] = {ptype: flag for ptype, _, flag in _PROPERTY_TYPES}
ROOM_TYPES: dict[int, RoomType] = {
    rid: RoomType(rid, abbv, tuple(int(p) for p in xref), image)
    for rid, abbv, xref, image in _ROOM_TYPES
}
ROOM_TYPE_PTYPES: dict[int, tuple[int, ...]] = {rid: rt.ptypes for rid, rt in ROOM_TYPES.items()}
IMAGE_TYPES = tuple(internal for _, internal in _IMAGE_TYPES)


def is_single_unit(ptype_id: int) -> bool:
    return PROPERTY_TYPE_FLAGS.get(ptype_id) == SINGLE_UNIT_FLAG


def room_type_name(room_type_id: int) -> str:
    room_type = ROOM_TYPES.get(room_type_id)
    return room_type.abbv if room_type else ""


def countries_payload(codes: Iterable[str] | None = None) -> Any:
    """``GET /cmf/list/countries[/all]``: keyed by ISO code; only ``codes`` when given (by id)."""
    chosen = [c for c in COUNTRIES if codes is None or c[0] in set(codes)]
    if codes is not None:
        chosen.sort(key=lambda country: country[1])
    return empty_as_list({
        code: {"id": str(cid), "countrycode": code, "countryname": name}
        for code, cid, name in chosen
    })  # fmt: skip


def regions_payload(ids: Iterable[int] | None = None) -> Any:
    """``GET /cmf/list/regions[/all]``: keyed by region id; only ``ids`` when given (by id)."""
    chosen = list(REGIONS.values()) if ids is None else [REGIONS[i] for i in sorted(set(ids))]
    return empty_as_list({
        str(r.id): {"id": str(r.id), "countrycode": r.countrycode, "regionname": r.regionname}
        for r in chosen
    })  # fmt: skip


def legacy_countries_payload() -> dict[str, dict[str, Any]]:
    """Older servers list every country, ids as numbers (the legacy shaping makes them strings)."""
    return {code: {"id": cid, "countrycode": code, "countryname": name}
            for code, cid, name in COUNTRIES}  # fmt: skip


def legacy_regions_payload() -> dict[str, dict[str, Any]]:
    return {str(r.id): {"id": r.id, "countrycode": r.countrycode, "regionname": r.regionname}
            for r in REGIONS.values()}  # fmt: skip


def property_types_payload() -> list[dict[str, Any]]:
    """``GET /cmf/list/property/types``."""
    return [
        {"property_type_id": ptype, "property_type": name, "flag": flag}
        for ptype, name, flag in _PROPERTY_TYPES
    ]


def room_types_payload() -> list[dict[str, Any]]:
    """``GET /cmf/list/room/types``: ``ptype_xref`` holds the property type ids as strings."""
    return [
        {"room_classes_uid": rid, "room_class_abbv": abbv, "ptype_xref": list(xref)}
        for rid, abbv, xref, _ in _ROOM_TYPES
    ]


def image_types_payload() -> list[dict[str, Any]]:
    """``GET /cmf/list/image/types``."""
    return [
        {"type": label, "internal_type": internal, "resource_id_required": True}
        for label, internal in _IMAGE_TYPES
    ]


def property_features_payload() -> list[dict[str, Any]]:
    """``GET /cmf/list/property/features``."""
    return [
        {"property_feature_id": fid, "property_feature": name, "include_in_filters": flag}
        for fid, name, flag in PROPERTY_FEATURES
    ]


def currency_for(country: str) -> str:
    """The currency older servers charged a property in ``country`` in (EUR unless listed)."""
    return _CURRENCIES.get(country, "EUR")


_CURRENCIES = {
    "GB": "GBP", "US": "USD", "CH": "CHF", "DK": "DKK", "SE": "SEK", "NO": "NOK", "PL": "PLN",
    "CZ": "CZK", "HU": "HUF", "RO": "RON", "BG": "BGN", "IS": "ISK", "TR": "TRY", "JP": "JPY",
    "AU": "AUD", "NZ": "NZD", "CA": "CAD", "ZA": "ZAR", "AE": "AED", "TH": "THB", "IN": "INR",
    "BR": "BRL", "MX": "MXN",
}  # fmt: skip
