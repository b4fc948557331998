"""The reservations job against the sandbox: pushed once, cancelled once, across crashes too."""

from __future__ import annotations

import json

from structlog.testing import capture_logs

from tests.sync.support import Harness, reservation, seaside
from worker.inventory.models import Reservation as VendorReservation
from worker.sync.reservation_plan import site_reservation_id, to_api


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
    """A connection reset after the site booked it: the property is tried again within the run
    (seconds later), the intent is resolved from the site's bookings, and nothing is re-sent."""
    uid = await _property(harness, reservation("OTA-2", 5))
    harness.sandbox.faults.reset_next(path="reservations/add", after_processing=True)
    harness.clock.auto_advance = True  # the in-run retry waits a few (fake) seconds
    result = await harness.run("reservations")
    assert result.ok, result.errors
    assert result.counts["adopted"] == 1
    record = await harness.state.get_reservation("OTA-2")
    assert record is not None
    assert record.status == "pushed"
    assert len(harness.site_bookings(uid)) == 1
    assert len(harness.writes_to("reservations/add")) == 1


async def test_state_loss_never_pushes_twice(harness: Harness) -> None:
    """Without state the job reads the property's bookings first and finds it: zero writes."""
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


async def test_cancel_after_state_loss_finds_the_push(harness: Harness) -> None:
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


async def _push_as_earlier_version(harness: Harness, uid: int, rid: str, start: int = 5) -> None:
    """What the worker before site ids did: push under the OTA id itself and record it."""
    vendor = VendorReservation.model_validate(reservation(rid, start))
    outcome = await harness.context.cmf.add_reservations([to_api(uid, vendor, site_id=rid)])
    assert rid in outcome.successful_bookings, outcome
    link = outcome.successful_bookings[rid].link
    assert link is not None
    assert link.contract_uid is not None
    await harness.state.record_reservation(rid, uid, "pushed", booking_ids=(link.contract_uid,))


async def test_reservations_go_out_under_numeric_site_ids(harness: Harness) -> None:
    """The OTA id stays in comments; the site only ever sees the worker's numeric id."""
    uid = await _property(harness, reservation("BK-2027-0001", 5))
    assert (await harness.run("reservations")).ok
    [add] = harness.writes_to("reservations/add")
    [item] = json.loads(add.form["reservations"])["reservations"]
    assert item["remote_reservation_id"] == site_reservation_id("BK-2027-0001")
    assert "BK-2027-0001" in item["comments"]
    assert item["stay_infos"][0]["room_type_name"] == ""
    record = await harness.state.get_reservation("BK-2027-0001")
    assert record is not None
    assert record.site_id == site_reservation_id("BK-2027-0001")
    assert len(harness.site_bookings(uid)) == 1


async def test_an_earlier_versions_push_is_not_pushed_again(harness: Harness) -> None:
    """A reservation pushed under its OTA id before the upgrade: nothing sent, with or
    without state (the booking carries the OTA id as its remote id)."""
    uid = await _property(harness, reservation("BK-2027-0002", 5))
    await _push_as_earlier_version(harness, uid, "BK-2027-0002")
    harness.sandbox.journal.clear()
    assert (await harness.run("reservations")).ok
    assert harness.writes() == []
    await harness.restart(lose_state=True)
    result = await harness.run("reservations")
    assert result.counts["adopted"] == 1
    assert harness.writes() == []
    assert len(harness.site_bookings(uid)) == 1


async def _two_text_id_pushes_one_cancelled(harness: Harness) -> int:
    uid = await _property(harness, reservation("BK-2027-0003", 5), reservation("BK-2027-0004", 60))
    await _push_as_earlier_version(harness, uid, "BK-2027-0003")
    await _push_as_earlier_version(harness, uid, "BK-2027-0004", 60)
    harness.write_inventory(
        seaside(
            "1001",
            reservations=[
                reservation("BK-2027-0003", 5, status="cancelled"),
                reservation("BK-2027-0004", 60),
            ],
        )
    )
    harness.sandbox.journal.clear()
    return uid


async def test_a_text_id_push_is_moved_to_its_site_id_then_cancelled_alone(
    harness: Harness,
) -> None:
    """Cancelling a text id cancels every text-id booking on the real engine: the push is first
    linked to its numeric site id, then cancelled by that, and the other booking stays live."""
    uid = await _two_text_id_pushes_one_cancelled(harness)
    result = await harness.run("reservations")
    assert result.counts["cancelled"] == 1
    [link] = harness.writes_to("booking/link")
    assert link.form["remote_booking_id"] == site_reservation_id("BK-2027-0003")
    [cancel] = harness.writes_to("reservations/cancel")
    assert json.loads(cancel.form["reservation_ids"]) == [site_reservation_id("BK-2027-0003")]
    status = {b["booking_number"]: b["status"]["status_code"] for b in harness.site_bookings(uid)}
    assert status["BK-2027-0003"] == 6
    assert status["BK-2027-0004"] != 6


async def test_a_text_id_push_that_cannot_be_moved_is_held_not_cancelled_by_id(
    harness: Harness,
) -> None:
    """Without the site's booking id the push cannot be moved: it is held and said once."""
    uid = await _two_text_id_pushes_one_cancelled(harness)
    record = await harness.state.get_reservation("BK-2027-0003")
    assert record is not None
    await harness.state.record_reservation("BK-2027-0003", uid, "pushed")  # no booking ids
    with capture_logs() as logs:
        first = await harness.run("reservations")
        second = await harness.run("reservations")
    assert first.counts["held"] == second.counts["held"] == 1
    assert harness.writes_to("reservations/cancel") == []
    assert [e["event"] for e in logs].count("reservation.cancel_unsafe") == 1
    assert [b["status"]["status_code"] for b in harness.site_bookings(uid)].count(6) == 0


async def test_a_push_cancelled_on_the_site_is_not_pushed_again_after_state_loss(
    harness: Harness,
) -> None:
    """A cancelled push loses its link on the real engine; its booking number still names it."""
    uid = await _property(harness, reservation("BK-2027-0005", 5))
    assert (await harness.run("reservations")).ok
    [booking] = harness.site_bookings(uid)
    harness.sandbox.store.cancel_site_booking(int(booking["booking_id"]))
    await harness.restart(lose_state=True)
    harness.sandbox.journal.clear()
    result = await harness.run("reservations")
    assert result.counts["cancelled_on_site"] == 1
    assert harness.writes_to("reservations/add") == []
    assert len(harness.site_bookings(uid)) == 1


async def test_a_push_that_lost_its_link_row_is_relinked_and_cancelled(harness: Harness) -> None:
    """The engine's inner link write can fail (its logger's 500): the booking exists without
    its link row, so a cancel finds nothing. The worker finds it by number, relinks, cancels."""
    uid = await _property(harness, reservation("BK-2027-0007", 5))
    assert (await harness.run("reservations")).counts["pushed"] == 1
    [listed] = harness.site_bookings(uid)
    stored = harness.sandbox.store.records.bookings[int(listed["booking_id"])]
    stored.link_id, stored.link_remote_id = 0, None  # what the engine's failed write leaves
    harness.write_inventory(
        seaside("1001", reservations=[reservation("BK-2027-0007", 5, status="cancelled")])
    )
    harness.sandbox.journal.clear()
    result = await harness.run("reservations")
    assert result.counts["cancelled"] == 1
    assert [e.path.rsplit("/", 2)[-2:] for e in harness.writes()] == [
        ["reservations", "cancel"],
        ["booking", "link"],
        ["reservations", "cancel"],
    ]
    assert harness.site_bookings(uid)[0]["status"]["status_code"] == 6
