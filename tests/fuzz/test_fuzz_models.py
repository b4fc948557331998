"""Fuzzing ``worker.api.models.parse_as``: any decoded payload gives a model or a typed error."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st
from pydantic import BaseModel

from tests.fuzz import fuzz_settings, json_scalars, json_values
from worker.api import models
from worker.errors import MalformedResponse

# Every payload model the client parses answers into.
MODELS: tuple[type[models.Model], ...] = tuple(
    value
    for value in vars(models).values()
    if isinstance(value, type) and issubclass(value, models.Model) and value is not models.Model
)
# Field values as legacy servers send them: strings for numbers, PHP's [] for {}, id-keyed maps.
lenient_values = st.one_of(
    json_values,
    st.integers().map(str),
    st.sampled_from(["2026-03-01", "2026-03-01 10:00:00", "2026-03-01T10:00:00+01:00", "12.50"]),
    st.dictionaries(st.integers(0, 99).map(str), json_values, max_size=3),
)


@st.composite
def shaped_like(draw: st.DrawFn, kind: type[BaseModel]) -> dict[str, Any]:
    """A dict with some of ``kind``'s field names (and a stray one) holding lenient values."""
    names = sorted(kind.model_fields)
    chosen = draw(st.lists(st.sampled_from(names), unique=True)) if names else []
    document = {name: draw(lenient_values) for name in chosen}
    if draw(st.booleans()):
        document["unknown_field"] = draw(json_scalars)
    return document


@st.composite
def payloads(draw: st.DrawFn) -> tuple[type[BaseModel], Any]:
    kind = draw(st.sampled_from(MODELS))
    value = draw(st.one_of(shaped_like(kind), json_values, st.lists(shaped_like(kind), max_size=2)))
    return kind, value


def _parse(kind: Any, value: Any) -> Any:
    try:
        return models.parse_as(kind, value, what="fuzz")
    except MalformedResponse as exc:
        failure = exc
    assert failure.retryable is False
    assert str(failure).startswith("HTTP 200: fuzz: unexpected shape at ")
    return failure


@fuzz_settings(400)
@given(case=payloads())
def test_parse_as_gives_the_model_or_a_typed_error(case: tuple[type[BaseModel], Any]) -> None:
    """Any decoded JSON value parses into the requested model or raises MalformedResponse."""
    kind, value = case
    parsed = _parse(kind, value)
    assert isinstance(parsed, kind | MalformedResponse)


@fuzz_settings(150)
@given(case=payloads())
def test_lists_and_id_keyed_maps_of_models_parse_or_fail_typed(
    case: tuple[type[BaseModel], Any],
) -> None:
    """Top-level lists (``list[Booking]``, ``{id: obj}`` maps via keyed_list) behave the same."""
    kind, value = case
    parsed = _parse(list[kind], models.keyed_list(value))  # type: ignore[valid-type]
    assert isinstance(parsed, list | MalformedResponse)


@fuzz_settings(200)
@given(document=shaped_like(models.TokenResponse))
@example(document={"access_token": "t", "expires_in": "NaN"})  # was a forever-fresh token
@example(document={"access_token": "t", "expires_in": "1e400"})
def test_a_parsed_token_response_has_a_finite_lifetime(document: dict[str, Any]) -> None:
    """A token response parses only with a real token type and a finite ``expires_in``."""
    parsed = _parse(models.TokenResponse, document)
    if isinstance(parsed, models.TokenResponse):
        assert math.isfinite(parsed.expires_in)
        assert isinstance(parsed.access_token, str)
        assert "access_token" not in repr(parsed)


@fuzz_settings(200)
@given(document=shaped_like(models.Booking))
def test_a_parsed_booking_holds_exact_types(document: dict[str, Any]) -> None:
    """A booking that parses holds ints, dates and a finite Decimal total, whatever came in."""
    parsed = _parse(models.Booking, document)
    if isinstance(parsed, models.Booking):
        assert isinstance(parsed.booking_id, int)
        assert isinstance(parsed.property_uid, int)
        assert parsed.booking_total.is_finite()
