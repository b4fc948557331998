"""Safe prune against the sandbox: empty documents, the share per cycle, reservations, rooms."""

from __future__ import annotations

from collections.abc import MutableMapping
from datetime import timedelta
from typing import Any

from structlog.testing import capture_logs

from tests.sync.conftest import HarnessFactory
from tests.sync.support import Harness, seaside
from worker.sandbox import Sandbox


def bare(remote_uid: str, **changes: Any) -> dict[str, Any]:
    """A property without content or reservations: the fewest requests to create it."""
    return seaside(remote_uid, content={}, reservations=[], **changes)


def events(logs: list[MutableMapping[str, Any]], name: str) -> list[MutableMapping[str, Any]]:
    return [entry for entry in logs if entry["event"] == name]


async def test_an_empty_document_deletes_nothing_even_when_forced(
    sandbox: Sandbox, harness_for: HarnessFactory
) -> None:
    """Every property gone from a clean, empty document: refused, counted held, nothing deleted."""
    h = await harness_for(sandbox, prune=True, prune_force=True, prune_max_fraction=1.0)
    h.write_inventory(bare("1001"), bare("1002"))
    assert (await h.run("properties")).ok
    h.write_inventory()
    h.sandbox.journal.clear()
    with capture_logs() as logs:
        result = await h.run("properties")
    assert result.counts["deleted"] == 0
    assert result.counts["prune_refused"] == 1
    assert result.counts["held"] == 2
    (refused,) = events(logs, "property.prune_refused")
    assert refused["reason"] == "empty_document"
    assert h.writes_to("property/") == []
    assert len(h.site_properties()) == 2


async def test_three_of_ten_leaving_at_a_tenth_deletes_none_in_that_cycle(
    sandbox: Sandbox, harness_for: HarnessFactory
) -> None:
    """Default share 0.1: 3 of 10 leaving is refused whole; 1 of 10 goes; forced, all go."""
    h = await harness_for(sandbox, prune=True)
    ten = [bare(str(2000 + i)) for i in range(10)]
    h.write_inventory(*ten)
    assert (await h.run("properties")).ok
    h.write_inventory(*ten[:7])
    with capture_logs() as logs:
        refused = await h.run("properties")
    assert refused.counts["deleted"] == 0
    assert refused.counts["held"] == 3
    (line,) = events(logs, "property.prune_refused")
    assert (line["reason"], line["leaving"], line["owned"], line["allowed"]) == (
        "max_fraction", 3, 10, 1,
    )  # fmt: skip
    assert len(h.site_properties()) == 10
    h.write_inventory(*ten[:9])
    assert (await h.run("properties")).counts["deleted"] == 1
    assert len(h.site_properties()) == 9
    forced = await harness_for(
        sandbox, prune=True, prune_force=True, state_dir=h.tmp / "forced-state"
    )
    forced.write_inventory(*ten[:7])
    assert (await forced.run("properties")).counts["deleted"] == 2
    assert sorted(str(p["remote_uid"]) for p in h.site_properties()) == [
        str(2000 + i) for i in range(7)
    ]


async def _with_pushed_reservation(h: Harness) -> None:
    """1001 bare, 1002 with one confirmed reservation pushed; then 1002 leaves the document."""
    h.write_inventory(bare("1001"), seaside("1002", content={}))
    assert (await h.run("properties")).ok
    assert (await h.run("reservations")).counts["pushed"] == 1
    h.write_inventory(bare("1001"))


async def test_a_property_with_a_live_pushed_reservation_stays(
    sandbox: Sandbox, harness_for: HarnessFactory
) -> None:
    """Known from state: kept and reported (property.prune_kept); forced, it goes."""
    h = await harness_for(sandbox, prune=True, prune_max_fraction=1.0)
    await _with_pushed_reservation(h)
    with capture_logs() as logs:
        result = await h.run("properties")
    assert result.counts["deleted"] == 0
    assert result.counts["prune_kept"] == 1
    (kept,) = events(logs, "property.prune_kept")
    assert (kept["remote_uid"], kept["reason"]) == ("1002", "active_reservation")
    assert len(h.site_properties()) == 2
    forced = await harness_for(
        sandbox, prune=True, prune_force=True, state_dir=h.tmp / "forced-state"
    )
    forced.write_inventory(bare("1001"))
    assert (await forced.run("properties")).counts["deleted"] == 1


async def test_a_lost_state_still_keeps_the_property_of_a_live_reservation(
    sandbox: Sandbox, harness_for: HarnessFactory
) -> None:
    """State knows nothing: the site's bookings (the channel's live push) keep the property."""
    h = await harness_for(sandbox, prune=True, prune_max_fraction=1.0)
    await _with_pushed_reservation(h)
    await h.restart(lose_state=True)
    result = await h.run("properties")
    assert result.counts["deleted"] == 0
    assert result.counts["prune_kept"] == 1
    assert len(h.site_properties()) == 2


async def test_a_reservation_whose_stay_has_ended_does_not_keep_its_property(
    sandbox: Sandbox, harness_for: HarnessFactory
) -> None:
    """After the last night the booking is history: the property may go."""
    h = await harness_for(sandbox, prune=True, prune_max_fraction=1.0)
    await _with_pushed_reservation(h)
    h.today += timedelta(days=30)
    result = await h.run("properties")
    assert result.counts["prune_kept"] == 0
    assert result.counts["deleted"] == 1
    assert [str(p["remote_uid"]) for p in h.site_properties()] == ["1001"]


async def test_an_entry_without_rooms_deletes_no_room_unless_forced(
    sandbox: Sandbox, harness_for: HarnessFactory
) -> None:
    """rooms: [] is refused (room.prune_refused) and the site keeps both rooms."""
    h = await harness_for(sandbox, prune=True)
    h.write_inventory(bare("1001"))
    assert (await h.run("properties")).ok
    uid = h.context.owned.items()[0][0]
    h.write_inventory(bare("1001", rooms=[], closures=[]))
    h.sandbox.journal.clear()
    with capture_logs() as logs:
        assert (await h.run("properties")).ok
    (refused,) = events(logs, "room.prune_refused")
    assert refused["rooms"] == 2
    assert len(await h.context.cmf.rooms(uid)) == 2
    assert [e for e in h.writes() if e.method == "DELETE"] == []
