"""Drift from the site's side: the hotel's own edits, seen in the change log by the bookings job,
are corrected by the next ARI run on just those properties, once, without fighting the edits the
inventory agrees with."""

from __future__ import annotations

from structlog.testing import capture_logs

from tests.sync.support import Harness, day, seaside
from worker.api.models import ChangeLogEvent
from worker.sync.drift import site_drift


def _event(event_id: int, action: str, channel: str | None) -> ChangeLogEvent:
    return ChangeLogEvent(
        event_id=event_id, property_uid=7, action=action, date="2026-12-01 10:00:00",
        channel_name=channel,
    )  # fmt: skip


def test_own_channel_events_are_never_drift() -> None:
    """Events this channel caused, of any action, are not drift."""
    events = [_event(1, "tariffs_updated", "acme"), _event(2, "room_deleted", "acme")]
    assert site_drift(events, "acme", 0) is None


def test_site_edits_name_the_actions_and_what_to_redo() -> None:
    """Site edits newer than the seen event give their actions, the redo and the newest id."""
    events = [
        _event(3, "tariffs_updated", None),
        _event(4, "booking_added", None),  # a guest's booking: the bookings job's, not drift
        _event(5, "room_deleted", ""),
        _event(6, "tariffs_updated", "acme"),
    ]
    drift = site_drift(events, "acme", 2)
    assert drift is not None
    assert (drift.newest_event, drift.actions) == (5, ("room_deleted", "tariffs_updated"))
    assert (drift.reconcile, drift.rooms) == (True, True)
    assert site_drift(events, "acme", 5) is None


async def _synced(harness: Harness, *remotes: str) -> dict[str, int]:
    harness.write_inventory(*(seaside(remote) for remote in remotes))
    for job in ("properties", "ari", "bookings"):
        assert (await harness.run(job)).ok
    harness.sandbox.journal.clear()
    uids: dict[str, int] = {}
    for remote in remotes:
        prop = await harness.state.get_property(remote)
        assert prop is not None
        assert prop.property_uid is not None
        uids[remote] = prop.property_uid
    return uids


async def test_a_hotel_price_edit_is_written_back_on_that_property_only(harness: Harness) -> None:
    """Hotel edits a price → site.drift → ARI writes back on that property only → then nothing."""
    uids = await _synced(harness, "1001", "1002")
    harness.sandbox.store.hotel_set_price(uids["1001"], day(2), day(3), "80.00")
    with capture_logs() as logs:
        assert (await harness.run("bookings")).counts["drift"] == 1
    [drift] = [e for e in logs if e["event"] == "site.drift"]
    assert (drift["property_uid"], drift["remote_uid"]) == (uids["1001"], "1001")
    assert (drift["actions"], drift["redo"]) == (["tariffs_updated"], ["ari_reconcile"])
    assert (await harness.run("ari")).ok
    writes = harness.writes()
    assert writes
    assert {w.form["property_uid"] for w in writes} == {str(uids["1001"])}
    nights = harness.sandbox.store.calendar(uids["1001"], day(2), day(3))
    assert {str(cell["price"]) for cell in nights.values()} == {"120.00"}
    harness.sandbox.journal.clear()
    assert (await harness.run("bookings")).counts["drift"] == 0
    assert (await harness.run("ari")).ok
    assert harness.writes() == []


async def test_a_hotel_edit_the_inventory_agrees_with_causes_no_write(harness: Harness) -> None:
    """The hotel sets the price the inventory already has: drift is reported, nothing is written."""
    uids = await _synced(harness, "1001")
    harness.sandbox.store.hotel_set_price(uids["1001"], day(2), day(3), "120.00")
    harness.sandbox.journal.clear()
    assert (await harness.run("bookings")).counts["drift"] == 1
    assert await harness.state.reconciled_on(uids["1001"]) is None
    assert (await harness.run("ari")).ok
    assert harness.writes() == []
    assert await harness.state.reconciled_on(uids["1001"]) == harness.today


async def test_our_own_pushes_are_never_drift(harness: Harness) -> None:
    """After the worker's own tariff, price and room writes, the bookings job sees no drift."""
    uids = await _synced(harness, "1001")
    assert await harness.state.drift_seen(uids["1001"]) == 0
    assert (await harness.run("bookings")).counts["drift"] == 0
    assert await harness.state.reconciled_on(uids["1001"]) == harness.today


async def test_marking_drift_forgets_only_what_it_names(harness: Harness) -> None:
    """A price edit forgets the reconciled day but keeps the rooms' synced day, and vice versa."""
    uids = await _synced(harness, "1001", "1002")
    first, second = uids["1001"], uids["1002"]
    await harness.state.mark_drift(first, 5, reconcile=True, rooms=False)
    await harness.state.mark_drift(second, 6, reconcile=False, rooms=True)
    assert (await harness.state.reconciled_on(first), await harness.state.drift_seen(first)) == (
        None,
        5,
    )
    assert await harness.state.rooms_synced(first) is not None
    assert await harness.state.reconciled_on(second) == harness.today
    assert await harness.state.rooms_synced(second) is None
