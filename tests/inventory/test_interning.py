"""Interning: equal values of one parse share one object, without changing any value's text."""

from __future__ import annotations

import json

from tests.inventory.conftest import PropertyFactory
from worker.inventory.document import InventorySnapshot, parse_bytes, parse_document
from worker.inventory.models import Property

EMPTY = InventorySnapshot(fresh=False)


def test_equal_ranges_of_different_properties_are_one_object(
    property_data: PropertyFactory,
) -> None:
    """Two properties with the same rate, minimum stay and closure share those objects."""
    first, second = parse_document(
        {"properties": [property_data("1"), property_data("2")]}, EMPTY
    ).properties
    assert first.rates[0] is second.rates[0]
    assert first.minstays[0] is second.minstays[0]
    assert first.closures[0] is second.closures[0]
    assert first.base_price is second.base_price


def test_unchanged_ranges_are_the_previous_snapshots_objects(
    property_data: PropertyFactory,
) -> None:
    """A re-parse reuses the previous snapshot's equal ranges; a changed one is new."""
    before = parse_document({"properties": [property_data("1")]}, EMPTY)
    changed = property_data("1")
    changed["rates"].append({"date_from": "2026-12-24", "date_to": "2026-12-24", "price": "200.00"})
    [after] = parse_document({"properties": [changed]}, before).properties
    assert after.rates[0] is before.properties[0].rates[0]
    assert after.minstays[0] is before.properties[0].minstays[0]
    assert str(after.rates[1].price) == "200.00"


def test_equal_amounts_written_differently_stay_apart(property_data: PropertyFactory) -> None:
    """ "95.0" and "95.00" are equal numbers but different texts: each keeps its own text."""
    one = property_data("1", base_price="95.0")
    two = property_data("2", base_price="95.00")
    two["rates"] = [{**two["rates"][0], "price": "120.0"}]
    first, second = parse_document({"properties": [one, two]}, EMPTY).properties
    assert (str(first.base_price), str(second.base_price)) == ("95.0", "95.00")
    assert (str(first.rates[0].price), str(second.rates[0].price)) == ("120.00", "120.0")


def test_interned_parse_equals_a_plain_one(property_data: PropertyFactory) -> None:
    """Interning changes which objects are shared, never a parsed value."""
    raw = property_data("1")
    snapshot = parse_bytes(json.dumps({"properties": [raw]}).encode(), EMPTY)
    assert snapshot.properties == (Property.model_validate(raw),)
