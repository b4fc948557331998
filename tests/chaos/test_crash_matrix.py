"""SIGKILL at each write step, then a restart: nothing duplicated, no write or booking lost.

The sandbox's journal hears of a request after the site applied it and before the answer goes
out; ``tests.e2e.test_crash.kill_after`` kills the worker right there, so it dies not knowing
whether its write happened. The property POST and ``reservations/add`` steps are in
``tests/e2e/test_crash.py``; this file covers every other write, and the sink append.
After the restart (``sync --once``) the site must equal the inventory, with no duplicate, and
the bookings file must hold every site booking's revision exactly once.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.chaos.invariants import no_duplicates, server_matches_inventory, site_bookings_once
from tests.e2e.conftest import CHANNEL, Site, Spawn
from tests.e2e.test_crash import kill_after

Document = dict[str, Any]


def read_inventory(site: Site) -> Document:
    document: Document = json.loads(site.inventory.read_text())
    return document


def write_inventory(site: Site, edit: Callable[[Document], None]) -> None:
    document = read_inventory(site)
    edit(document)
    site.inventory.write_text(json.dumps(document))


def assert_site_equals_inventory(site: Site) -> None:
    store, today = site.sandbox.store, datetime.now(UTC).date()
    verdicts = [
        server_matches_inventory(store, "demo", CHANNEL, read_inventory(site), today),
        no_duplicates(store, "demo", CHANNEL),
        site_bookings_once(store, "demo", CHANNEL, site.state_dir / "bookings.jsonl"),
    ]
    assert [v.detail for v in verdicts if not v.ok] == []


async def sync_once(spawn: Spawn, *args: str) -> None:
    worker = await spawn("sync", "--once", *args)
    assert await worker.wait() == 0, worker.stdout[-5:]


async def killed_sync(site: Site, spawn: Spawn, method: str, path_end: str) -> None:
    """A ``sync --once`` that the site kills right after applying ``method ...path_end``."""
    pid_box: list[int] = []
    kill_after(site, pid_box, method, path_end)
    worker = await spawn("sync", "--once")
    pid_box.append(worker.proc.pid)
    assert await worker.wait() == -signal.SIGKILL, "the step never ran: the test proves nothing"


def _hotel_uid(site: Site) -> int:
    props = site.sandbox.store.properties_of("demo", CHANNEL)
    return int(next(p for p in props if str(p["remote_uid"]) == "1001")["property_uid"])


@pytest.mark.parametrize(
    ("method", "path_end"),
    [
        ("PUT", "/cmf/property/room"),
        ("PUT", "/cmf/property/base/price"),
        ("PUT", "/cmf/property/prices"),
        ("PUT", "/cmf/property/minstays"),
        ("PUT", "/cmf/property/blackbooking"),
        ("PUT", "/cmf/property/publish"),
    ],
)
async def test_kill_after_a_first_sync_write(
    site: Site, spawn: Spawn, method: str, path_end: str
) -> None:
    """Killed right after this write of the first sync, a restart converges with no duplicate."""
    await killed_sync(site, spawn, method, path_end)
    await sync_once(spawn)
    assert_site_equals_inventory(site)


async def test_kill_after_blackbooking_delete(site: Site, spawn: Spawn) -> None:
    """A closure reopened just before a SIGKILL stays reopened, and none is deleted twice."""
    await sync_once(spawn)
    write_inventory(site, lambda doc: doc["properties"][0]["closures"].pop(0))
    hotel = _hotel_uid(site)
    await killed_sync(site, spawn, "DELETE", "")
    await sync_once(spawn)
    assert_site_equals_inventory(site)
    assert len(site.sandbox.store.blackbookings(hotel)) == 1


async def test_kill_after_reservation_cancel(site: Site, spawn: Spawn) -> None:
    """A reservation cancelled just before a SIGKILL is cancelled once and stays cancelled."""
    await sync_once(spawn)

    def cancel(doc: Document) -> None:
        doc["properties"][0]["reservations"][0]["status"] = "cancelled"

    write_inventory(site, cancel)
    await killed_sync(site, spawn, "PUT", "/cmf/reservations/cancel")
    await sync_once(spawn)
    assert_site_equals_inventory(site)
    assert len(site.sandbox.journal.matching(method="PUT", path="reservations/cancel")) <= 2


async def test_kill_during_sink_append(site: Site, spawn: Spawn) -> None:
    """Killed as soon as the bookings file grows, a restart writes each revision exactly once."""
    await sync_once(spawn)
    hotel = _hotel_uid(site)
    for day in (10, 14, 18, 22):
        site.sandbox.store.book_on_site(hotel, f"2027-04-{day}", f"2027-04-{day + 1}")
    sink = site.state_dir / "bookings.jsonl"
    size_before = sink.stat().st_size if sink.exists() else 0
    worker = await spawn("sync", "--once", "--job", "bookings")
    while worker.proc.returncode is None:
        if sink.exists() and sink.stat().st_size > size_before:
            os.kill(worker.proc.pid, signal.SIGKILL)
            break
        await asyncio.sleep(0.001)
    assert await worker.wait() == -signal.SIGKILL
    await sync_once(spawn, "--job", "bookings")
    assert_site_equals_inventory(site)
    lines = sink.read_text().splitlines()
    assert len(lines) == 4
