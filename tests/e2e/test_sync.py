"""A full `sync --once` reaches the inventory's end state; a restart changes nothing."""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from tests.chaos.invariants import remote_id_of
from tests.e2e.conftest import (
    CHANNEL,
    Site,
    Spawn,
    WorkerProcess,
    assert_json_lines,
    assert_no_secrets,
)
from worker.sync.reservation_plan import site_reservation_id

WRITES = ("POST", "PUT", "DELETE")


def properties(site: Site) -> dict[str, dict[str, Any]]:
    return {
        str(prop["remote_uid"]): prop for prop in site.sandbox.store.properties_of("demo", CHANNEL)
    }


def writes(site: Site) -> list[str]:
    return [
        f"{entry.method} {entry.path.split('/api/')[1]}"
        for entry in site.sandbox.journal.entries
        if entry.method in WRITES and "oauth/token" not in entry.path
        and "channel/announce" not in entry.path
    ]  # fmt: skip


def pushed_reservations(site: Site, property_uid: int) -> list[str]:
    """Remote ids of the channel's pushes to the property (the worker's numeric site ids)."""
    return [
        remote
        for booking in site.sandbox.store.bookings(property_uid)
        if (remote := remote_id_of(booking))
    ]


async def sync_once(spawn: Spawn, *args: str) -> WorkerProcess:
    worker = await spawn("sync", "--once", *args)
    assert await worker.wait() == 0, worker.stdout[-5:]
    assert_json_lines(worker)
    return worker


async def test_full_sync_reaches_the_inventory_end_state(site: Site, spawn: Spawn) -> None:
    """Properties, rooms, prices, minimum stays, closures and reservations all land on the site."""
    worker = await sync_once(spawn)
    props = properties(site)
    assert sorted(props) == ["1001", "2001", "3001"]
    assert [len(props[uid]["rooms"]) for uid in ("1001", "2001", "3001")] == [2, 1, 1]
    # the villa has no address and no main image in the example: the site keeps it unpublished
    live = {uid for uid, prop in props.items() if prop["published"] in (True, 1, "1")}
    assert live == {"1001", "2001"}
    assert "property.incomplete" in worker.events()
    hotel = int(props["1001"]["property_uid"])
    calendar = site.sandbox.store.calendar(hotel, "2026-12-10", "2026-12-21")
    assert float(calendar["2026-12-10"]["price"]) == 120.0
    assert calendar["2026-12-21"]["minstay"] == 3
    assert calendar["2026-12-10"]["minstay"] == 1
    assert len(site.sandbox.store.blackbookings(hotel)) == 2
    # the cancelled one never went
    assert pushed_reservations(site, hotel) == [site_reservation_id("OTA-778812")]
    assert "job.finished" in worker.events()
    assert_no_secrets(site, worker)


async def test_restart_sends_no_duplicate_and_no_unchanged_writes(site: Site, spawn: Spawn) -> None:
    """A second run with the same state writes nothing: no creates, prices, closures or pushes."""
    first = await sync_once(spawn)
    before = len(site.sandbox.journal.entries)
    second = await sync_once(spawn)
    site.sandbox.journal.entries[:before] = []
    assert writes(site) == []
    assert len(properties(site)) == 3
    assert_no_secrets(site, first, second)


async def test_site_bookings_reach_the_sink_once(site: Site, spawn: Spawn) -> None:
    """A guest's booking on the hotel site is appended to the bookings file exactly once."""
    await sync_once(spawn)
    hotel = int(properties(site)["1001"]["property_uid"])
    first = date(2027, 4, 10)
    booking = site.sandbox.store.book_on_site(hotel, first.isoformat(), "2027-04-12")
    await sync_once(spawn, "--job", "bookings")
    await sync_once(spawn, "--job", "bookings")
    lines = (site.state_dir / "bookings.jsonl").read_text().splitlines()
    assert [json.loads(line)["booking"]["booking_id"] for line in lines] == [booking["booking_id"]]
