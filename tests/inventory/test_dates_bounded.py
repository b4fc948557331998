"""Dates are bounded (beyond 2100 is invalid), and a bad dated record holds only itself.

A year-9999 date once passed validation, overflowed the ARI job's date arithmetic, blocked the
whole property (its valid reservation deferred) and was pushed as a reservation (issue 11).
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

import pytest
from pydantic import ValidationError

from tests.inventory.conftest import PropertyFactory
from worker.inventory.document import InventorySnapshot, parse_document
from worker.inventory.models import LATEST_DATE, Property, describe_errors

EMPTY = InventorySnapshot(fresh=False)


def paths(snapshot: InventorySnapshot) -> list[str]:
    return [problem.path for problem in snapshot.problems]


def with_extra_rate(prop: dict[str, Any], date_to: str) -> dict[str, Any]:
    prop = copy.deepcopy(prop)
    prop["rates"].append({"date_from": "2027-01-01", "date_to": date_to, "price": "99.00"})
    return prop


@pytest.mark.parametrize("value", ["2101-01-01", "9999-12-31"])
def test_a_date_beyond_2100_is_invalid_with_its_field_path(
    property_data: PropertyFactory, value: str
) -> None:
    """``properties[0].rates[1].date_to`` beyond 2100 is refused, naming that exact field."""
    with pytest.raises(ValidationError) as caught:
        Property.model_validate(with_extra_rate(property_data(), value))
    ((path, message),) = describe_errors(caught.value, prefix=("properties", 0))
    assert path == "properties[0].rates[1].date_to"
    assert "2100" in message


def test_the_last_day_of_2100_is_still_a_date(property_data: PropertyFactory) -> None:
    """The bound is inclusive: 2100-12-31 is valid, as a string and as a date object."""
    prop = Property.model_validate(with_extra_rate(property_data(), "2100-12-31"))
    assert prop.rates[1].date_to == LATEST_DATE
    raw = with_extra_rate(property_data(), "2100-12-31")
    raw["rates"][1]["date_to"] = date(2101, 1, 1)
    with pytest.raises(ValidationError, match="2100"):
        Property.model_validate(raw)


def test_a_bad_reservation_is_left_out_while_the_rest_of_its_property_syncs(
    property_data: PropertyFactory,
) -> None:
    """A reservation dated 9999 is skipped and reported; its property and others are fresh."""
    prop = property_data("1")
    prop["reservations"].append(
        {**copy.deepcopy(prop["reservations"][0]), "id": "OTA-BAD", "date_to": "9999-01-01"}
    )
    snapshot = parse_document({"properties": [prop, property_data("2")]}, EMPTY)
    served = snapshot.by_remote_uid()
    assert [r.id for r in served["1"].reservations] == ["OTA-1"]
    assert "2" in served
    assert snapshot.held == frozenset()
    assert paths(snapshot) == ["properties[0].reservations[1].date_to"]
    assert "skipped" in snapshot.problems[0].message


def test_a_bad_rate_keeps_the_last_good_rates_and_the_new_reservation_syncs(
    property_data: PropertyFactory,
) -> None:
    """Rates with a 9999 entry: the last good rates stay, the rest of the property is new."""
    before = parse_document({"properties": [property_data("1")]}, EMPTY)
    changed = with_extra_rate(property_data("1", name="Renamed Inn"), "9999-12-31")
    changed["reservations"][0]["id"] = "OTA-NEW"
    snapshot = parse_document({"properties": [changed]}, before)
    (served,) = snapshot.properties
    assert served.rates == before.properties[0].rates
    assert served.name == "Renamed Inn"
    assert [r.id for r in served.reservations] == ["OTA-NEW"]
    assert snapshot.held == frozenset()
    assert paths(snapshot) == ["properties[0].rates[1].date_to"]
    assert "last good rates" in snapshot.problems[0].message


def test_a_bad_closure_without_a_last_good_version_holds_its_property(
    property_data: PropertyFactory,
) -> None:
    """No last good closures to keep (first read): dropping one could reopen it, so the whole
    property is held back as before, and its problem still names the field."""
    prop = property_data("1")
    prop["closures"][0]["date_to"] = "9999-01-01"
    snapshot = parse_document({"properties": [prop, property_data("2")]}, EMPTY)
    assert [p.remote_uid for p in snapshot.properties] == ["2"]
    assert paths(snapshot) == ["properties[0].closures[0].date_to"]


def test_errors_outside_the_record_lists_still_hold_the_whole_property(
    property_data: PropertyFactory,
) -> None:
    """A bad property field next to a bad rate: the property's last good version is served."""
    before = parse_document({"properties": [property_data("1")]}, EMPTY)
    broken = with_extra_rate(property_data("1", base_price="nope"), "9999-12-31")
    snapshot = parse_document({"properties": [broken]}, before)
    assert snapshot.properties == before.properties
    assert snapshot.held == frozenset({"1"})
    assert sorted(paths(snapshot)) == ["properties[0].base_price", "properties[0].rates[1].date_to"]
