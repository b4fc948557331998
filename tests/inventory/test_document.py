"""Partial validity: bad entries are skipped and reported, and never cause a removal."""

from __future__ import annotations

from tests.inventory.conftest import PropertyFactory
from worker.inventory.document import InventorySnapshot, parse_bytes, parse_document


def good_snapshot(property_data: PropertyFactory, *uids: str) -> InventorySnapshot:
    snapshot = parse_document({"properties": [property_data(uid) for uid in uids]}, EMPTY)
    assert snapshot.problems == ()
    return snapshot


EMPTY = InventorySnapshot(fresh=False)


def test_valid_document_is_fresh_with_nothing_held(property_data: PropertyFactory) -> None:
    """A clean document yields every property, no problems and nothing held."""
    snapshot = good_snapshot(property_data, "1", "2")
    assert [p.remote_uid for p in snapshot.properties] == ["1", "2"]
    assert snapshot.fresh
    assert snapshot.held == frozenset()


def test_bad_entry_is_skipped_and_reported_while_others_sync(
    property_data: PropertyFactory,
) -> None:
    """Only the bad property is left out, and its problem names the exact field."""
    bad = property_data("3")
    bad["rooms"][0]["max_people"] = 0
    raw = {"properties": [property_data("1"), property_data("2"), bad]}
    snapshot = parse_document(raw, EMPTY)
    assert [p.remote_uid for p in snapshot.properties] == ["1", "2"]
    assert [problem.path for problem in snapshot.problems] == ["properties[2].rooms[0].max_people"]
    assert snapshot.fresh


def test_previously_good_property_keeps_its_last_good_version(
    property_data: PropertyFactory,
) -> None:
    """A property that turns bad is served as it was and marked held, not dropped."""
    before = good_snapshot(property_data, "1", "2")
    broken = property_data("2", base_price=12.5)
    snapshot = parse_document({"properties": [property_data("1"), broken]}, before)
    assert snapshot.by_remote_uid()["2"] == before.by_remote_uid()["2"]
    assert snapshot.held == frozenset({"2"})
    assert [problem.path for problem in snapshot.problems] == ["properties[1].base_price"]


def test_unidentifiable_bad_entry_holds_every_vanished_property(
    property_data: PropertyFactory,
) -> None:
    """When a bad entry has no usable remote_uid, no previously good property is dropped."""
    before = good_snapshot(property_data, "1", "2")
    nameless = property_data("2")
    del nameless["remote_uid"]
    snapshot = parse_document({"properties": [property_data("1"), nameless]}, before)
    assert [p.remote_uid for p in snapshot.properties] == ["1", "2"]
    assert snapshot.held == frozenset({"2"})


def test_property_removed_from_a_valid_document_is_gone(property_data: PropertyFactory) -> None:
    """A property that simply leaves the file is not held (the job decides what that means)."""
    before = good_snapshot(property_data, "1", "2")
    snapshot = parse_document({"properties": [property_data("1")]}, before)
    assert [p.remote_uid for p in snapshot.properties] == ["1"]
    assert snapshot.held == frozenset()


def test_later_duplicate_remote_uid_is_dropped(property_data: PropertyFactory) -> None:
    """The first entry with a remote_uid wins; the duplicate is reported and skipped."""
    first = property_data("1", name="First")
    second = property_data("1", name="Second", reservations=[])
    snapshot = parse_document({"properties": [first, second]}, EMPTY)
    assert [p.name for p in snapshot.properties] == ["First"]
    assert [problem.path for problem in snapshot.problems] == ["properties[1].remote_uid"]


def test_bad_top_level_keeps_the_last_good_document(property_data: PropertyFactory) -> None:
    """A document of the wrong shape serves the previous properties, all held, not fresh."""
    before = good_snapshot(property_data, "1")
    for raw, path in [
        ([], "$"),
        ({}, "properties"),
        ({"properties": {}}, "properties"),
        ({"properties": [], "version": 2}, "version"),
    ]:
        snapshot = parse_document(raw, before)
        assert snapshot.properties == before.properties
        assert not snapshot.fresh
        assert snapshot.held == frozenset({"1"})
        assert [problem.path for problem in snapshot.problems] == [path]


def test_undecodable_bytes_keep_the_last_good_document(property_data: PropertyFactory) -> None:
    """Invalid JSON or non-UTF-8 bytes are document problems with a location."""
    before = good_snapshot(property_data, "1")
    torn = parse_bytes(b'{"properties": [', before)
    assert torn.properties == before.properties
    assert "invalid JSON" in torn.problems[0].message
    assert "line 1" in torn.problems[0].message
    assert "not UTF-8" in parse_bytes(b"\xff\xfe", before).problems[0].message
