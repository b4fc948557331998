"""The inventory's size cap: a larger file is refused (last good kept) and never read whole.

A 1 GB inventory of whitespace was read whole and took the worker to 2.1 GB (issue 11).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.inventory.conftest import PropertyFactory
from worker.inventory.source import JsonFileInventorySource

Writer = Callable[[object], Path]
CAP = 4096


async def test_a_file_over_the_cap_is_refused_and_the_last_good_kept(
    write_inventory: Writer, property_data: PropertyFactory
) -> None:
    """Over the cap: inventory.invalid naming the setting, the last good served, a fix is seen."""
    path = write_inventory({"properties": [property_data("1")]})
    source = JsonFileInventorySource(path, max_bytes=CAP)
    good = await source.load()
    write_inventory({"properties": [property_data("2")], "pad": " " * CAP})
    with capture_logs() as logs:
        refused = await source.load()
        again = await source.load()
    assert refused.properties == good.properties
    assert not refused.fresh
    assert again is refused  # unchanged file: not read, not reported again
    (invalid,) = [entry for entry in logs if entry["event"] == "inventory.invalid"]
    assert invalid["field"] == "$"
    assert "BOOKYFLOW_INVENTORY_MAX_BYTES" in invalid["error"]
    assert str(CAP) in invalid["error"]
    write_inventory({"properties": [property_data("2")]})
    assert [p.remote_uid for p in (await source.load()).properties] == ["2"]


async def test_a_huge_sparse_file_is_refused_by_its_size_without_reading(tmp_path: Path) -> None:
    """A 1 GiB file is judged by ``st_size``: refused at start-up too, and not fatal."""
    path = tmp_path / "inventory.json"
    with path.open("wb") as file:
        file.truncate(1024**3)
    snapshot = await JsonFileInventorySource(path, max_bytes=CAP).load()
    assert snapshot.properties == ()
    assert not snapshot.fresh
    assert "1073741824 bytes" in snapshot.problems[0].message


@pytest.fixture
def endless_fifo(tmp_path: Path) -> Iterator[Path]:
    """A named pipe fed without end: its ``st_size`` is 0, so only a bounded read stops."""
    path = tmp_path / "inventory.json"
    os.mkfifo(path)
    stop = threading.Event()

    def feed() -> None:
        try:
            with path.open("wb") as pipe:
                while not stop.is_set():
                    pipe.write(b" " * 65536)
        except (BrokenPipeError, OSError):
            return

    writer = threading.Thread(target=feed, daemon=True)
    writer.start()
    yield path
    stop.set()
    unblock = os.open(path, os.O_RDONLY | os.O_NONBLOCK)  # a writer still waiting for a reader
    os.close(unblock)
    writer.join(timeout=5)


async def test_a_file_growing_while_read_is_read_no_further_than_the_cap(
    endless_fifo: Path,
) -> None:
    """The read itself is bounded: an input without end is refused after cap + 1 bytes."""
    snapshot = await JsonFileInventorySource(endless_fifo, max_bytes=CAP).load()
    assert not snapshot.fresh
    assert "BOOKYFLOW_INVENTORY_MAX_BYTES" in snapshot.problems[0].message
