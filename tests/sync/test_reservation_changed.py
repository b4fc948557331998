"""``reservation.changed``: a pushed reservation edited in the document is reported, once per
change, with the field names; nothing is sent (BookyFlow has no modify call)."""

from __future__ import annotations

from collections.abc import MutableMapping
from typing import Any

from structlog.testing import capture_logs

from tests.sync.support import Harness, day, reservation, seaside
from worker.inventory.models import Reservation as VendorReservation
from worker.sync.reservation_plan import (
    PushedRecord,
    field_digests,
    read_pushed,
    report_change,
)


def changed(logs: list[MutableMapping[str, Any]]) -> list[list[str]]:
    return [entry["fields"] for entry in logs if entry["event"] == "reservation.changed"]


async def run_reservations(harness: Harness, stay: dict[str, Any]) -> list[list[str]]:
    """Write 1001 with this one reservation, run the job: the changes it reported."""
    harness.write_inventory(seaside("1001", reservations=[stay]))
    with capture_logs() as logs:
        assert (await harness.run("reservations")).ok
    return changed(logs)


async def test_a_changed_stay_is_reported_once_with_its_fields(harness: Harness) -> None:
    """Dates and guests change: one reservation.changed naming them, then silence; no write."""
    original = reservation("OTA-1", 5)
    harness.write_inventory(seaside("1001", reservations=[original]))
    assert (await harness.run("properties")).ok
    assert await run_reservations(harness, original) == []
    harness.sandbox.journal.clear()
    edited = {**original, "date_to": day(7), "guests": 1}
    assert await run_reservations(harness, edited) == [["date_to", "guests"]]
    assert await run_reservations(harness, edited) == []  # the same change: said once
    repriced = {**edited, "client_price": "400.00"}
    assert await run_reservations(harness, repriced) == [["date_to", "guests", "client_price"]]
    assert harness.writes() == []


async def test_a_change_undone_then_made_again_is_reported_again(harness: Harness) -> None:
    """Back in line clears the mark: the same edit made a second time is a new change."""
    original = reservation("OTA-1", 5)
    harness.write_inventory(seaside("1001", reservations=[original]))
    assert (await harness.run("properties")).ok
    await run_reservations(harness, original)
    edited = {**original, "date_from": day(4)}
    assert await run_reservations(harness, edited) == [["date_from"]]
    assert await run_reservations(harness, original) == []
    assert await run_reservations(harness, edited) == [["date_from"]]


async def test_a_push_without_a_record_takes_the_document_as_sent(harness: Harness) -> None:
    """A push from before the record was kept (or an unreadable one): baseline, no report."""
    original = reservation("OTA-1", 5)
    harness.write_inventory(seaside("1001", reservations=[original]))
    assert (await harness.run("properties")).ok
    await run_reservations(harness, original)
    await harness.state.remember_push("OTA-1", "written by an older version")
    edited = {**original, "guests": 1}
    assert await run_reservations(harness, edited) == []
    assert await run_reservations(harness, {**edited, "guests": 2}) == [["guests"]]


def vendor(**changes: Any) -> VendorReservation:
    return VendorReservation.model_validate({**reservation("OTA-9", 5), **changes})


def test_the_record_keeps_digests_and_the_last_night_only() -> None:
    """No guest data in clear: the guest is one digest among the compared fields."""
    record = PushedRecord.of(vendor())
    text = record.dump()
    assert "Silva" not in text
    assert "ana@example.org" not in text
    assert read_pushed(text) == record
    assert record.last_night is not None
    assert record.last_night.isoformat() == day(6)


def test_report_change_says_a_change_once_and_clears_when_undone() -> None:
    """New change: its fields; the same again: None; back in line: the mark is cleared."""
    pushed = PushedRecord.of(vendor())
    renamed = field_digests(vendor(guest={**vendor().guest.model_dump(), "surname": "Costa"}))
    assert report_change(pushed, field_digests(vendor())) is None
    first = report_change(pushed, renamed)
    assert first is not None
    assert first.fields == ("guest",)
    assert report_change(first.record, renamed) is None
    undone = report_change(first.record, field_digests(vendor()))
    assert undone is not None
    assert undone.fields == ()
    assert undone.record.reported is None
