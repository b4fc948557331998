"""The inventory models enforce every rule of ``spec/inventory.md`` with exact field paths."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

import pytest
from pydantic import ValidationError

from tests.inventory.conftest import PropertyFactory
from worker.inventory.models import Inventory, Property, describe_errors, format_path


def problems_of(model: type[Property] | type[Inventory], data: Any) -> dict[str, str]:
    with pytest.raises(ValidationError) as caught:
        model.model_validate(data)
    return dict(describe_errors(caught.value))


def test_example_property_parses_into_typed_values(property_data: PropertyFactory) -> None:
    """The spec's example is valid and yields dates, Decimals and tuples."""
    prop = Property.model_validate(property_data())
    assert prop.base_price == Decimal("95.00")
    assert prop.rates[0].date_to == date(2026, 12, 31)
    assert prop.reservations[0].already_paid == Decimal("0.00")
    assert prop.closures[0].room_remote_ids == ()
    assert isinstance(prop.rooms, tuple)


def test_optional_lists_default_to_empty(property_data: PropertyFactory) -> None:
    """rates, minstays, closures and reservations may be left out; rooms may not."""
    data = property_data()
    for key in ("rates", "minstays", "closures", "reservations"):
        del data[key]
    assert Property.model_validate(data).reservations == ()
    del data["rooms"]
    assert problems_of(Property, data) == {"rooms": "Field required"}


def test_unknown_key_is_rejected_with_its_path(property_data: PropertyFactory) -> None:
    """An unknown key inside a room names that room's field."""
    data = property_data()
    data["rooms"][0]["colour"] = "blue"
    assert problems_of(Property, data) == {"rooms[0].colour": "Extra inputs are not permitted"}


@pytest.mark.parametrize(
    "value", ["2024-02-30", "2024-2-3", "20240101", "2024-01-01T00:00:00", 20240101, None]
)
def test_dates_must_be_real_yyyy_mm_dd(property_data: PropertyFactory, value: object) -> None:
    """Only calendar dates written YYYY-MM-DD are accepted."""
    data = property_data()
    data["rates"][0]["date_from"] = value
    assert list(problems_of(Property, data)) == ["rates[0].date_from"]


@pytest.mark.parametrize("section", ["rates", "minstays", "closures", "reservations"])
def test_date_to_before_date_from_is_rejected(property_data: PropertyFactory, section: str) -> None:
    """Every date range needs date_to on or after date_from; one-night ranges are fine."""
    data = property_data()
    entry = data[section][0]
    entry["date_to"] = entry["date_from"]
    Property.model_validate(data)
    entry["date_to"] = "2020-01-01"
    problems = problems_of(Property, data)
    assert list(problems) == [f"{section}[0].date_to"]
    assert "before date_from" in problems[f"{section}[0].date_to"]


@pytest.mark.parametrize("value", [95.0, 95, "95,00", "1e3", "NaN", "", "0.00", "-1.00"])
def test_prices_are_positive_decimal_strings(property_data: PropertyFactory, value: object) -> None:
    """Floats, ints, exponents, NaN, zero and negatives are not prices."""
    assert list(problems_of(Property, property_data(base_price=value))) == ["base_price"]


def test_already_paid_may_be_zero_but_not_negative(property_data: PropertyFactory) -> None:
    """already_paid accepts 0.00 and rejects a negative amount."""
    data = property_data()
    data["reservations"][0]["already_paid"] = "-0.01"
    assert list(problems_of(Property, data)) == ["reservations[0].already_paid"]


@pytest.mark.parametrize(
    ("field", "value"),
    [("region_id", "1"), ("ptype_id", True), ("max_people", 0), ("country", "gb"), ("name", "")],
)
def test_scalar_fields_are_strict(
    property_data: PropertyFactory, field: str, value: object
) -> None:
    """Numbers must be JSON integers ≥ 1, countries two capitals, names non-empty."""
    assert list(problems_of(Property, property_data(**{field: value}))) == [field]


def test_status_is_confirmed_or_cancelled(property_data: PropertyFactory) -> None:
    """Any other reservation status is an error at its path."""
    data = property_data()
    data["reservations"][0]["status"] = "pending"
    assert list(problems_of(Property, data)) == ["reservations[0].status"]


def test_guest_fields_are_all_required(property_data: PropertyFactory) -> None:
    """BookyFlow refuses a reservation without every guest field, so the model does too."""
    data = property_data()
    del data["reservations"][0]["guest"]["post_code"]
    assert problems_of(Property, data) == {"reservations[0].guest.post_code": "Field required"}


def test_duplicate_room_closure_and_reservation_ids_name_the_later_entry(
    property_data: PropertyFactory,
) -> None:
    """Each duplicate id is reported on the later entry, pointing at the first."""
    data = property_data()
    for section in ("rooms", "closures", "reservations"):
        data[section].append(dict(data[section][0]))
    problems = problems_of(Property, data)
    assert set(problems) == {"rooms[1].remote_id", "closures[1].id", "reservations[1].id"}
    assert problems["rooms[1].remote_id"] == "duplicate remote_id '1001-A' (first at rooms[0])"


def test_references_to_unknown_rooms_are_rejected(property_data: PropertyFactory) -> None:
    """Closures name existing room remote_ids; reservations an existing room_type_id."""
    data = property_data()
    data["closures"][0]["room_remote_ids"] = ["1001-A", "nope"]
    data["reservations"][0]["room_type_id"] = 9
    assert set(problems_of(Property, data)) == {
        "closures[0].room_remote_ids[1]",
        "reservations[0].room_type_id",
    }


def test_inventory_paths_include_the_property_index(property_data: PropertyFactory) -> None:
    """Nested errors keep the properties[i] prefix, in the spec's exact path form."""
    bad = property_data("3")
    bad["rooms"][0]["max_people"] = "two"
    document = {"properties": [property_data("1"), property_data("2"), bad]}
    assert list(problems_of(Inventory, document)) == ["properties[2].rooms[0].max_people"]


def test_inventory_rejects_duplicates_across_properties(property_data: PropertyFactory) -> None:
    """remote_uid and reservation ids are unique across the document, reported on the later."""
    second = property_data("1001")
    second["reservations"] = []
    third = property_data("1003")
    third["reservations"][0]["id"] = "OTA-1001"
    problems = problems_of(Inventory, {"properties": [property_data("1001"), second, third]})
    assert set(problems) == {"properties[1].remote_uid", "properties[2].reservations[0].id"}


def test_models_are_frozen(property_data: PropertyFactory) -> None:
    """A parsed property cannot be changed in place."""
    prop = Property.model_validate(property_data())
    with pytest.raises(ValidationError):
        prop.name = "Other"  # type: ignore[misc]


def test_format_path_matches_the_spec_form() -> None:
    """Locations render as properties[2].rooms[0].max_people."""
    assert format_path(("properties", 2, "rooms", 0, "max_people")) == (
        "properties[2].rooms[0].max_people"
    )
    assert format_path(()) == ""


def test_content_images_name_existing_rooms_one_main_and_unique_files(
    property_data: PropertyFactory,
) -> None:
    """Room images must name a room; one main image; each file name once — with field paths."""
    entry = property_data()
    entry["content"] = {
        "images": [
            {"url": "https://cdn.example/a/main.jpg", "kind": "main"},
            {"url": "https://cdn.example/b/main.jpg", "kind": "main"},
            {"url": "https://cdn.example/room.jpg", "kind": "room", "room_remote_id": "nope"},
            {"url": "ftp://cdn.example/x.jpg", "kind": "slideshow"},
        ]
    }
    with pytest.raises(ValidationError) as caught:
        Property.model_validate(entry)
    paths = {path for path, _ in describe_errors(caught.value)}
    assert "content.images[3].url" in paths
    entry["content"]["images"] = entry["content"]["images"][:3]
    with pytest.raises(ValidationError) as caught:
        Property.model_validate(entry)
    paths = {path for path, _ in describe_errors(caught.value)}
    assert paths == {"content.images[1].kind", "content.images[1].url",
                     "content.images[2].room_remote_id"}  # fmt: skip


def test_published_defaults_to_true_and_content_to_nothing(property_data: PropertyFactory) -> None:
    """A property without the new keys is published and has no managed content."""
    prop = Property.model_validate(property_data())
    assert prop.published
    assert prop.content.address is None
    assert prop.content.images is None
