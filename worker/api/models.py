"""Pydantic models of BookyFlow payloads: lenient on the way in, strict once parsed.

Servers in the wild send ids and flags as strings (``"4"``, ``"1"``), objects keyed by id where a
list is expected, PHP's ``[]`` for an empty object, and money as strings. The ``Lenient*`` types
below turn those into plain Python values *before* strict validation, so the models themselves
hold exact types: ``int``, ``bool``, ``datetime.date``, ``Decimal``.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any, TypeVar

from pydantic import (
    AliasChoices,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PlainSerializer,
    TypeAdapter,
    ValidationError,
    model_validator,
)

from worker.errors import MalformedResponse
from worker.scopes import parse_scopes

T = TypeVar("T")


def _to_int(value: Any) -> Any:
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return int(value.strip())
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def _to_bool(value: Any) -> Any:
    lowered = str(value).strip().lower()
    if isinstance(value, int | str) and lowered in ("1", "true", "yes"):
        return True
    if isinstance(value, int | str) and lowered in ("0", "false", "no", ""):
        return False
    return value


def _to_decimal(value: Any) -> Any:
    if isinstance(value, int | float | str) and not isinstance(value, bool):
        try:
            return Decimal(str(value).strip())
        except InvalidOperation:
            return value
    return value


def _to_float(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return float(value.strip())
        except ValueError:
            return value
    return float(value) if isinstance(value, int) and not isinstance(value, bool) else value


def _to_float_or_none(value: Any) -> Any:
    if value in (None, ""):
        return None
    return _to_float(value)


def _features(value: Any) -> Any:
    """Feature ids as a list, a comma-separated string, or nothing (``null``/``""``)."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        return [part.strip() for part in value.split(",") if part.strip()]
    return _to_list(value)


def _empty_to_none(value: Any) -> Any:
    return None if value in ([], {}, "", None) else value


def _to_date(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return date.fromisoformat(value.strip()[:10])
        except ValueError:
            return value
    return value


def _to_datetime(value: Any) -> Any:
    if isinstance(value, str):
        try:
            return datetime.fromisoformat(value.strip())
        except ValueError:
            return value
    return value


def _to_str(value: Any) -> Any:
    return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


def _to_list(value: Any) -> Any:
    """``{id: obj}`` (and PHP's ``{}``/``[]``) → a list of the objects."""
    if isinstance(value, Mapping):
        return list(value.values())
    return value


def _to_dict(value: Any) -> Any:
    """PHP encodes an empty associative array as ``[]``."""
    return {} if value == [] else value


LenientInt = Annotated[int, BeforeValidator(_to_int)]
LenientBool = Annotated[bool, BeforeValidator(_to_bool)]
LenientStr = Annotated[str, BeforeValidator(_to_str)]
Money = Annotated[Decimal, BeforeValidator(_to_decimal), PlainSerializer(str, return_type=str)]
Day = Annotated[date, BeforeValidator(_to_date), PlainSerializer(date.isoformat, return_type=str)]
Timestamp = Annotated[datetime, BeforeValidator(_to_datetime)]


class Model(BaseModel):
    """Strict, frozen, tolerant of fields we do not know."""

    model_config = ConfigDict(strict=True, frozen=True, extra="ignore")


# RFC 6749 §A.12: an access token is visible ASCII. It goes into the Authorization header, so a
# CR, LF, NUL or space in it would split the header or crash the HTTP library (issue 11); the
# bound keeps one token inside every server's header size limit.
_ACCESS_TOKEN = r"^[\x21-\x7e]{1,8192}$"  # noqa: S105 - a pattern, not a secret


class TokenResponse(Model):
    """``POST /oauth/token`` answer; ``expires_in`` may be a string or missing (→ 3600).

    ``access_token`` must be fit for a header (visible ASCII): anything else is a validation
    error, which the client reports as ``MalformedResponse`` without quoting the value.
    """

    access_token: str = Field(repr=False, pattern=_ACCESS_TOKEN)
    token_type: str = "Bearer"  # noqa: S105 - a token type name, not a secret
    # Finite only: a NaN lifetime made the token "fresh" forever and its refresh due at once,
    # so the refresh loop hammered the token endpoint. Found by tests/fuzz.
    expires_in: Annotated[float, BeforeValidator(_to_float), Field(allow_inf_nan=False)] = 3600.0
    scope: str | None = None

    def granted_scopes(self, requested: tuple[str, ...]) -> frozenset[str]:
        """Space- or comma-separated scope; missing or empty → the requested set."""
        return frozenset(parse_scopes(self.scope) or requested)


def versions_of(value: Any) -> dict[str, str]:
    """``GET /cmf/versions`` as plain strings, whatever its keys.

    The spec answers ``{"bookyflow", "cmf"}``, the real engine ``{"Jomres", "channelmanagement_
    framework", "api_feature_cmf"}`` (empty strings included): the answer is informational, so
    any object is accepted and anything else is kept as one ``raw`` entry, never refused.
    """
    if isinstance(value, Mapping):
        return {str(key): str(item) for key, item in value.items()}
    return {"raw": str(value)[:100]}


class PropertyType(Model):
    property_type_id: LenientInt
    property_type: LenientStr
    flag: LenientInt = 0

    @property
    def single_unit(self) -> bool:
        """Flag 1: the property is one unit (a villa, an apartment); 0: rooms in a property."""
        return self.flag == 1


class RoomType(Model):
    room_classes_uid: LenientInt
    room_class_abbv: LenientStr
    ptype_xref: Annotated[list[LenientInt], BeforeValidator(_to_list)] = []


class Country(Model):
    countrycode: LenientStr
    countryname: LenientStr
    id: LenientInt | None = None


class Region(Model):
    id: LenientInt
    countrycode: LenientStr
    regionname: LenientStr


class OwnedProperty(Model):
    """One entry of ``properties/ids``: our property uid and the remote uid we created it with."""

    local_property_uid: LenientInt
    remote_property_uid: LenientStr


def _alias(*names: str) -> Any:
    return Field(validation_alias=AliasChoices(*names))


class Room(Model):
    """A room as ``GET rooms`` lists it (the property object's ``local_rooms`` name the type
    ``room_classes_uid`` and carry no name or number)."""

    room_uid: LenientInt
    room_name: LenientStr = ""
    room_number: LenientStr = ""
    room_type_id: LenientInt = _alias("room_type_id", "room_classes_uid")
    max_people: LenientInt


def _rooms_of(value: Any) -> Any:
    """The property's rooms: a list, an object keyed by id, or ``{"local_rooms": [...]}``."""
    if isinstance(value, Mapping) and "local_rooms" in value:
        value = value["local_rooms"]
    return _to_list(value)


class Property(Model):
    """``GET /cmf/property/@uid`` in either naming.

    The spec names ``property_uid, remote_uid, country, region_id, rooms``; the real engine
    answers ``propertys_uid, property_country, property_region, room_info`` and no remote uid
    at all (that comes from ``properties/ids``), so ``remote_uid`` is optional here.
    """

    property_uid: LenientInt = _alias("property_uid", "propertys_uid")
    property_name: LenientStr
    remote_uid: LenientStr | None = None
    country: LenientStr = Field("", validation_alias=AliasChoices("country", "property_country"))
    region_id: LenientInt = Field(0, validation_alias=AliasChoices("region_id", "property_region"))
    ptype_id: LenientInt = 0
    published: LenientBool = False
    rooms: Annotated[list[Room], BeforeValidator(_rooms_of)] = []


class Review(Model):
    property_complete: LenientBool
    warnings: Annotated[list[LenientStr], BeforeValidator(_to_list)] = []


class CalendarDay(Model):
    """One night of ``GET calendar``; the real engine sends no ``price`` (see ``TariffSet``)."""

    price: Money | None = None
    minstay: LenientInt = 1
    is_blocked: LenientBool = False


class DateRange(Model):
    """Nights ``date_from`` .. ``date_to`` inclusive (``date_to`` is the last night)."""

    date_from: Day
    date_to: Day


class RateRange(DateRange):
    ratepernight: Money


class MinStayRange(DateRange):
    minstay: LenientInt


class BlackBookings(Model):
    """Future closures keyed by contract id (the server may answer ``[]`` when none)."""

    blackbookings: Annotated[dict[LenientInt, DateRange], BeforeValidator(_to_dict)] = {}


class GuestInfo(Model):
    name: str
    surname: str
    email: str
    phone: str
    address: str
    post_code: str
    country_code: str
    language_id: str = "en-GB"


class StayInfo(Model):
    property_id: int
    date_from: Day
    date_to: Day
    room_type_id: int
    # The real engine filters rooms by this name and defaults a missing one to "Double", which
    # refuses every other room type; an empty name leaves the choice to ``room_type_id``.
    room_type_name: str = ""
    guest_number: int
    client_price: Money
    channel_price: Money
    already_paid: Money


class Reservation(Model):
    """One reservation pushed with ``reservations/add``."""

    remote_reservation_id: str
    referrer: str = ""
    comments: str = ""
    guest_info: GuestInfo
    stay_infos: list[StayInfo]


class BookingLinkInfo(Model):
    """The link of a pushed booking. The real engine answers it without ``link_id`` and
    ``contract_uid`` when its own inner link write failed (its logger's 500): the booking
    exists then, but has no link row — the reservations job finds and re-links it."""

    contract_uid: LenientInt | None = None
    property_uid: LenientInt | None = None
    date_from: Day | None = None
    date_to: Day | None = None


class ReservationOutcome(Model):
    success: LenientBool
    link: BookingLinkInfo | None = None
    message: LenientStr | None = None


class ReservationsResult(Model):
    """Outcomes keyed by ``remote_reservation_id``."""

    successful_bookings: Annotated[dict[str, ReservationOutcome], BeforeValidator(_to_dict)] = {}
    unsuccessful_bookings: Annotated[dict[str, ReservationOutcome], BeforeValidator(_to_dict)] = {}


class Cancellation(Model):
    success: LenientBool
    cancellations: Annotated[list[Any], BeforeValidator(_to_list)] = []


class BookingStatus(Model):
    status_code: LenientInt
    status_text: LenientStr = ""


class GuestNumbers(Model):
    adults: LenientInt = 0
    children: LenientInt = 0
    number_of_guests: LenientInt = 0


def _guest(*names: str) -> Any:
    """A guest field under its spec name or the real engine's ``enc_`` one (decrypted values)."""
    return Field("", validation_alias=AliasChoices(*names, *(f"enc_{n}" for n in names)))


class GuestData(Model):
    firstname: LenientStr = _guest("firstname")
    surname: LenientStr = _guest("surname")
    email: LenientStr = _guest("email")
    tel_mobile: LenientStr = _guest("tel_mobile")
    tel_landline: LenientStr = _guest("tel_landline")
    street: LenientStr = _guest("street")
    city: LenientStr = _guest("city", "town")
    postcode: LenientStr = _guest("postcode")
    country_code: LenientStr = ""


class BookingMapping(Model):
    """Which channel booking this is: the spec's ``{"remote_booking_id"}`` or the real
    engine's ``{"linked_bookings": {"channel_id", "remote_booking_id", "local_booking_id"}}``."""

    remote_booking_id: LenientStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _flatten_links(cls, raw: Any) -> Any:
        if isinstance(raw, Mapping) and "linked_bookings" in raw:
            links = raw["linked_bookings"]
            if isinstance(links, list):  # several links: the first names the booking
                links = links[0] if links else {}
            if isinstance(links, Mapping):
                return {"remote_booking_id": links.get("remote_booking_id")}
            return {}
        return raw


class Booking(Model):
    booking_id: LenientInt
    booking_number: LenientStr = ""
    status: BookingStatus
    property_uid: LenientInt
    booking_created: Timestamp | None = None
    last_modified: Timestamp
    date_from: Day
    date_to: Day
    booking_total: Money = Decimal(0)
    currency_code: LenientStr = ""
    referrer: LenientStr = ""
    comments: LenientStr = ""
    guest_numbers: GuestNumbers = GuestNumbers()
    guest_data: GuestData = GuestData()
    mapping: Annotated[BookingMapping | None, BeforeValidator(_empty_to_none)] = None


class ChangeLogEvent(Model):
    """One change-log event; ``channel_name`` is flattened from ``channel_data``."""

    event_id: LenientInt
    property_uid: LenientInt
    action: LenientStr
    date: LenientStr
    channel_name: LenientStr | None = None

    @model_validator(mode="before")
    @classmethod
    def _flatten_channel(cls, raw: Any) -> Any:
        """``channel_data.channel_name`` is often ``null`` or ``[]`` on events from the site."""
        if isinstance(raw, Mapping) and "channel_data" in raw:
            channel = raw["channel_data"]
            name = channel.get("channel_name") if isinstance(channel, Mapping) else None
            return {**raw, "channel_name": name}
        return raw


def _content(name: str, *real: str) -> Any:
    return Field(None, validation_alias=AliasChoices(name, *real))


class PropertyContent(Model):
    """What guests see, as ``GET /cmf/property/@uid`` (and every content PUT) answers it.

    The real engine's names (``property_street``, ``property_policies_disclaimers`` for the
    terms, ...), with the spec's plain names accepted too; a field the site does not report is
    None. Texts come back HTML-escaped on the real engine (``FILTER_SANITIZE_SPECIAL_CHARS``).
    """

    street: LenientStr | None = _content("street", "property_street")
    town: LenientStr | None = _content("town", "property_town")
    postcode: LenientStr | None = _content("postcode", "property_postcode")
    telephone: LenientStr | None = _content("telephone", "property_tel")
    fax: LenientStr | None = _content("fax", "property_fax")
    email: LenientStr | None = _content("email", "property_email")
    lat: Annotated[float | None, BeforeValidator(_to_float_or_none)] = _content("lat")
    long: Annotated[float | None, BeforeValidator(_to_float_or_none)] = _content("long")
    stars: LenientInt | None = _content("stars")
    superior: LenientBool | None = _content("superior")
    features: Annotated[list[LenientInt] | None, BeforeValidator(_features)] = _content(
        "features", "property_features"
    )
    description: LenientStr | None = _content("description", "property_description")
    checkin_times: LenientStr | None = _content("checkin_times", "property_checkin_times")
    area_activities: LenientStr | None = _content("area_activities", "property_area_activities")
    driving_directions: LenientStr | None = _content(
        "driving_directions", "property_driving_directions"
    )
    airports: LenientStr | None = _content("airports", "property_airports")
    othertransport: LenientStr | None = _content("othertransport", "property_othertransport")
    terms: LenientStr | None = _content("terms", "property_policies_disclaimers")
    permit_number: LenientStr | None = _content("permit_number")


class ImageType(Model):
    """An entry of ``/cmf/list/image/types``: ``internal_type`` is what uploads name."""

    internal_type: LenientStr
    type: LenientStr = ""


class PropertyFeature(Model):
    property_feature_id: LenientInt
    property_feature: LenientStr = ""


class StoredImage(Model):
    """One image the site holds: its type, the resource (room uid, or 0) and its file name."""

    resource_type: str
    resource_id: int
    file_name: str


def stored_images(value: Any) -> list[StoredImage]:
    """``GET images``: ``{"images": {type: {resource_id: [{"large": url}]}}}`` flattened.

    Resources are PHP arrays: a list when their ids run 0.. (``"property": [[...]]``), an
    object keyed by room uid otherwise; the file name is the last segment of ``large``.
    """
    images = value.get("images") if isinstance(value, Mapping) else None
    if not isinstance(images, Mapping):
        return []
    return [
        StoredImage(resource_type=str(kind), resource_id=int(resource_id), file_name=name)
        for kind, resources in images.items()
        for resource_id, files in _php_items(resources)
        for name in _file_names(files)
        if str(resource_id).isdigit()
    ]


def _php_items(value: Any) -> list[tuple[Any, Any]]:
    if isinstance(value, list):
        return list(enumerate(value))
    return list(value.items()) if isinstance(value, Mapping) else []


def _file_names(files: Any) -> list[str]:
    entries = files if isinstance(files, list) else []
    urls = [entry.get("large") for entry in entries if isinstance(entry, Mapping)]
    return [url.rsplit("/", 1)[-1] for url in urls if isinstance(url, str) and url]


class TariffNight(Model):
    """One entry of a tariff set in ``GET list/prices``: a price and minimum stay over a range.

    The real engine's calendar has no price; this is where per-night prices are read back.
    ``price_including_vat`` is the figure a client sent (``price_excluding_vat`` has the site's
    VAT taken off), ``min_days`` the minimum stay, ``date_range`` inclusive at both ends.
    """

    price: Money
    minstay: LenientInt = 1
    date_from: Day
    date_to: Day

    @model_validator(mode="before")
    @classmethod
    def _flatten(cls, raw: Any) -> Any:
        if not isinstance(raw, Mapping):
            return raw
        rate = raw.get("rate_per_night")
        span = raw.get("date_range")
        if not (isinstance(rate, Mapping) and isinstance(span, Mapping)):
            return raw
        return {
            "price": rate.get("price_including_vat"),
            "minstay": raw.get("min_days", 1),
            "date_from": span.get("start"),
            "date_to": span.get("end"),
        }


class TariffSets(Model):
    """``GET list/prices``: tariff entries per tariff (one tariff per room type)."""

    tariff_sets: Annotated[
        dict[str, Annotated[list[TariffNight], BeforeValidator(_to_list)]],
        BeforeValidator(_to_dict),
    ] = {}


class PublishResult(Model):
    published: LenientBool


class RoomRef(Model):
    room_uid: LenientInt


class BlackBookingRef(Model):
    contract_id: LenientInt


class LocalBooking(Model):
    local_booking_id: LenientInt


class BookingLinks(Model):
    local_bookings: Annotated[list[LocalBooking], BeforeValidator(_to_list)] = []


_ADAPTERS: dict[Any, TypeAdapter[Any]] = {}


def _adapter(kind: Any) -> TypeAdapter[Any]:
    """Building an adapter is costly; the handful of payload types are built once."""
    adapter = _ADAPTERS.get(kind)
    if adapter is None:
        adapter = _ADAPTERS[kind] = TypeAdapter(kind)
    return adapter


def parse_as(kind: type[T], value: Any, *, what: str) -> T:
    """Validate ``value`` as ``kind``; a mismatch is a ``MalformedResponse`` naming only fields.

    pydantic's own message quotes the input, so it is dropped (``from None``) rather than chained.
    """
    try:
        parsed: T = _adapter(kind).validate_python(value)
    except ValidationError as exc:
        fields = sorted({".".join(str(p) for p in e["loc"]) or "<root>" for e in exc.errors()})
        problem = f"{what}: unexpected shape at {', '.join(fields[:5])}"
        raise MalformedResponse(problem, status=200, retryable=False) from None
    return parsed


def keyed_list(value: Any) -> Any:
    """``{id: obj}`` → list of objects, for top-level payloads."""
    return _to_list(value)


def php_dict(value: Any) -> Any:
    """PHP's ``[]`` for an empty object → ``{}``."""
    return _to_dict(value)
