"""The JSON-lines sink follows its file name: rotation (rename) and deletion lose no booking."""

from __future__ import annotations

import json
import os
import stat
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from worker.inventory.sink import JsonLinesBookingSink, booking_record
from worker.testing import FakeClock

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def record(booking_id: int) -> dict[str, Any]:
    booking = {"booking_id": booking_id, "property_uid": 7, "last_modified": "2026-11-30 10:00"}
    return booking_record(
        booking, site="https://hotel.example/api", channel="acme", property_remote_uid="1001",
        event="created",
    )  # fmt: skip


def ids(path: Path) -> list[int]:
    lines = path.read_text(encoding="utf-8").splitlines()
    return [json.loads(line)["booking"]["booking_id"] for line in lines]


async def open_sink(path: Path) -> JsonLinesBookingSink:
    return await JsonLinesBookingSink.open(path, clock=FakeClock(wall_start=NOW.timestamp()))


async def test_renamed_file_is_followed_by_name(tmp_path: Path) -> None:
    """After logrotate renames the file, the next booking goes to a new file by the old name."""
    path = tmp_path / "bookings.jsonl"
    sink = await open_sink(path)
    assert await sink.deliver(record(1))
    path.rename(tmp_path / "bookings.jsonl.1")
    assert await sink.deliver(record(2))
    await sink.close()
    assert ids(tmp_path / "bookings.jsonl.1") == [1]
    assert ids(path) == [2]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_renamed_away_revisions_are_not_written_again(tmp_path: Path) -> None:
    """A rotated file's revisions were delivered: the sink's index keeps them after the rename."""
    path = tmp_path / "bookings.jsonl"
    sink = await open_sink(path)
    await sink.deliver(record(1))
    path.rename(tmp_path / "bookings.jsonl.1")
    assert not await sink.deliver(record(1))
    assert sink.has(record(1)["revision"])
    await sink.close()
    assert not path.exists() or ids(path) == []


async def test_deleted_file_is_recreated_and_receives_the_next_booking(tmp_path: Path) -> None:
    """A consumer that deletes the file gets later bookings in a new file, created 0600."""
    path = tmp_path / "bookings.jsonl"
    sink = await open_sink(path)
    await sink.deliver(record(1))
    path.unlink()
    assert await sink.deliver(record(2))
    assert not await sink.deliver(record(1))
    await sink.close()
    assert ids(path) == [2]
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


async def test_a_file_put_in_place_is_scanned_for_its_revisions(tmp_path: Path) -> None:
    """A file moved in under the name (a restore) is read, so its revisions are not repeated."""
    path = tmp_path / "bookings.jsonl"
    sink = await open_sink(path)
    await sink.deliver(record(1))
    restored = tmp_path / "restored.jsonl"
    restored.write_text(json.dumps({**record(5), "received_at": "x"}) + "\n", encoding="utf-8")
    restored.replace(path)
    assert not await sink.deliver(record(5))
    assert await sink.deliver(record(6))
    await sink.close()
    assert ids(path) == [5, 6]


async def test_reopen_creates_the_file_at_once(tmp_path: Path) -> None:
    """``reopen()`` (SIGHUP) opens the file by name now, creating it, as logrotate expects."""
    path = tmp_path / "bookings.jsonl"
    sink = await open_sink(path)
    await sink.deliver(record(1))
    path.rename(tmp_path / "bookings.jsonl.1")
    await sink.reopen()
    assert path.exists()
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert not await sink.deliver(record(1))
    await sink.close()


async def test_file_deleted_during_the_append_is_written_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A delete racing the append (after the name check) cannot lose the line: it is re-sent."""
    path = tmp_path / "bookings.jsonl"
    sink = await open_sink(path)
    real_fsync = os.fsync
    raced = False

    def delete_then_fsync(fd: int) -> None:
        nonlocal raced
        if not raced and path.exists():
            raced = True
            path.unlink()
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", delete_then_fsync)
    assert await sink.deliver(record(1))
    await sink.close()
    assert raced
    assert ids(path) == [1]
