"""Pruning a room on the real engine: the property stays bookable afterwards."""

from __future__ import annotations

from tests.sync.conftest import HarnessFactory
from tests.sync.support import reservation, seaside
from worker.sandbox import Sandbox


async def test_a_pruned_room_leaves_the_property_bookable(
    sandbox: Sandbox, harness_for: HarnessFactory
) -> None:
    """The engine drops the channel's room map with a deleted room; the worker sends a kept
    room again, so the next reservation is accepted and the calendar answers."""
    harness = await harness_for(sandbox, prune=True)
    harness.write_inventory(seaside("1001", reservations=[]))
    assert (await harness.run("properties")).ok
    one_room = seaside("1001", reservations=[reservation("BK-2027-0011", 5)])
    one_room["rooms"] = one_room["rooms"][:1]
    one_room["closures"] = []  # a closure of the removed room would make the document invalid
    harness.write_inventory(one_room)
    result = await harness.run("properties")
    assert result.ok, result.errors
    assert len(harness.site_properties()[0]["rooms"]) == 1
    assert harness.writes_to("cmf/property/room")[-1].method == "PUT"
    pushed = await harness.run("reservations")
    assert pushed.counts["pushed"] == 1, pushed
