"""SIGKILL right after a write reached the site, then a restart: nothing is duplicated."""

from __future__ import annotations

import os
import signal
from collections import Counter

from tests.chaos.invariants import remote_id_of
from tests.e2e.conftest import CHANNEL, Site, Spawn
from worker.sandbox.journal import JournalEntry
from worker.sync.reservation_plan import site_reservation_id


def kill_after(site: Site, pid_box: list[int], method: str, path_end: str) -> None:
    """SIGKILL the worker the moment the site has applied the first matching request.

    The journal hears of a request after the site processed it and before the answer is sent,
    so the worker dies not knowing whether its write happened: the hardest case for a restart.
    """

    def listener(entry: JournalEntry, _duration_s: float) -> None:
        if pid_box and entry.method == method and entry.path.endswith(path_end):
            os.kill(pid_box.pop(), signal.SIGKILL)

    site.sandbox.journal.add_listener(listener)


async def test_kill_after_property_post_then_restart(site: Site, spawn: Spawn) -> None:
    """A property created just before a SIGKILL is adopted on restart, never created twice."""
    pid_box: list[int] = []
    kill_after(site, pid_box, "POST", "/cmf/property")
    worker = await spawn("run")
    pid_box.append(worker.proc.pid)
    assert await worker.wait() == -signal.SIGKILL
    assert len(site.sandbox.store.properties_of("demo", CHANNEL)) == 1
    again = await spawn("sync", "--once")
    assert await again.wait() == 0
    remote_uids = [p["remote_uid"] for p in site.sandbox.store.properties_of("demo", CHANNEL)]
    assert sorted(map(str, remote_uids)) == ["1001", "2001", "3001"]


async def test_kill_after_reservation_push_then_restart(site: Site, spawn: Spawn) -> None:
    """A reservation pushed just before a SIGKILL is found among the bookings, not pushed again."""
    pid_box: list[int] = []
    kill_after(site, pid_box, "PUT", "/cmf/reservations/add")
    worker = await spawn("run")
    pid_box.append(worker.proc.pid)
    assert await worker.wait() == -signal.SIGKILL
    again = await spawn("sync", "--once")
    assert await again.wait() == 0
    pushed: Counter[str] = Counter()
    for prop in site.sandbox.store.properties_of("demo", CHANNEL):
        for booking in site.sandbox.store.bookings(int(prop["property_uid"])):
            remote = remote_id_of(booking)
            if remote:
                pushed[remote] += 1
    assert pushed == Counter({site_reservation_id("OTA-778812"): 1})
    assert len(site.sandbox.journal.matching(method="PUT", path="reservations/add")) == 1
