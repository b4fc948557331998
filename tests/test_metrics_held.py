"""Held reservations come from the state store: counted on every run, aged by their record."""

from __future__ import annotations

from pathlib import Path

from worker.metrics import WorkerMetrics
from worker.state import ReservationRecord, StateStore
from worker.testing import FakeClock


async def test_refused_and_cancel_held_reservations_are_counted_with_the_oldest(
    tmp_path: Path,
) -> None:
    """A refused reservation and a held cancellation are held; pushed ones are not."""
    state = await StateStore.open(tmp_path)
    try:
        assert await state.held_reservations() == (0, None)
        await state.record_reservation("OTA-1", 7, "failed", message="no rooms")
        await state.record_reservation("OTA-2", 7, "pushed", message="cancel held: by hand")
        await state.record_reservation("OTA-3", 7, "pushed")
        items, oldest = await state.held_reservations()
    finally:
        await state.close()
    assert items == 2
    assert oldest is not None
    assert oldest == min(r.updated_at for r in await _records(tmp_path, "OTA-1", "OTA-2"))


async def _records(tmp_path: Path, *ids: str) -> list[ReservationRecord]:
    state = await StateStore.open(tmp_path)
    try:
        return [r for i in ids if (r := await state.get_reservation(i)) is not None]
    finally:
        await state.close()


def test_the_reservation_reason_is_the_state_count_and_its_age() -> None:
    """``held_in_state`` sets the reason's items and age; the job's own held count is ignored."""
    metrics = WorkerMetrics({"reservations": 60.0}, clock=FakeClock(wall_start=1000.0))
    metrics.job_finished("reservations", ok=True, counts={"held": 5})
    assert metrics.held(now=1000.0)["reservation"] == {"items": 0, "oldest_age_s": 0.0}
    assert metrics.held(now=1000.0)["held"]["items"] == 0
    metrics.held_in_state("reservation", 2, 400.0)
    assert metrics.held(now=1000.0)["reservation"] == {"items": 2, "oldest_age_s": 600.0}
