"""The bookings job against the sandbox: site bookings reach the sink once per revision."""

from __future__ import annotations

from datetime import timedelta

from structlog.testing import capture_logs

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


def _step_back(harness: Harness, booking_id: int, stamp: str) -> None:
    """The site's clock stepped back (or its transaction committed late): an older stamp."""
    harness.sandbox.store.records.bookings[booking_id].last_modified = stamp


def _drop_from_site(harness: Harness, uid: int, booking_id: int) -> None:
    """The site stops listing a booking (purged by the hotel)."""
    records = harness.sandbox.store.records
    del records.bookings[booking_id]
    del records._by_property[uid][booking_id]


async def test_a_lone_surrogate_is_replaced_and_flagged_while_the_others_flow(
    harness: Harness,
) -> None:
    """A guest name with a lone surrogate (a JSON ``\\ud800`` escape) is delivered with U+FFFD
    and ``flags``; the property's other booking is delivered beside it, the run is ok."""
    uid = await _property(harness)
    poisoned = harness.sandbox.store.book_on_site(uid, day(60), day(61), firstname="Jo\ud800se")
    harness.sandbox.store.book_on_site(uid, day(62), day(63), firstname="Rui")
    with capture_logs() as logs:
        result = await harness.run("bookings")
    assert result.ok, result.errors
    assert result.counts["delivered"] == 2
    assert result.counts["flagged"] == 1
    by_name = {line["booking"]["guest_data"]["firstname"]: line for line in harness.delivered()}
    assert set(by_name) == {"Jo\ufffdse", "Rui"}
    assert by_name["Jo\ufffdse"]["flags"] == ["replaced_characters"]
    assert by_name["Jo\ufffdse"]["booking"]["booking_id"] == poisoned["booking_id"]
    assert "flags" not in by_name["Rui"]
    [flagged] = [entry for entry in logs if entry["event"] == "booking.characters_replaced"]
    assert flagged["fields"] == ["guest_data.firstname"]
    assert "Jo" not in str(flagged)  # the guest's name stays out of the logs


async def test_an_unparsable_booking_is_parked_once_and_the_others_flow(harness: Harness) -> None:
    """A booking the client cannot parse is parked (one warning, counted as held) while the
    property's other bookings are delivered; once the hotel fixes it, it is delivered."""
    uid = await _property(harness)
    bad = harness.sandbox.store.book_on_site(uid, day(60), day(61))
    harness.sandbox.store.records.bookings[bad["booking_id"]].booking_total = "two hundred"
    harness.sandbox.store.book_on_site(uid, day(62), day(63), firstname="Rui")
    with capture_logs() as logs:
        result = await harness.run("bookings")
    assert result.ok, result.errors
    assert result.counts["delivered"] == 1
    assert result.counts["parked"] == 1
    assert result.counts["held"] == 1
    [parked] = [entry for entry in logs if entry["event"] == "booking.parked"]
    assert parked["booking_id"] == bad["booking_id"]
    assert parked["log_level"] == "warning"
    assert "booking_total" in parked["reason"]
    harness.today += timedelta(days=1)  # read again: parked once, not again
    with capture_logs() as logs:
        again = await harness.run("bookings")
    assert again.ok
    assert again.counts["held"] == 1
    assert [entry for entry in logs if entry["event"] == "booking.parked"] == []
    harness.sandbox.store.modify_site_booking(bad["booking_id"], total="210.00")
    fixed = await harness.run("bookings")
    assert fixed.counts["delivered"] == 1
    assert fixed.counts["held"] == 0
    events = {line["booking"]["booking_id"]: line["event"] for line in harness.delivered()}
    assert events[bad["booking_id"]] == "created"


async def test_a_booking_older_than_the_newest_one_is_still_delivered(harness: Harness) -> None:
    """Bookings are pulled by each booking's last revision: a new booking stamped before the
    newest one delivered (site clock stepped back) and a cancellation stamped in the past both
    reach the sink."""
    uid = await _property(harness)
    early = harness.sandbox.store.book_on_site(uid, day(60), day(61))
    await harness.run("bookings")
    late = harness.sandbox.store.book_on_site(uid, day(62), day(63))
    _step_back(harness, late["booking_id"], "2001-01-01 00:00:00")
    assert (await harness.run("bookings")).counts["delivered"] == 1
    harness.sandbox.store.cancel_site_booking(early["booking_id"])
    _step_back(harness, early["booking_id"], "2001-01-01 00:00:01")
    assert (await harness.run("bookings")).counts["delivered"] == 1
    events = [(line["booking"]["booking_id"], line["event"]) for line in harness.delivered()]
    assert events == [
        (early["booking_id"], "created"),
        (late["booking_id"], "created"),
        (early["booking_id"], "cancelled"),
    ]


async def test_revisions_are_forgotten_when_bookings_leave_the_list(harness: Harness) -> None:
    """State keeps one revision per booking the site lists: 50 bookings booked and purged one
    after another leave one row, not fifty."""
    uid = await _property(harness)
    for offset in range(50):
        booking = harness.sandbox.store.book_on_site(
            uid, day(60 + 2 * offset), day(61 + 2 * offset)
        )
        assert (await harness.run("bookings")).counts["delivered"] == 1
        _drop_from_site(harness, uid, booking["booking_id"])
        harness.today += timedelta(days=1)  # the daily read sees it gone
    await harness.run("bookings")
    assert await harness.state.booking_revisions(uid) == {}
    assert len(harness.delivered()) == 50
