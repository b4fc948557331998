"""Pydantic models of the vendor's inventory document (``spec/inventory.md``).

Everything is frozen, strict and closed (``extra="forbid"``): an unknown key, a float where a
decimal string is expected or ``"2024-02-30"`` is an error naming the path of the field. Rules
that span entries (unique ids, references to rooms) are checked here too and reported on the
*later* entry, at its exact path (``rooms[1].remote_id``), so a vendor can find the culprit.

``Property.model_validate`` checks one property entry; ``Inventory`` adds the rules across
properties. ``worker.inventory.source`` validates entry by entry so one bad property does not
hide the others.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    WithJsonSchema,
    field_validator,
    model_validator,
)
from pydantic_core import InitErrorDetails, PydanticCustomError

from worker.inventory.content import Content
from worker.inventory.interning import interner_of

__all__ = [
    "LATEST_DATE",
    "Closure",
    "Guest",
    "Inventory",
    "MinStay",
    "Property",
    "Rate",
    "Reservation",
    "Room",
    "format_path",
]

_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# The last valid date. No stay is sold 75 years ahead, and dates near ``date.max`` overflow the
# jobs' date arithmetic (a year-9999 rate raised OverflowError in the ARI job: issue 11).
LATEST_DATE = date(2100, 12, 31)
_DECIMAL = re.compile(r"-?\d+(\.\d+)?")
Loc = tuple[int | str, ...]
M = TypeVar("M", bound=BaseModel)


def _iso_date(value: object, info: ValidationInfo) -> object:
    """Only ``YYYY-MM-DD`` strings (or ``date`` objects from Python callers) up to 2100."""
    if isinstance(value, date) and not isinstance(value, datetime):
        return _bounded(value)
    interner = interner_of(info.context)
    if interner is not None and isinstance(value, str):
        return interner.day(value, _parse_date)
    return _parse_date(value)


def _parse_date(value: object) -> date:
    if not isinstance(value, str) or not _ISO_DATE.fullmatch(value):
        raise ValueError(f"expected a date as YYYY-MM-DD, got {value!r}")
    try:
        day = date.fromisoformat(value)
    except ValueError as exc:
        raise ValueError(f"{value!r} is not a calendar date: {exc}") from None
    return _bounded(day)


def _bounded(day: date) -> date:
    if day > LATEST_DATE:
        raise ValueError(f"{day.isoformat()} is beyond {LATEST_DATE.isoformat()} (the year 2100)")
    return day


def _decimal_string(value: object, info: ValidationInfo) -> object:
    """Money is a decimal string: floats would silently lose cents."""
    if isinstance(value, Decimal) and value.is_finite():
        return value
    interner = interner_of(info.context)
    if interner is not None and isinstance(value, str):
        return interner.money(value, _parse_money)
    return _parse_money(value)


def _parse_money(value: object) -> Decimal:
    if not isinstance(value, str) or not _DECIMAL.fullmatch(value):
        raise ValueError(f'expected a decimal string such as "95.00", got {value!r}')
    return Decimal(value)


IsoDate = Annotated[date, BeforeValidator(_iso_date)]
# ``schema`` shows money as what the document must hold: a decimal string, never a number.
_MONEY_SCHEMA = {"type": "string", "pattern": r"^-?\d+(\.\d+)?$"}
Price = Annotated[
    Decimal,
    BeforeValidator(_decimal_string),
    Field(gt=0),
    WithJsonSchema({**_MONEY_SCHEMA, "description": 'a decimal string above 0, e.g. "95.00"'}),
]
Paid = Annotated[
    Decimal,
    BeforeValidator(_decimal_string),
    Field(ge=0),
    WithJsonSchema({**_MONEY_SCHEMA, "description": 'a decimal string, 0 or more, e.g. "0.00"'}),
]
Text = Annotated[str, StringConstraints(min_length=1)]
CountryCode = Annotated[str, StringConstraints(pattern=r"^[A-Z]{2}$")]
PositiveInt = Annotated[int, Field(ge=1)]


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class _DateRange(_Model):
    """Nights ``date_from`` .. ``date_to``; ``date_to`` is the last night (inclusive)."""

    date_from: IsoDate
    date_to: IsoDate

    @field_validator("date_to")
    @classmethod
    def _not_before_start(cls, value: date, info: ValidationInfo) -> date:
        start = info.data.get("date_from")
        if isinstance(start, date) and value < start:
            raise ValueError(f"date_to {value} is before date_from {start}")
        return value


class Room(_Model):
    """A sellable room; ``remote_id`` is the vendor's id, mapped to BookyFlow's ``room_uid``."""

    remote_id: Text
    room_type_id: PositiveInt
    name: Text
    number: Text
    max_people: PositiveInt


class Rate(_DateRange):
    """Price per night over a date range; later entries win where ranges overlap."""

    price: Price


class MinStay(_DateRange):
    """Minimum stay over a date range; later entries win where ranges overlap."""

    minstay: PositiveInt


class Closure(_DateRange):
    """Nights that cannot be sold; no ``room_remote_ids`` means every room."""

    id: Text
    room_remote_ids: tuple[Text, ...] = Field((), strict=False)


class Guest(_Model):
    """The guest of an OTA reservation; BookyFlow requires every field."""

    name: Text
    surname: Text
    email: Text
    phone: Text
    address: Text
    post_code: Text
    country_code: CountryCode
    language_id: Text


class Reservation(_DateRange):
    """A booking the vendor's OTA took: pushed once when confirmed, cancelled once if pushed."""

    id: Text
    status: Literal["confirmed", "cancelled"]
    referrer: Text
    guest: Guest
    room_type_id: PositiveInt
    guests: PositiveInt
    client_price: Price
    channel_price: Price
    already_paid: Paid


class Property(_Model):
    """One property of the vendor; ``remote_uid`` is how the worker recognises it on BookyFlow."""

    remote_uid: Text
    name: Text
    country: CountryCode
    region_id: PositiveInt
    ptype_id: PositiveInt
    max_people: PositiveInt
    base_price: Price
    rooms: tuple[Room, ...] = Field(strict=False)
    rates: tuple[Rate, ...] = Field((), strict=False)
    minstays: tuple[MinStay, ...] = Field((), strict=False)
    closures: tuple[Closure, ...] = Field((), strict=False)
    reservations: tuple[Reservation, ...] = Field((), strict=False)
    published: bool = True
    content: Content = Content()

    @field_validator("rates", "minstays", "closures")
    @classmethod
    def _share_equal_ranges(cls, value: tuple[M, ...], info: ValidationInfo) -> tuple[M, ...]:
        """Within one document parse, equal ranges are one object (``interning``)."""
        interner = interner_of(info.context)
        return value if interner is None else interner.models(value)

    @model_validator(mode="after")
    def _cross_entry_rules(self) -> Property:
        problems = [*_duplicates("rooms", "remote_id", (r.remote_id for r in self.rooms))]
        problems += _duplicates("closures", "id", (c.id for c in self.closures))
        problems += _duplicates("reservations", "id", (r.id for r in self.reservations))
        problems += self._unknown_room_references()
        problems += self._image_problems()
        _raise_if_any("Property", problems)
        return self

    def _unknown_room_references(self) -> list[tuple[Loc, str]]:
        room_ids = {room.remote_id for room in self.rooms}
        room_types = {room.room_type_id for room in self.rooms}
        problems: list[tuple[Loc, str]] = []
        for i, closure in enumerate(self.closures):
            for j, remote_id in enumerate(closure.room_remote_ids):
                if remote_id not in room_ids:
                    loc: Loc = ("closures", i, "room_remote_ids", j)
                    problems.append((loc, f"no room with remote_id {remote_id!r}"))
        for i, reservation in enumerate(self.reservations):
            if reservation.room_type_id not in room_types:
                message = f"no room with room_type_id {reservation.room_type_id}"
                problems.append((("reservations", i, "room_type_id"), message))
        return problems

    def _image_problems(self) -> list[tuple[Loc, str]]:
        """Room images name a room of the property, others none; one main image; each file name
        once (the site stores images under their file name)."""
        room_ids = {room.remote_id for room in self.rooms}
        problems: list[tuple[Loc, str]] = []
        mains = 0
        names: dict[str, int] = {}
        for i, image in enumerate(self.content.images or ()):
            loc: Loc = ("content", "images", i)
            if image.kind == "room" and image.room_remote_id not in room_ids:
                problems.append(((*loc, "room_remote_id"), "expected the remote_id of a room"))
            if image.kind != "room" and image.room_remote_id is not None:
                problems.append(((*loc, "room_remote_id"), "only room images name a room"))
            mains += image.kind == "main"
            if image.kind == "main" and mains > 1:
                problems.append(((*loc, "kind"), "only one main image"))
            first = names.setdefault(image.file_name, i)
            if first != i:
                message = f"file name {image.file_name!r} already used by content.images[{first}]"
                problems.append(((*loc, "url"), message))
        return problems


class Inventory(_Model):
    """The whole document. Property ``remote_uid`` and reservation ids are unique across it."""

    properties: tuple[Property, ...] = Field(strict=False)

    @model_validator(mode="before")
    @classmethod
    def _each_property_with_its_path(cls, data: Any) -> Any:
        """Validate entries one by one so nested errors keep their ``properties[i]`` prefix."""
        if not isinstance(data, dict) or not isinstance(data.get("properties"), list | tuple):
            return data
        problems: list[tuple[Loc, str]] = []
        properties = []
        for index, entry in enumerate(data["properties"]):
            try:
                properties.append(Property.model_validate(entry))
            except ValidationError as exc:
                problems += [(("properties", index, *e["loc"]), _message(e)) for e in exc.errors()]
        _raise_if_any("Inventory", problems)
        return {**data, "properties": properties}

    @model_validator(mode="after")
    def _unique_across_properties(self) -> Inventory:
        _raise_if_any("Inventory", cross_property_problems(list(enumerate(self.properties))))
        return self


def cross_property_problems(
    properties: Sequence[tuple[int, Property]],
) -> list[tuple[Loc, str]]:
    """Duplicate ``remote_uid`` or reservation id across ``(index, property)`` pairs.

    Each duplicate is reported on the later entry, at its document index.
    """
    problems: list[tuple[Loc, str]] = []
    first_uid: dict[str, int] = {}
    first_reservation: dict[str, int] = {}
    for i, prop in properties:
        first = first_uid.setdefault(prop.remote_uid, i)
        if first != i:
            message = f"duplicate remote_uid {prop.remote_uid!r} (first at properties[{first}])"
            problems.append((("properties", i, "remote_uid"), message))
        for j, reservation in enumerate(prop.reservations):
            first = first_reservation.setdefault(reservation.id, i)
            if first != i:
                message = f"duplicate id {reservation.id!r} (first in properties[{first}])"
                problems.append((("properties", i, "reservations", j, "id"), message))
    return problems


def _duplicates(field: str, key: str, values: Iterable[str]) -> list[tuple[Loc, str]]:
    first_index: dict[str, int] = {}
    problems: list[tuple[Loc, str]] = []
    for index, value in enumerate(values):
        first = first_index.setdefault(value, index)
        if first != index:
            problems.append(
                ((field, index, key), f"duplicate {key} {value!r} (first at {field}[{first}])")
            )
    return problems


def _raise_if_any(title: str, problems: list[tuple[Loc, str]]) -> None:
    if not problems:
        return
    details = [
        InitErrorDetails(
            type=PydanticCustomError("inventory_rule", "{message}", {"message": message}),
            loc=loc,
            input=None,
        )
        for loc, message in problems
    ]
    raise ValidationError.from_exception_data(title, details)


def format_path(loc: Sequence[int | str]) -> str:
    """``("properties", 2, "rooms", 0, "max_people")`` → ``properties[2].rooms[0].max_people``."""
    path = ""
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else (f".{part}" if path else str(part))
    return path


def describe_errors(exc: ValidationError, prefix: Loc = ()) -> list[tuple[str, str]]:
    """``(path, message)`` for every error, paths prefixed (e.g. with ``("properties", 2)``)."""
    return [(format_path((*prefix, *error["loc"])), _message(error)) for error in exc.errors()]


def _message(error: Any) -> str:
    return str(error["msg"]).removeprefix("Value error, ")
