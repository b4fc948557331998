"""The reservations job against the sandbox: pushed once, cancelled once, across crashes too."""

from __future__ import annotations

from tests.sync.support import Harness, reservation, seaside


async def _property(harness: Harness, *reservations: dict[str, object]) -> int:
    harness.write_inventory(seaside("1001", reservations=list(reservations)))
    assert (await harness.run("properties")).ok
    harness.sandbox.journal.clear()
    return harness.context.owned.items()[0][0]


async def test_confirmed_is_pushed_once_and_cancelled_once(harness: Harness) -> None:
    """Push, no re-push, one cancel when the vendor cancels, then silence."""
    uid = await _property(harness, reservation("OTA-1", 5))
    first = await harness.run("reservations")
    assert first.ok
    assert first.counts["pushed"] == 1
    [booking] = harness.site_bookings(uid)
    assert (booking["date_from"], booking["date_to"]) == (
        reservation("OTA-1", 5)["date_from"],
        reservation("OTA-1", 5)["date_to"],
    )
    assert (await harness.run("reservations")).ok
    assert len(harness.writes_to("reservations/add")) == 1
    harness.write_inventory(
        seaside("1001", reservations=[reservation("OTA-1", 5, status="cancelled")])
    )
    cancelled = await harness.run("reservations")
    assert cancelled.ok
    assert cancelled.counts["cancelled"] == 1
    assert harness.site_bookings(uid)[0]["status"]["status_code"] == 6
    harness.sandbox.journal.clear()
    assert (await harness.run("reservations")).ok
    assert harness.writes() == []


async def test_lost_answer_after_processing_gives_exactly_one_booking(harness: Harness) -> None:
    """A connection reset after the site booked it: the intent resolves via booking/link."""
    uid = await _property(harness, reservation("OTA-2", 5))
    harness.sandbox.faults.reset_next(path="reservations/add", after_processing=True)
    failed = await harness.run("reservations")
    assert failed.counts["failed"] == 1
    record = await harness.state.get_reservation("OTA-2")
    assert record is not None
    assert record.status == "intent"
    harness.clock.advance(61)
    resolved = await harness.run("reservations")
    assert resolved.ok
    assert resolved.counts["adopted"] == 1
    assert len(harness.site_bookings(uid)) == 1
    assert len(harness.writes_to("reservations/add")) == 1


async def test_state_loss_never_pushes_twice(harness: Harness) -> None:
    """Without state the job asks booking/link first and finds the booking: zero writes."""
    uid = await _property(harness, reservation("OTA-3", 5))
    assert (await harness.run("reservations")).ok
    await harness.restart(lose_state=True)
    harness.sandbox.journal.clear()
    result = await harness.run("reservations")
    assert result.ok
    assert result.counts["adopted"] == 1
    assert harness.writes() == []
    assert len(harness.site_bookings(uid)) == 1


async def test_cancelled_never_pushed_sends_nothing_and_is_remembered(harness: Harness) -> None:
    """A reservation cancelled before it was ever pushed: no write now, no question next cycle."""
    await _property(harness, reservation("OTA-4", 5, status="cancelled"))
    result = await harness.run("reservations")
    assert result.ok
    assert result.counts["never_pushed"] == 1
    assert harness.writes() == []
    harness.sandbox.journal.clear()
    assert (await harness.run("reservations")).ok
    assert harness.sandbox.journal.matching(path="booking/link") == []


async def test_cancel_after_state_loss_asks_booking_link(harness: Harness) -> None:
    """A pushed reservation cancelled while state was lost is still cancelled, exactly once."""
    uid = await _property(harness, reservation("OTA-5", 5))
    assert (await harness.run("reservations")).ok
    await harness.restart(lose_state=True)
    harness.write_inventory(
        seaside("1001", reservations=[reservation("OTA-5", 5, status="cancelled")])
    )
    result = await harness.run("reservations")
    assert result.ok
    assert result.counts["cancelled"] == 1
    assert harness.site_bookings(uid)[0]["status"]["status_code"] == 6
    assert len(harness.writes_to("reservations/cancel")) == 1
