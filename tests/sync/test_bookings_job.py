"""The bookings job against the sandbox: site bookings reach the sink once per revision."""

from __future__ import annotations

from datetime import timedelta

from tests.sync.support import Harness, day, seaside


async def _property(harness: Harness) -> int:
    harness.write_inventory(seaside("1001"))
    assert (await harness.run("properties")).ok
    assert (await harness.run("reservations")).ok  # one booking of our own on the site
    return harness.context.owned.items()[0][0]


async def test_site_bookings_are_delivered_once_and_own_pushes_never(harness: Harness) -> None:
    """A site booking is one line; re-runs add nothing; the channel's own push is skipped."""
    uid = await _property(harness)
    harness.sandbox.store.book_on_site(uid, day(60), day(61), firstname="Rui")
    result = await harness.run("bookings")
    assert result.ok
    assert result.counts["delivered"] == 1
    assert result.counts["own"] == 1
    [line] = harness.delivered()
    assert line["event"] == "created"
    assert line["property_remote_uid"] == "1001"
    assert line["channel"] == "acme"
    assert line["site"] == harness.settings.base_url
    booking = line["booking"]
    assert booking["guest_data"]["firstname"] == "Rui"
    assert "mapping" not in booking
    assert line["revision"] == f"{booking['booking_id']}:{booking['last_modified']}"
    assert (await harness.run("bookings")).ok
    assert len(harness.delivered()) == 1


async def test_new_revisions_are_modified_then_cancelled(harness: Harness) -> None:
    """Each change of a site booking yields one more line with the right event."""
    uid = await _property(harness)
    booking = harness.sandbox.store.book_on_site(uid, day(60), day(61))
    await harness.run("bookings")
    harness.sandbox.store.modify_site_booking(booking["booking_id"], total="300.00")
    await harness.run("bookings")
    harness.sandbox.store.cancel_site_booking(booking["booking_id"])
    await harness.run("bookings")
    assert [line["event"] for line in harness.delivered()] == ["created", "modified", "cancelled"]
    assert len({line["revision"] for line in harness.delivered()}) == 3


async def test_no_duplicates_across_restart_and_state_loss(harness: Harness) -> None:
    """Reopening the sink and losing the state directory re-offer bookings but add no line."""
    uid = await _property(harness)
    harness.sandbox.store.book_on_site(uid, day(60), day(61))
    await harness.run("bookings")
    await harness.restart()
    assert (await harness.run("bookings")).ok
    await harness.restart(lose_state=True)
    result = await harness.run("bookings")
    assert result.ok
    assert result.counts["delivered"] == 0
    assert len(harness.delivered()) == 1


async def test_change_log_limits_the_reads(harness: Harness) -> None:
    """After the first read, a property is read again only when the change log shows news."""
    uid = await _property(harness)
    assert (await harness.run("bookings")).ok
    harness.sandbox.journal.clear()
    assert (await harness.run("bookings")).ok
    assert harness.sandbox.journal.matching(path="list/bookings") == []
    harness.sandbox.store.book_on_site(uid, day(70), day(71))
    assert (await harness.run("bookings")).counts["delivered"] == 1
    assert len(harness.sandbox.journal.matching(path="list/bookings")) == 1


async def test_property_without_bookings_is_listed_once_a_day(harness: Harness) -> None:
    """A property with no booking at all (no cursor) is not listed again on the same day."""
    harness.write_inventory(seaside("1001", reservations=[]))
    assert (await harness.run("properties")).ok
    assert (await harness.run("bookings")).ok
    assert len(harness.sandbox.journal.matching(path="list/bookings")) == 1
    harness.sandbox.journal.clear()
    assert (await harness.run("bookings")).ok
    assert harness.sandbox.journal.matching(path="list/bookings") == []
    harness.today += timedelta(days=1)
    assert (await harness.run("bookings")).ok
    assert len(harness.sandbox.journal.matching(path="list/bookings")) == 1
