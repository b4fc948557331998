"""Remembered reads (rooms, properties) are what a fresh read gives, after every kind of write."""

from __future__ import annotations

from pathlib import Path

from worker.state import StateStore
from worker.testing import FakeClock


async def test_remembered_rooms_and_properties_follow_every_write(tmp_path: Path) -> None:
    """Each write of rooms or properties is seen by the next read, remembered or not."""
    state = await StateStore.open(tmp_path, clock=FakeClock())
    try:
        assert await state.get_property("1001") is None
        await state.record_property_intent("1001")
        assert (await state.get_property("1001")).status == "intent"  # type: ignore[union-attr]
        await state.record_property_created("1001", 7)
        record = await state.get_property("1001")
        assert record is not None
        assert (record.property_uid, record.status) == (7, "created")
        await state.record_property_published("1001")
        assert [r.status for r in await state.list_properties()] == ["published"]
        assert await state.list_properties("created") == []
        rooms = await state.get_rooms(7)
        assert rooms == {}
        rooms["mutated-by-a-caller"] = 1  # a caller's copy: the remembered value is untouched
        await state.record_room(7, "1001-A", 70)
        assert await state.get_rooms(7) == {"1001-A": 70}
        await state.forget_room(7, "1001-A")
        assert await state.get_rooms(7) == {}
        await state.record_room(7, "1001-B", 71)
        assert await state.get_rooms(7) == {"1001-B": 71}
        await state.forget_property("1001")
        assert await state.get_rooms(7) == {}
        assert await state.get_property("1001") is None
        assert await state.list_properties() == []
    finally:
        await state.close()
