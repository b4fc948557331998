"""The sink's encoding: a booking whose text UTF-8 cannot encode is written, replaced, flagged."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from worker.inventory.sink import (
    RECORD_FIELDS,
    REPLACED_CHARACTERS,
    JsonLinesBookingSink,
    booking_record,
    encodable,
)
from worker.testing import FakeClock

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
# What json.loads makes of a site's "Jo\ud800se": a lone surrogate, which UTF-8 cannot encode.
POISONED = json.loads('"Jo\\ud800se"')


def booking(booking_id: int, firstname: str) -> dict[str, Any]:
    return {
        "booking_id": booking_id,
        "property_uid": 7,
        "last_modified": "2026-11-30 10:00:00",
        "guest_data": {"firstname": firstname, "surname": "Silva"},
    }


def record(booking_id: int, firstname: str) -> dict[str, Any]:
    return booking_record(
        booking(booking_id, firstname),
        site="https://hotel.example/bookyflow/api",
        channel="acme",
        property_remote_uid="1001",
        event="created",
    )


def lines(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_bytes().decode("utf-8").splitlines()]


async def test_a_lone_surrogate_is_written_replaced_and_flagged(tmp_path: Path) -> None:
    """The poisoned line is valid UTF-8 with U+FFFD and ``flags``; the next line is untouched."""
    path = tmp_path / "bookings.jsonl"
    sink = await JsonLinesBookingSink.open(path, clock=FakeClock(wall_start=NOW.timestamp()))
    assert await sink.deliver(record(41, POISONED))
    assert await sink.deliver(record(42, "Rui"))
    await sink.close()
    poisoned, clean = lines(path)
    assert poisoned["booking"]["guest_data"]["firstname"] == "Jo\ufffdse"
    assert poisoned["flags"] == [REPLACED_CHARACTERS]
    assert tuple(poisoned) == (*RECORD_FIELDS, "flags")
    assert tuple(clean) == RECORD_FIELDS


async def test_a_record_built_by_hand_is_made_encodable_too(tmp_path: Path) -> None:
    """A record that bypassed ``booking_record`` (a plug-in, an older caller) cannot crash the
    sink: it is cleaned and flagged at encoding."""
    path = tmp_path / "bookings.jsonl"
    sink = await JsonLinesBookingSink.open(path, clock=FakeClock(wall_start=NOW.timestamp()))
    raw = {**record(41, "Ana"), "booking": booking(41, POISONED)}
    assert await sink.deliver(raw)
    await sink.close()
    (line,) = lines(path)
    assert line["booking"]["guest_data"]["firstname"] == "Jo\ufffdse"
    assert line["flags"] == [REPLACED_CHARACTERS]


def test_encodable_names_paths_not_values_and_is_idempotent() -> None:
    """The report names each changed field by its path; cleaning twice changes nothing more."""
    cleaned, paths = encodable({"booking": booking(1, POISONED), "notes": [POISONED, "ok"]})
    assert paths == ["booking.guest_data.firstname", "notes.0"]
    assert cleaned["flags"] == [REPLACED_CHARACTERS]
    again, more = encodable(cleaned)
    assert (again, more) == (cleaned, [])
    assert encodable({"a": "plain"}) == ({"a": "plain"}, [])
