"""Files the worker writes are private (0600, directories 0700), whatever the process umask."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from worker.health import write_heartbeat
from worker.inventory.sink import JsonLinesBookingSink, booking_record
from worker.state import DB_NAME, StateStore
from worker.testing import FakeClock

NOW = datetime(2026, 12, 1, tzinfo=UTC)
BOOKING = {"booking_id": 41, "last_modified": "2026-11-30 10:00:00", "property_uid": 7}


@pytest.fixture
def open_umask() -> Iterator[None]:
    """The most permissive umask: every private mode must be set explicitly, not inherited."""
    previous = os.umask(0)
    yield
    os.umask(previous)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.usefixtures("open_umask")
async def test_state_store_files_are_private_under_umask_zero(tmp_path: Path) -> None:
    """The state dir is 0700 and the database with its WAL files 0600 even with umask 0."""
    store = await StateStore.open(tmp_path / "state")
    try:
        await store.record_property_intent("1001")
        assert _mode(tmp_path / "state") == 0o700
        for name in (DB_NAME, f"{DB_NAME}-wal", f"{DB_NAME}-shm"):
            assert _mode(tmp_path / "state" / name) == 0o600, name
    finally:
        await store.close()


@pytest.mark.usefixtures("open_umask")
async def test_booking_sink_is_private_and_tightens_an_existing_file(tmp_path: Path) -> None:
    """The bookings file (guest data) is 0600, also when it existed before as 0644."""
    path = tmp_path / "bookings.jsonl"
    path.write_text("", encoding="utf-8")
    path.chmod(0o644)
    sink = await JsonLinesBookingSink.open(path, clock=FakeClock(wall_start=NOW.timestamp()))
    try:
        record = booking_record(
            BOOKING, site="s", channel="acme", property_remote_uid="r-1", event="created"
        )
        assert await sink.deliver(record)
    finally:
        await sink.close()
    assert _mode(path) == 0o600


@pytest.mark.usefixtures("open_umask")
def test_heartbeat_file_is_private(tmp_path: Path) -> None:
    """The heartbeat is replaced atomically with mode 0600."""
    path = tmp_path / "heartbeat.json"
    write_heartbeat(path, {"at": 1.0})
    assert _mode(path) == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["heartbeat.json"]
