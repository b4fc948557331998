"""The JSON-file source: re-read each cycle, cheap when unchanged, last good kept on trouble."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.inventory.conftest import PropertyFactory
from worker.errors import ConfigError
from worker.inventory.sink import BookingSink, JsonLinesBookingSink
from worker.inventory.source import InventorySource, JsonFileInventorySource, load_plugin

Writer = Callable[[object], Path]


async def test_missing_file_at_start_up_is_a_config_error(tmp_path: Path) -> None:
    """The CLI turns this into exit 78; the message names the path."""
    source = JsonFileInventorySource(tmp_path / "absent.json")
    with pytest.raises(ConfigError, match=r"absent\.json"):
        await source.load()


async def test_loads_the_document(write_inventory: Writer, property_data: PropertyFactory) -> None:
    """A valid file yields its properties and logs inventory.loaded once."""
    path = write_inventory({"properties": [property_data("1")]})
    with capture_logs() as logs:
        snapshot = await JsonFileInventorySource(path).load()
    assert [p.remote_uid for p in snapshot.properties] == ["1"]
    assert [entry["event"] for entry in logs] == ["inventory.loaded"]


async def test_unchanged_file_is_not_read_again(
    write_inventory: Writer, property_data: PropertyFactory
) -> None:
    """Same inode, size and mtime: the content is not even read (stat fast path)."""
    path = write_inventory({"properties": [property_data("1")]})
    source = JsonFileInventorySource(path)
    first = await source.load()
    stat = path.stat()
    with path.open("r+b") as file:  # same size, same inode, mtime restored below
        file.write(b"X")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert await source.load() is first


async def test_rewritten_identical_content_is_not_parsed_again(
    write_inventory: Writer, property_data: PropertyFactory
) -> None:
    """A new file with the same bytes is recognised by its hash: same snapshot, no log line."""
    document = {"properties": [property_data("1")]}
    source = JsonFileInventorySource(write_inventory(document))
    first = await source.load()
    write_inventory(document)
    with capture_logs() as logs:
        assert await source.load() is first
    assert logs == []


async def test_changed_file_is_picked_up(
    write_inventory: Writer, property_data: PropertyFactory
) -> None:
    """Each load sees the vendor's latest rewrite."""
    source = JsonFileInventorySource(write_inventory({"properties": [property_data("1")]}))
    await source.load()
    write_inventory({"properties": [property_data("1"), property_data("2")]})
    assert [p.remote_uid for p in (await source.load()).properties] == ["1", "2"]


async def test_bad_document_keeps_last_good_and_logs_the_field(
    write_inventory: Writer, property_data: PropertyFactory
) -> None:
    """An invalid rewrite is logged with the field path; the last good stays; a fix is seen."""
    source = JsonFileInventorySource(write_inventory({"properties": [property_data("1")]}))
    good = await source.load()
    write_inventory({"properties": [property_data("1")], "extra": 1})
    with capture_logs() as logs:
        stale = await source.load()
    assert stale.properties == good.properties
    assert not stale.fresh
    invalid = [entry for entry in logs if entry["event"] == "inventory.invalid"]
    assert invalid[0]["field"] == "extra"
    assert invalid[0]["log_level"] == "error"
    write_inventory({"properties": [property_data("2")]})
    assert [p.remote_uid for p in (await source.load()).properties] == ["2"]


async def test_invalid_document_at_start_up_is_not_fatal(write_inventory: Writer) -> None:
    """An existing but invalid file yields no properties and a problem, not an exception."""
    snapshot = await JsonFileInventorySource(write_inventory("{not json")).load()
    assert snapshot.properties == ()
    assert not snapshot.fresh
    assert snapshot.problems[0].path == "$"


async def test_file_vanishing_later_keeps_last_good(
    write_inventory: Writer, property_data: PropertyFactory
) -> None:
    """A missing file after start-up is reported; when it returns it is used again."""
    document = {"properties": [property_data("1")]}
    path = write_inventory(document)
    source = JsonFileInventorySource(path)
    good = await source.load()
    path.unlink()
    with capture_logs() as logs:
        missing = await source.load()
    assert missing.properties == good.properties
    assert missing.held == frozenset({"1"})
    assert "last good" in missing.problems[0].message
    assert logs[0]["event"] == "inventory.unreadable"
    write_inventory(document)
    assert await source.load() is good


def test_load_plugin_returns_a_class_implementing_the_protocol() -> None:
    """package.module:Class resolves to the class when it fits the protocol."""
    found = load_plugin("worker.inventory.source:JsonFileInventorySource", InventorySource)
    assert found is JsonFileInventorySource
    sink = load_plugin("worker.inventory.sink:JsonLinesBookingSink", BookingSink, setting="SINK")
    assert sink is JsonLinesBookingSink


@pytest.mark.parametrize(
    ("dotted", "complaint"),
    [
        ("worker.inventory.source", "package.module:Class"),
        ("no_such_package_h4:Thing", "cannot import"),
        ("worker.inventory.source:Nope", "no attribute"),
        ("worker.inventory.source:log", "not a class"),
        ("worker.inventory.sink:JsonLinesBookingSink", "implementing InventorySource"),
    ],
)
def test_load_plugin_failures_are_clear_config_errors(dotted: str, complaint: str) -> None:
    """Each way a dotted path can be wrong gives a ConfigError naming the setting."""
    with pytest.raises(ConfigError, match=complaint) as caught:
        load_plugin(dotted, InventorySource)
    assert "BOOKYFLOW_SOURCE" in str(caught.value)
