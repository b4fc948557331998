"""The sandbox's reference data: countries, regions, property types and room types (spec §3.2).

Ids are assigned from the order of the tables below, so they are stable across runs: country ids
follow ``_COUNTRIES``, region ids are numbered 1.. in table order (GB's England is region 1), the
first property type (id 1) is a multi-room "Hotel" and room type 1 ("Double room") suits it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

# ISO 3166-1 alpha-2 code -> (English name, a few real first-level regions).
_COUNTRIES: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("GB", "United Kingdom", ("England", "Scotland", "Wales", "Northern Ireland")),
    ("PT", "Portugal", ("Lisboa", "Porto", "Faro", "Madeira", "Açores")),
    ("ES", "Spain", ("Andalucía", "Cataluña", "Madrid", "Illes Balears", "Canarias")),
    ("FR", "France", ("Île-de-France", "Provence-Alpes-Côte d'Azur", "Bretagne", "Occitanie")),
    ("DE", "Germany", ("Bayern", "Berlin", "Hamburg", "Hessen")),
    ("IT", "Italy", ("Lazio", "Lombardia", "Toscana", "Veneto", "Sicilia")),
    ("NL", "Netherlands", ("Noord-Holland", "Zuid-Holland", "Utrecht")),
    ("US", "United States", ("California", "Florida", "New York", "Texas")),
    ("IE", "Ireland", ("Leinster", "Munster", "Connacht", "Ulster")),
    ("BE", "Belgium", ("Brussels", "Flanders", "Wallonia")),
    ("LU", "Luxembourg", ("Luxembourg", "Diekirch", "Grevenmacher")),
    ("CH", "Switzerland", ("Zürich", "Genève", "Bern", "Valais")),
    ("AT", "Austria", ("Wien", "Tirol", "Salzburg")),
    ("DK", "Denmark", ("Hovedstaden", "Midtjylland", "Syddanmark")),
    ("SE", "Sweden", ("Stockholm", "Västra Götaland", "Skåne")),
    ("NO", "Norway", ("Oslo", "Vestland", "Nordland")),
    ("FI", "Finland", ("Uusimaa", "Lapland", "Pirkanmaa")),
    ("IS", "Iceland", ("Capital Region", "Southern Region", "Northeastern Region")),
    ("PL", "Poland", ("Mazowieckie", "Małopolskie", "Pomorskie")),
    ("CZ", "Czechia", ("Praha", "Jihomoravský kraj", "Karlovarský kraj")),
    ("SK", "Slovakia", ("Bratislavský kraj", "Žilinský kraj", "Prešovský kraj")),
    ("HU", "Hungary", ("Budapest", "Pest", "Győr-Moson-Sopron")),
    ("SI", "Slovenia", ("Osrednjeslovenska", "Gorenjska", "Obalno-kraška")),
    ("HR", "Croatia", ("Grad Zagreb", "Splitsko-dalmatinska", "Istarska")),
    ("GR", "Greece", ("Attica", "Crete", "South Aegean", "Ionian Islands")),
    ("CY", "Cyprus", ("Nicosia", "Limassol", "Paphos", "Larnaca")),
    ("MT", "Malta", ("Malta", "Gozo")),
    ("RO", "Romania", ("București", "Brașov", "Constanța")),
    ("BG", "Bulgaria", ("Sofia City", "Varna", "Burgas")),
    ("EE", "Estonia", ("Harju", "Tartu", "Pärnu")),
    ("LV", "Latvia", ("Rīga", "Kurzeme", "Vidzeme")),
    ("LT", "Lithuania", ("Vilnius", "Kaunas", "Klaipėda")),
    ("TR", "Turkey", ("İstanbul", "Antalya", "Muğla", "İzmir")),
    ("MA", "Morocco", ("Marrakech-Safi", "Casablanca-Settat", "Fès-Meknès")),
    ("EG", "Egypt", ("Cairo", "Red Sea", "South Sinai")),
    ("ZA", "South Africa", ("Western Cape", "Gauteng", "KwaZulu-Natal")),
    ("KE", "Kenya", ("Nairobi", "Mombasa", "Narok")),
    ("TZ", "Tanzania", ("Zanzibar", "Arusha", "Dar es Salaam")),
    ("AE", "United Arab Emirates", ("Dubai", "Abu Dhabi", "Sharjah")),
    ("IL", "Israel", ("Jerusalem", "Tel Aviv", "Southern")),
    ("IN", "India", ("Goa", "Kerala", "Maharashtra", "Rajasthan")),
    ("TH", "Thailand", ("Bangkok", "Phuket", "Chiang Mai", "Krabi")),
    ("VN", "Vietnam", ("Hà Nội", "Hồ Chí Minh", "Quảng Nam")),
    ("ID", "Indonesia", ("Bali", "Jakarta", "Yogyakarta")),
    ("MY", "Malaysia", ("Kuala Lumpur", "Penang", "Sabah")),
    ("SG", "Singapore", ("Central Region", "East Region")),
    ("JP", "Japan", ("Tokyo", "Kyoto", "Osaka", "Hokkaido")),
    ("KR", "South Korea", ("Seoul", "Busan", "Jeju")),
    ("CN", "China", ("Beijing", "Shanghai", "Guangdong", "Yunnan")),
    ("AU", "Australia", ("New South Wales", "Victoria", "Queensland", "Western Australia")),
    ("NZ", "New Zealand", ("Auckland", "Canterbury", "Otago")),
    ("CA", "Canada", ("Ontario", "Quebec", "British Columbia", "Alberta")),
    ("MX", "Mexico", ("Quintana Roo", "Ciudad de México", "Jalisco", "Oaxaca")),
    ("BR", "Brazil", ("Rio de Janeiro", "São Paulo", "Bahia")),
    ("AR", "Argentina", ("Buenos Aires", "Mendoza", "Río Negro")),
    ("CL", "Chile", ("Santiago Metropolitan", "Valparaíso", "Magallanes")),
    ("PE", "Peru", ("Lima", "Cusco", "Arequipa")),
    ("CO", "Colombia", ("Bogotá", "Antioquia", "Bolívar")),
    ("CR", "Costa Rica", ("San José", "Guanacaste", "Puntarenas")),
    ("CU", "Cuba", ("La Habana", "Matanzas", "Sancti Spíritus")),
    ("DO", "Dominican Republic", ("Santo Domingo", "La Altagracia", "Puerto Plata")),
    ("JM", "Jamaica", ("Kingston", "Saint James", "Westmoreland")),
)

# (id, name, flag): flag 1 = multi-room property, 0 = single-room property.
_PROPERTY_TYPES: tuple[tuple[int, str, int], ...] = (
    (1, "Hotel", 1),
    (2, "Guest house", 1),
    (3, "Hostel", 1),
    (4, "Bed and breakfast", 1),
    (5, "Apartment", 0),
    (6, "Villa", 0),
    (7, "Cottage", 0),
)

# (id, abbreviation, property type ids the room type may be used with).
_ROOM_TYPES: tuple[tuple[int, str, tuple[int, ...]], ...] = (
    (1, "Double room", (1, 2, 4)),
    (2, "Single room", (1, 2, 3, 4)),
    (3, "Twin room", (1, 2, 3, 4)),
    (4, "Family room", (1, 2, 4)),
    (5, "Suite", (1,)),
    (6, "Dormitory bed", (3,)),
    (7, "Whole apartment", (5,)),
    (8, "Whole villa", (6,)),
    (9, "Whole cottage", (7,)),
)


@dataclass(frozen=True)
class Region:
    """One region of a country."""

    id: int
    countrycode: str
    regionname: str


def _numbered_regions() -> dict[int, Region]:
    regions: dict[int, Region] = {}
    for code, _name, names in _COUNTRIES:
        for name in names:
            region_id = len(regions) + 1
            regions[region_id] = Region(region_id, code, name)
    return regions


REGIONS: dict[int, Region] = _numbered_regions()
COUNTRY_NAMES: dict[str, str] = {code: name for code, name, _ in _COUNTRIES}
PROPERTY_TYPE_FLAGS: dict[int, int] = {ptype: flag for ptype, _, flag in _PROPERTY_TYPES}
ROOM_TYPE_PTYPES: dict[int, tuple[int, ...]] = {rid: xref for rid, _, xref in _ROOM_TYPES}


def countries_payload() -> dict[str, dict[str, Any]]:
    """``GET /cmf/list/countries``: keyed by ISO code."""
    return {
        code: {"id": index, "countrycode": code, "countryname": name}
        for index, (code, name, _) in enumerate(_COUNTRIES, start=1)
    }


def regions_payload() -> dict[str, dict[str, Any]]:
    """``GET /cmf/list/regions``: keyed by region id."""
    return {
        str(region.id): {
            "id": region.id,
            "countrycode": region.countrycode,
            "regionname": region.regionname,
        }
        for region in REGIONS.values()
    }


def property_types_payload() -> list[dict[str, Any]]:
    """``GET /cmf/list/property/types``."""
    return [
        {"property_type_id": ptype, "property_type": name, "flag": flag}
        for ptype, name, flag in _PROPERTY_TYPES
    ]


def room_types_payload() -> list[dict[str, Any]]:
    """``GET /cmf/list/room/types``."""
    return [
        {"room_classes_uid": rid, "room_class_abbv": abbv, "ptype_xref": list(xref)}
        for rid, abbv, xref in _ROOM_TYPES
    ]


def currency_for(country: str) -> str:
    """The currency a property in ``country`` charges in (EUR unless listed)."""
    return _CURRENCIES.get(country, "EUR")


_CURRENCIES = {
    "GB": "GBP", "US": "USD", "CH": "CHF", "DK": "DKK", "SE": "SEK", "NO": "NOK", "PL": "PLN",
    "CZ": "CZK", "HU": "HUF", "RO": "RON", "BG": "BGN", "IS": "ISK", "TR": "TRY", "JP": "JPY",
    "AU": "AUD", "NZ": "NZD", "CA": "CAD", "ZA": "ZAR", "AE": "AED", "TH": "THB", "IN": "INR",
    "BR": "BRL", "MX": "MXN",
}  # fmt: skip
