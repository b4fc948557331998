"""Strict parsing of request parameters, as a real BookyFlow validates them.

Pure functions: each takes raw strings (form fields, path segments, decoded JSON) and returns typed
values or raises ``ClientRequestError`` (HTTP 400) with the server's wording. Dates are strict
``YYYY-MM-DD`` (``2024-02-30`` is rejected); in ranges ``date_to`` is the last night.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any, TypeVar

from worker.errors import ClientRequestError

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_INT = re.compile(r"-?\d+")
_T = TypeVar("_T")
CENT = Decimal("0.01")


def invalid(message: str) -> ClientRequestError:
    """The error an endpoint answers for a bad parameter."""
    return ClientRequestError(message, status=400, code=400)


def required(form: Mapping[str, str], field: str) -> str:
    """A present, non-blank form field."""
    value = form.get(field, "").strip()
    if not value:
        raise invalid(f"{field} not set")
    return value


def parse_int(value: object, field: str, *, minimum: int | None = None) -> int:
    """An integer given as a JSON number or a decimal string."""
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise invalid(f"{field} is not a valid integer")
    if isinstance(value, str):
        if not _INT.fullmatch(value.strip()):
            raise invalid(f"{field} is not a valid integer")
        value = int(value.strip())
    if minimum is not None and value < minimum:
        raise invalid(f"{field} must be at least {minimum}")
    return value


def parse_date(value: object, field: str) -> date:
    """A strict ``YYYY-MM-DD`` calendar date."""
    if not isinstance(value, str) or not _DATE.fullmatch(value):
        raise invalid(f"{field} is not a valid date (YYYY-MM-DD)")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise invalid(f"{field} is not a valid date (YYYY-MM-DD)") from None


def parse_range(date_from: object, date_to: object) -> tuple[date, date]:
    """A range of nights: ``date_to`` is the last night and may equal ``date_from``."""
    first = parse_date(date_from, "date_from")
    last = parse_date(date_to, "date_to")
    if last < first:
        raise invalid("date_to is before date_from")
    return first, last


def parse_money(value: object, field: str, *, minimum: Decimal = Decimal(1)) -> Decimal:
    """A positive amount, kept as a 2-decimal Decimal."""
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise invalid(f"{field} is not a valid amount")
    try:
        amount = Decimal(str(value).strip())
    except InvalidOperation:
        raise invalid(f"{field} is not a valid amount") from None
    if not amount.is_finite():
        raise invalid(f"{field} is not a valid amount")
    if amount < minimum:
        raise invalid(f"{field} must be at least {minimum}")
    return amount.quantize(CENT)


def parse_json(form: Mapping[str, str], field: str, shape: type[_T]) -> _T:
    """A JSON document inside one form field, which must decode to ``shape`` (list or dict)."""
    raw = required(form, field)
    try:
        decoded = json.loads(raw)
    except ValueError:
        raise invalid(f"{field} is not valid JSON") from None
    if not isinstance(decoded, shape):
        raise invalid(f"{field} must be a JSON {'list' if shape is list else 'object'}")
    return decoded


def nights(first: date, last: date) -> Iterator[str]:
    """Every night from ``first`` to ``last`` inclusive, as ISO strings."""
    day = first
    while day <= last:
        yield day.isoformat()
        day += timedelta(days=1)


def item_field(item: Mapping[str, Any], field: str) -> Any:
    """A required key of one JSON list entry."""
    if not isinstance(item, Mapping):
        raise invalid("each entry must be a JSON object")
    value = item.get(field)
    if value is None or value == "":
        raise invalid(f"{field} not set")
    return value


def parse_rates(entries: list[Any]) -> list[tuple[date, date, Decimal]]:
    """``ratepernight`` entries: ``[{"date_from", "date_to", "ratepernight"}]`` with rate ≥ 1."""
    return [
        (
            *parse_range(item_field(entry, "date_from"), item_field(entry, "date_to")),
            parse_money(item_field(entry, "ratepernight"), "ratepernight"),
        )
        for entry in entries
    ]


def parse_minstays(entries: list[Any]) -> list[tuple[date, date, int]]:
    """``minstays`` entries: ``[{"date_from", "date_to", "minstay"}]`` with minstay ≥ 1."""
    return [
        (
            *parse_range(item_field(entry, "date_from"), item_field(entry, "date_to")),
            parse_int(item_field(entry, "minstay"), "minstay", minimum=1),
        )
        for entry in entries
    ]


def parse_id_list(form: Mapping[str, str], field: str) -> list[int]:
    """A JSON list of integer ids (e.g. ``room_ids``); absent means the empty list."""
    if not form.get(field, "").strip():
        return []
    return [parse_int(value, field, minimum=1) for value in parse_json(form, field, list)]


GUEST_FIELDS = ("name", "surname", "email", "phone", "address", "post_code", "country_code",
                "language_id")  # fmt: skip
PRICE_FIELDS = ("client_price", "channel_price", "already_paid")


@dataclass(frozen=True)
class Stay:
    """One ``stay_infos`` entry of a reservation: one booking of one property."""

    property_id: int
    date_from: date
    date_to: date
    room_type_id: int
    guest_number: int
    client_price: Decimal
    channel_price: Decimal
    already_paid: Decimal
    room_type_name: str | None = None  # absent: the real engine looks for "Double" rooms


@dataclass(frozen=True)
class Reservation:
    """A validated item of ``reservations/add``."""

    remote_id: str
    referrer: str
    guest: dict[str, str]
    stays: list[Stay]
    comments: str = ""


def parse_reservation(item: Any) -> Reservation:
    """Every guest field and price is required: a missing one is ``"<field> not set"``."""
    remote_id = str(item_field(item, "remote_reservation_id"))
    guest_info = item_field(item, "guest_info")
    if not isinstance(guest_info, Mapping):
        raise invalid("guest_info must be a JSON object")
    guest = {name: str(item_field(guest_info, name)) for name in GUEST_FIELDS}
    stays = item_field(item, "stay_infos")
    if not isinstance(stays, list) or not stays:
        raise invalid("stay_infos not set")
    referrer = str(item.get("referrer") or "")
    comments = str(item.get("comments") or "")
    stays_parsed = [_parse_stay(stay) for stay in stays]
    return Reservation(remote_id, referrer, guest, stays_parsed, comments)


def _parse_stay(stay: Any) -> Stay:
    prices = {name: item_field(stay, name) for name in PRICE_FIELDS}
    first, last = parse_range(item_field(stay, "date_from"), item_field(stay, "date_to"))
    return Stay(
        property_id=parse_int(item_field(stay, "property_id"), "property_id"),
        date_from=first,
        date_to=last,
        room_type_id=parse_int(item_field(stay, "room_type_id"), "room_type_id"),
        guest_number=parse_int(item_field(stay, "guest_number"), "guest_number", minimum=1),
        client_price=parse_money(prices["client_price"], "client_price", minimum=Decimal(0)),
        channel_price=parse_money(prices["channel_price"], "channel_price", minimum=Decimal(0)),
        already_paid=parse_money(prices["already_paid"], "already_paid", minimum=Decimal(0)),
        room_type_name=None if stay.get("room_type_name") is None else str(stay["room_type_name"]),
    )
