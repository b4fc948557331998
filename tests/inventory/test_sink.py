"""The JSON-lines booking sink: the spec's line format, each revision exactly once, durably."""

from __future__ import annotations

import asyncio
import errno
import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from worker.errors import BookyFlowError, ConfigError
from worker.inventory.sink import (
    RECORD_FIELDS,
    DeliveryError,
    JsonLinesBookingSink,
    booking_record,
)
from worker.testing import FakeClock

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def booking(booking_id: int = 41, last_modified: str = "2026-11-30 10:00:00") -> dict[str, Any]:
    return {"booking_id": booking_id, "property_uid": 7, "last_modified": last_modified}


def record(booking_id: int = 41, last_modified: str = "2026-11-30 10:00:00") -> dict[str, Any]:
    return booking_record(
        booking(booking_id, last_modified),
        site="https://hotel.example/bookyflow/api",
        channel="acme",
        property_remote_uid="1001",
        event="created",
    )


async def open_sink(path: Path) -> JsonLinesBookingSink:
    return await JsonLinesBookingSink.open(path, clock=FakeClock(wall_start=NOW.timestamp()))


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]


async def test_line_has_the_spec_format(tmp_path: Path) -> None:
    """One JSON object per line, fields in the spec's order, received_at from the clock."""
    path = tmp_path / "bookings.jsonl"
    sink = await open_sink(path)
    assert await sink.deliver(record())
    await sink.close()
    (line,) = lines(path)
    assert tuple(line) == RECORD_FIELDS
    assert line["revision"] == "41:2026-11-30 10:00:00"
    assert line["received_at"] == "2026-12-01T09:30:00Z"
    assert line["booking"] == booking()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_each_revision_is_written_once(tmp_path: Path) -> None:
    """A known revision returns False; a new last_modified is a new line."""
    path = tmp_path / "bookings.jsonl"
    sink = await open_sink(path)
    assert await sink.deliver(record())
    assert not await sink.deliver(record())
    assert await sink.deliver(record(last_modified="2026-11-30 11:00:00"))
    await sink.close()
    assert len(lines(path)) == 2


async def test_exactly_once_across_reopen(tmp_path: Path) -> None:
    """A restarted sink knows what the file already holds."""
    path = tmp_path / "bookings.jsonl"
    first = await open_sink(path)
    await first.deliver(record(1))
    await first.close()
    second = await open_sink(path)
    assert second.has("1:2026-11-30 10:00:00")
    assert not await second.deliver(record(1))
    assert await second.deliver(record(2))
    await second.close()
    assert [line["booking"]["booking_id"] for line in lines(path)] == [1, 2]


async def test_concurrent_deliveries_of_one_revision_write_one_line(tmp_path: Path) -> None:
    """Racing jobs cannot both write the same revision."""
    path = tmp_path / "bookings.jsonl"
    sink = await open_sink(path)
    results = await asyncio.gather(*(sink.deliver(record()) for _ in range(20)))
    await sink.close()
    assert results.count(True) == 1
    assert len(lines(path)) == 1


async def test_torn_last_line_is_cut_and_redelivered(tmp_path: Path) -> None:
    """A crash mid-write leaves half a line; reopening removes it so it is written whole."""
    path = tmp_path / "bookings.jsonl"
    sink = await open_sink(path)
    await sink.deliver(record(1))
    await sink.close()
    whole = json.dumps({**record(2), "received_at": "x"})
    with path.open("ab") as file:
        file.write(whole.encode()[: len(whole) // 2])
    sink = await open_sink(path)
    assert not sink.has("2:2026-11-30 10:00:00")
    assert await sink.deliver(record(2))
    await sink.close()
    assert [line["booking"]["booking_id"] for line in lines(path)] == [1, 2]


async def test_unreadable_complete_line_is_skipped(tmp_path: Path) -> None:
    """Garbage between good lines does not stop the scan or lose the lines after it."""
    path = tmp_path / "bookings.jsonl"
    good = json.dumps({**record(3), "received_at": "x"})
    path.write_text(f"garbage\n{good}\n", encoding="utf-8")
    sink = await open_sink(path)
    assert not await sink.deliver(record(3))
    await sink.close()


async def test_disk_full_is_a_typed_error_and_nothing_is_recorded(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """ENOSPC after a partial write: DeliveryError, the partial bytes removed, retry works."""
    path = tmp_path / "bookings.jsonl"
    sink = await open_sink(path)
    await sink.deliver(record(1))
    real_write = os.write
    calls = 0

    def half_then_full(fd: int, data: Any) -> int:
        nonlocal calls
        calls += 1
        if calls == 1:
            return real_write(fd, bytes(data)[: len(data) // 2])
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "write", half_then_full)
    with pytest.raises(DeliveryError, match="No space left") as caught:
        await sink.deliver(record(2))
    assert isinstance(caught.value, BookyFlowError)
    assert isinstance(caught.value, OSError)
    assert caught.value.retryable
    assert not sink.has("2:2026-11-30 10:00:00")
    monkeypatch.setattr(os, "write", real_write)
    assert await sink.deliver(record(2))
    await sink.close()
    assert [line["booking"]["booking_id"] for line in lines(path)] == [1, 2]


async def test_second_sink_on_the_same_file_is_refused(tmp_path: Path) -> None:
    """Two workers appending to one file would break exactly-once; the second gets a ConfigError."""
    path = tmp_path / "bookings.jsonl"
    first = await open_sink(path)
    with pytest.raises(ConfigError, match="in use"):
        await open_sink(path)
    await first.close()
    second = await open_sink(path)
    await second.close()


async def test_incomplete_record_is_refused(tmp_path: Path) -> None:
    """A record without the spec's fields is a programming error, not a line."""
    sink = await open_sink(tmp_path / "bookings.jsonl")
    incomplete = record()
    del incomplete["property_remote_uid"]
    with pytest.raises(ValueError, match="property_remote_uid"):
        await sink.deliver(incomplete)
    await sink.close()
    await sink.close()
    assert (tmp_path / "bookings.jsonl").read_bytes() == b""
