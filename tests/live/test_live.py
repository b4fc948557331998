"""The live contract suite: the worker as a subprocess against a real engine (``make live``).

`check`; two `sync --once` runs reach the inventory's end state (cancellations included); a
restart sends no write; a SIGKILL between `reservations/add` and its answer books once (with and
without the state directory); a lost state directory converges; bookings made on the hotel's site
reach the bookings file once each; a pruned room leaves the property bookable. Skipped, with one
line, without ``BOOKYFLOW_LIVE_URL`` and its credentials (``conftest``).
"""

from __future__ import annotations

import asyncio
import json
import signal
import urllib.parse
from datetime import timedelta

import pytest

from tests.live.checks import assert_end_state, assert_reservations, pushes
from tests.live.conftest import LiveSite
from tests.live.inventory import SITE_BOOKING, Stay, legacy_push_form, reservation_of

pytestmark = [pytest.mark.live, pytest.mark.timeout(900)]

# A property that cannot be complete yet (no address, no main image) may be reviewed again on a
# restart (issue 9 allows it; issue 10 bounds it). Every other write of a restart is a resend.
REVIEW = "PUT cmf/property/status/review"


async def test_check_exits_zero(live_site: LiveSite) -> None:
    """`check` gets a token, announces the channel and reports the inventory valid (exit 0)."""
    run = await live_site.run("check")
    report = "\n".join(run.stdout)
    assert live_site.channel in report
    assert "valid, 3 properties" in report, report
    assert all(route.startswith("POST cmf/channel/announce/") for route in run.writes), run.writes


async def test_check_with_a_wrong_secret_exits_78(live_site: LiveSite) -> None:
    """The engine's `invalid_client` (a PHP notice after its JSON) is refused credentials: 78."""
    live_site.extra_env["BOOKYFLOW_CLIENT_SECRET"] = "not-the-secret"
    run = await live_site.run("check", expect=78)
    assert not run.writes, run.writes


async def test_two_syncs_reach_the_inventory_end_state(live_site: LiveSite) -> None:
    """Two `sync --once` runs leave exactly the inventory on the engine; a cancellation lands."""
    await live_site.sync_once()
    await live_site.sync_once()
    owned = await assert_end_state(live_site)
    pushed = await assert_reservations(live_site, owned)
    assert live_site.bookings_lines() == []  # no black booking, no push of our own
    live_site.set_reservation_status("BK-2027-0002", "cancelled")
    await live_site.sync_once()
    # The engine casts text ids to 0: a careless cancel would take BK-2027-0001 and -0004 too.
    after = await assert_reservations(live_site, owned, cancelled_after_push={"BK-2027-0002"})
    assert live_site.bookings_lines() == []  # a cancelled push looks like a site booking now
    live_site.note(f"pushed bookings on the engine: {pushed} live, then {after} (one cancelled)")
    # `PUT prices` resets the minimum stays of the nights it prices: a new summer price must
    # leave the summer's minimum stay of 2 in place.
    live_site.property("1001")["rates"][1]["price"] = "165.00"
    live_site.write_inventory()
    repriced = await live_site.sync_once()
    await assert_end_state(live_site)
    live_site.note(f"repriced: {repriced.writes}")


async def test_restart_sends_no_writes(live_site: LiveSite) -> None:
    """A third `sync --once` on the same state sends no write but the pending review."""
    # The engine stores every room as 2 guests: a room of 4 must not be re-sent every run.
    live_site.property("1001")["rooms"][0]["max_people"] = 4
    live_site.write_inventory()
    await live_site.sync_once()
    await live_site.settle()
    restart = await live_site.sync_once()
    resent = {route: n for route, n in restart.writes.items() if route != REVIEW}
    assert resent == {}, restart.figures()
    live_site.note(f"restart: {restart.writes.get(REVIEW, 0)} reviews, logged writes "
                   f"{restart.logged_writes()}")  # fmt: skip


# Writes that would duplicate something on the engine if repeated for what already exists.
CREATES = ("POST cmf/property", "PUT cmf/reservations/add", "PUT cmf/property/blackbooking")


@pytest.mark.parametrize("lose_state", [False, True], ids=["restart", "restart_without_state"])
async def test_sigkill_after_reservations_add_leaves_one_booking(
    live_site: LiveSite, lose_state: bool
) -> None:
    """A worker killed once its first `reservations/add` was applied, unanswered, books once."""
    applied = live_site.proxy.hang_after("PUT", "/cmf/reservations/add")
    killed = await live_site.kill_on(applied, "run", timeout_s=600)
    assert applied.is_set(), ("the worker never sent reservations/add", killed.problems())
    assert killed.code == -signal.SIGKILL
    held = next(s for s in killed.seen if s.held)
    in_flight = sum(s.status == 0 for s in killed.seen)
    live_site.note(f"killed with {in_flight} more requests in flight; the held add: "
                   f"{urllib.parse.unquote_plus(held.body)[:200]!r}")  # fmt: skip
    if lose_state:  # the intent written before the add is gone too
        live_site.delete_state()
    await live_site.sync_once()
    await live_site.sync_once()
    owned = await assert_end_state(live_site)
    pushed = await assert_reservations(live_site, owned)
    assert live_site.bookings_lines() == []
    live_site.note(f"pushed bookings on the engine after the restart: {pushed}")


def _without_link_ids(body: bytes) -> bytes:
    """A `reservations/add` answer as the engine gives it when its own `booking/link` call inside
    the add failed (its logger's HTTP 500): success, but a `link` without `link_id` and
    `contract_uid` (and no link row: see the live suite's report)."""
    answer = json.loads(body)
    for booking in answer["data"]["response"]["successful_bookings"].values():
        for key in ("link_id", "contract_uid"):
            booking["link"].pop(key, None)
    return json.dumps(answer).encode()


async def test_a_push_answered_without_its_link_ids_is_booked_once(live_site: LiveSite) -> None:
    """A successful `reservations/add` whose `link` lacks `contract_uid` fails no run."""
    rewritten = live_site.proxy.rewrite_after("PUT", "/cmf/reservations/add", _without_link_ids)
    first = await live_site.sync_once()
    assert rewritten.is_set(), first.figures()
    await live_site.sync_once()
    owned = await assert_end_state(live_site)
    pushed = await assert_reservations(live_site, owned)
    live_site.note(f"pushed with one answer rewritten: {pushed}")


async def test_lost_state_directory_converges(live_site: LiveSite) -> None:
    """After `rm -rf state`, two runs fail nothing and leave the same end state, no duplicate."""
    await live_site.sync_once()
    await live_site.sync_once()
    live_site.set_reservation_status("BK-2027-0002", "cancelled")
    await live_site.sync_once()  # a cancelled push: no mapping left to recognise it by
    live_site.delete_state()
    recovery = [await live_site.sync_once(), await live_site.sync_once()]
    for run in recovery:
        assert not run.events("property.failed"), run.problems()
    recreated = {r: n for run in recovery for r, n in run.writes.items() if r in CREATES}
    assert recreated == {}, [run.figures() for run in recovery]
    owned = await assert_end_state(live_site)
    pushed = await assert_reservations(live_site, owned, cancelled_after_push={"BK-2027-0002"})
    assert live_site.bookings_lines() == []
    live_site.note(f"pushed bookings on the engine after the recovery: {pushed}")


async def _room_uid(live_site: LiveSite, property_uid: int, remote_id: str) -> int:
    room = next(
        r
        for prop in live_site.document["properties"]
        for r in prop["rooms"]
        if r["remote_id"] == remote_id
    )
    for candidate in await live_site.reader.rooms(property_uid):
        if candidate["room_name"] == room["name"]:
            return int(candidate["room_uid"])
    raise AssertionError(f"room {remote_id} is not on the engine")


async def test_site_booking_revisions_reach_the_file_once(live_site: LiveSite) -> None:
    """A site booking and its cancellation are two lines; closures and pushes are none."""
    live_site.scripts("site_booking.php")
    live_site.scripts("site_cancel.php")
    await live_site.sync_once()
    owned = await live_site.owned()
    remote, room_remote_id, offset, count = SITE_BOOKING
    uid = owned[remote]
    first = live_site.today + timedelta(days=offset)
    last = first + timedelta(days=count - 1)
    room_uid = await _room_uid(live_site, uid, room_remote_id)
    made = await live_site.php(
        "site_booking.php", str(uid), str(room_uid), str(first), str(last), "240.00"
    )
    assert made["insertSuccessful"], made
    contract = int(made["contract_uid"])
    await live_site.sync_once("--job", "bookings")
    lines = live_site.bookings_lines()
    assert [(int(line["booking"]["booking_id"]), line["event"]) for line in lines] == [
        (contract, "created")
    ], lines
    await asyncio.sleep(1.2)  # `last_modified` has whole seconds: the cancellation is a new one
    cancelled = await live_site.php("site_cancel.php", str(uid), str(contract))
    assert cancelled["cancel_booking"], cancelled
    live_site.set_reservation_status("BK-2027-0001", "cancelled")  # a push loses its mapping
    await live_site.sync_once()
    await live_site.sync_once()
    lines = live_site.bookings_lines()
    assert [(int(line["booking"]["booking_id"]), line["event"]) for line in lines] == [
        (contract, "created"),
        (contract, "cancelled"),
    ], lines
    assert len({line["revision"] for line in lines}) == 2
    engine = [b for bookings in (await pushes(live_site, owned)).values() for b in bookings]
    all_bookings = [b for u in owned.values() for b in await live_site.reader.bookings(u)]
    live_site.note(
        f"bookings on the engine: {len(all_bookings)} ({len(engine)} pushes, "
        f"{sum(b['referrer'] == 'Jomres' for b in all_bookings)} black, 1 site); "
        f"bookings file: {len(lines)} lines"
    )


async def test_a_room_pruned_from_a_property_leaves_it_bookable(live_site: LiveSite) -> None:
    """With pruning, a room the vendor drops is deleted and later reservations still book."""
    live_site.extra_env["BOOKYFLOW_PRUNE"] = "true"
    hotel = live_site.property("1001")
    hotel["closures"], hotel["reservations"] = [], []  # the engine deletes rooms only then
    spare = {**hotel["rooms"][0], "remote_id": "1001-C", "name": "Spare double", "number": "3"}
    hotel["rooms"].append(spare)
    live_site.write_inventory()
    await live_site.sync_once()
    hotel["rooms"].remove(spare)
    live_site.write_inventory()
    pruned = await live_site.sync_once()
    assert pruned.writes.get("DELETE cmf/property/room/@/@") == 1, pruned.figures()
    stay = Stay("1001", "BK-2027-0005", "confirmed", 3, 90, 2, "Later")
    hotel["reservations"].append(reservation_of(stay, live_site.today))
    live_site.write_inventory()
    booked = await live_site.sync_once()
    # The engine's DELETE room drops the channel's room map of the whole property: until a
    # room is PUT again, its calendar answers 400 and every reservation "No rooms available".
    assert not booked.events("reservation.rejected"), booked.problems()
    owned = await live_site.owned()
    pushed = await assert_reservations(live_site, owned)
    await assert_end_state(live_site)
    live_site.note(f"pushed after the room was pruned: {pushed}")


async def _pushed_by_an_earlier_version(live_site: LiveSite) -> dict[str, int]:
    """Properties by this worker, then the hotel's reservations pushed under their OTA ids (as
    the worker did before it pushed numeric ids of its own), then the inventory with them."""
    hotel = live_site.property("1001")
    stays, hotel["reservations"] = hotel["reservations"], []
    live_site.write_inventory()
    await live_site.sync_once()
    owned = await live_site.owned()
    for reservation in stays:
        if reservation["status"] == "confirmed":
            form = legacy_push_form(reservation, owned["1001"])
            answer = await live_site.reader.put("cmf/reservations/add", form)
            assert reservation["id"] in answer["successful_bookings"], answer
    hotel["reservations"] = stays
    live_site.write_inventory()
    return owned


async def test_pushes_under_ota_ids_are_recognised(live_site: LiveSite) -> None:
    """Reservations an earlier version pushed under their text OTA ids are not pushed again."""
    owned = await _pushed_by_an_earlier_version(live_site)
    upgraded = await live_site.sync_once()
    await live_site.sync_once()
    assert "PUT cmf/reservations/add" not in upgraded.writes, upgraded.figures()
    pushed = await assert_reservations(live_site, owned)
    live_site.note(f"after the upgrade: {pushed} pushes on the engine, none new")


async def test_a_push_under_an_ota_id_is_cancelled_alone(live_site: LiveSite) -> None:
    """Cancelling one text-id push of an earlier version leaves the other text-id push live."""
    owned = await _pushed_by_an_earlier_version(live_site)
    await live_site.sync_once()
    live_site.set_reservation_status("BK-2027-0002", "cancelled")
    cancel = await live_site.sync_once()
    await live_site.sync_once()
    live_site.note(f"cancel run: {cancel.figures()}; held: {cancel.problems()}")
    # `reservations/cancel` with a text id would cancel BK-2027-0001 too (the engine casts ids
    # to 0); `PUT booking/link` can first move the booking to a numeric id of the worker's own.
    await assert_reservations(live_site, owned, cancelled_after_push={"BK-2027-0002"})
