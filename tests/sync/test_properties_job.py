"""The properties job against the sandbox: create, resume, adopt, update rooms, never duplicate."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from structlog.testing import capture_logs

from tests.conftest import SandboxFactory
from tests.sync.conftest import HarnessFactory
from tests.sync.support import Harness, day, seaside
from worker.sandbox import Sandbox


async def test_full_sync_reaches_the_end_state_and_a_rerun_writes_nothing(
    any_sandbox: Sandbox, harness_for: HarnessFactory
) -> None:
    """One cycle of every job reaches the inventory's end state; a second one writes nothing."""
    h = await harness_for(any_sandbox)
    h.write_inventory(seaside("1001"), seaside("1002"))
    results = await h.run_all()
    assert all(r.ok for r in results.values()), {n: r.errors for n, r in results.items()}
    props = h.site_properties()
    assert sorted(str(p["remote_uid"]) for p in props) == ["1001", "1002"]
    for prop in props:
        uid = prop["property_uid"]
        assert prop["published"]
        assert sorted(r["room_name"] for r in prop["rooms"]) == ["Garden", "Sea view"]
        nights = any_sandbox.store.calendar(uid, day(0), day(60))
        assert nights[day(0)]["price"] == "120.00"
        assert nights[day(11)]["price"] == "95.00"
        assert nights[day(22)] == {"price": "150.00", "minstay": 3, "is_blocked": False}
        assert nights[day(41)]["is_blocked"]
        assert len(any_sandbox.store.blackbookings(uid)) == 2
        assert len(h.site_bookings(uid)) == 1
    any_sandbox.journal.clear()
    again = await h.run_all()
    assert all(r.ok for r in again.values())
    assert h.writes() == []


async def test_state_loss_adopts_everything_and_writes_nothing(harness: Harness) -> None:
    """With the state directory gone, the server is the truth: no duplicate, zero writes."""
    harness.write_inventory(seaside("1001"))
    await harness.run_all()
    await harness.restart(lose_state=True)
    harness.sandbox.journal.clear()
    results = await harness.run_all()
    assert all(r.ok for r in results.values())
    assert results["properties"].counts["adopted"] == 1
    assert harness.writes() == []
    assert len(harness.site_properties()) == 1
    assert len(harness.site_properties()[0]["rooms"]) == 2


async def test_create_intent_after_a_crash_is_adopted_not_repeated(harness: Harness) -> None:
    """An intent whose POST landed (state write lost) resolves via properties/ids: one property."""
    prop = seaside("2001")
    harness.write_inventory(prop)
    await harness.state.record_property_intent("2001")
    await harness.context.cmf.create_property(
        name=prop["name"], remote_uid="2001", country="GB", region_id=1113, ptype_id=1
    )
    harness.sandbox.journal.clear()
    result = await harness.run("properties")
    assert result.ok
    assert result.counts["adopted"] == 1
    assert harness.writes_to("cmf/property")
    assert not [e for e in harness.writes() if e.method == "POST"]
    assert len(harness.site_properties()) == 1
    record = await harness.state.get_property("2001")
    assert record is not None
    assert record.status == "published"


async def test_half_created_property_is_resumed(harness: Harness) -> None:
    """A property left with one room and no base price gets the rest, adopting the room."""
    cmf = harness.context.cmf
    uid = await cmf.create_property(
        name="Seaside 3001", remote_uid="3001", country="GB", region_id=1113, ptype_id=1
    )
    harness.context.owned.add(uid, "3001")
    await cmf.put_room(uid, room_type_id=1, max_people=2, room_name="Sea view", room_number="1")
    harness.write_inventory(seaside("3001"))
    result = await harness.run("properties")
    assert result.ok
    assert result.counts["published"] == 1
    rooms = harness.site_properties()[0]["rooms"]
    assert sorted(r["room_name"] for r in rooms) == ["Garden", "Sea view"]
    assert len(harness.writes_to("property/base/price")) == 1
    assert (await harness.state.get_rooms(uid)).keys() == {"3001-A", "3001-B"}


async def test_changed_room_is_updated_in_place(harness: Harness) -> None:
    """A renamed room is one PUT with its room uid; no room is added."""
    harness.write_inventory(seaside("1001"))
    await harness.run("properties")
    changed = seaside("1001")
    changed["rooms"][0] = {**changed["rooms"][0], "name": "Ocean view", "max_people": 3}
    harness.write_inventory(changed)
    harness.sandbox.journal.clear()
    result = await harness.run("properties")
    assert result.ok
    assert result.counts["updated"] == 1
    [put] = harness.writes()
    assert put.form["room_uid"] != "0"
    assert put.form["room_name"] == "Ocean view"
    assert len(harness.site_properties()[0]["rooms"]) == 2


async def test_legacy_mangled_remote_uid_is_still_tracked(
    sandbox_factory: SandboxFactory, harness_for: HarnessFactory
) -> None:
    """A legacy site stores "0042" as 42: the property is recognised after a state loss."""
    legacy = await sandbox_factory(legacy=True)
    h = await harness_for(legacy)
    h.write_inventory(seaside("0042", content={}))  # legacy sites report no content back
    assert (await h.run("properties")).ok
    await h.restart(lose_state=True)
    legacy.journal.clear()
    with capture_logs() as logs:
        result = await h.run("properties")
    assert result.ok
    assert result.counts["adopted"] == 1
    assert "property.remote_uid_mangled" in [entry["event"] for entry in logs]
    assert h.writes() == []
    assert len(h.site_properties()) == 1


async def test_held_property_gets_no_writes(harness: Harness) -> None:
    """A property whose current entry is bad keeps its last good version and is not written."""
    harness.write_inventory(seaside("1001"))
    await harness.run("properties")
    await harness.context.source.load()
    bad = seaside("1001", max_people=0)
    bad["rooms"][0] = {**bad["rooms"][0], "name": "Changed"}
    harness.write_inventory(bad)
    harness.sandbox.journal.clear()
    results = [await harness.run(name) for name in ("properties", "ari", "reservations")]
    assert all(r.counts["held"] == 1 for r in results)
    assert harness.writes() == []


async def test_properties_leave_the_site_only_with_pruning(
    sandbox: Sandbox, harness_for: HarnessFactory
) -> None:
    """A property gone from the inventory stays without prune and is deleted with it."""
    h = await harness_for(sandbox)
    h.write_inventory(seaside("1001"), seaside("1002"))
    await h.run("properties")
    h.write_inventory(seaside("1001"))
    await h.run("properties")
    assert len(h.site_properties()) == 2
    pruning = await harness_for(
        sandbox, prune=True, prune_max_fraction=0.5, state_dir=h.settings.state_dir.with_name("p")
    )
    result = await pruning.run("properties")
    assert result.ok
    assert result.counts["deleted"] == 1
    assert [str(p["remote_uid"]) for p in h.site_properties()] == ["1001"]


async def test_base_price_replay_means_done(harness: Harness) -> None:
    """A base price the site already has (state did not know) is not sent again; it publishes."""
    cmf = harness.context.cmf
    uid = await cmf.create_property(
        name="Seaside 4001", remote_uid="4001", country="GB", region_id=1113, ptype_id=1
    )
    harness.context.owned.add(uid, "4001")
    for room in seaside("4001")["rooms"]:  # the engine makes a tariff per room type it has
        await cmf.put_room(
            uid, room_type_id=room["room_type_id"], max_people=room["max_people"],
            room_name=room["name"], room_number=room["number"],
        )  # fmt: skip
    await cmf.set_base_price(uid, Decimal("95.00"), 4)
    harness.write_inventory(seaside("4001"))
    harness.sandbox.journal.clear()
    result = await harness.run("properties")
    assert result.ok
    assert result.counts["published"] == 1
    assert harness.writes_to("property/base/price") == []


async def test_unchanged_rooms_are_read_from_the_site_once_a_day(harness: Harness) -> None:
    """Unchanged rooms cost no request on a rerun; a vendor edit or a new day reads them again."""
    harness.write_inventory(seaside("1001"))
    assert (await harness.run("properties")).ok
    harness.sandbox.journal.clear()
    assert (await harness.run("properties")).ok
    assert harness.sandbox.journal.matching(path="property/rooms") == []
    changed = seaside("1001")
    changed["rooms"][1] = {**changed["rooms"][1], "number": "2b"}
    harness.write_inventory(changed)
    assert (await harness.run("properties")).counts["updated"] == 1
    assert len(harness.sandbox.journal.matching(path="property/rooms")) == 1
    harness.today += timedelta(days=1)
    assert (await harness.run("properties")).ok
    assert len(harness.sandbox.journal.matching(path="property/rooms")) == 2
    assert len(harness.writes()) == 1


async def test_a_room_deleted_on_the_site_comes_back_at_the_daily_check(harness: Harness) -> None:
    """A room removed on the site is recreated by the next day's reconciliation, not before."""
    harness.write_inventory(seaside("1001"))
    assert (await harness.run("properties")).ok
    [(uid, _)] = harness.context.owned.items()
    room_uid = (await harness.state.get_rooms(uid))["1001-B"]
    await harness.context.cmf.delete_room(uid, room_uid)
    assert (await harness.run("properties")).ok
    assert len(harness.site_properties()[0]["rooms"]) == 1
    harness.today += timedelta(days=1)
    assert (await harness.run("properties")).ok
    assert len(harness.site_properties()[0]["rooms"]) == 2


async def test_properties_the_list_omits_are_rechecked_not_created_again(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``properties/ids`` suddenly lists none of ours (a flaky or restored site): each one is
    asked for by uid, kept and owned again; nothing is POSTed, every job goes on with it."""
    harness.write_inventory(seaside("1001"), seaside("1002"))
    assert all(r.ok for r in (await harness.run_all()).values())
    before = {p["property_uid"] for p in harness.site_properties()}
    sandbox = harness.sandbox
    monkeypatch.setattr(sandbox.store.properties, "property_ids", lambda channel: {})
    sandbox.journal.clear()
    with capture_logs() as logs:
        result = await harness.run("properties")
    assert result.ok, result.errors
    assert not sandbox.journal.matching(method="POST")
    rechecks = [e.path.split("/api/")[1] for e in sandbox.journal.matching(method="GET")]
    assert {f"cmf/property/{uid}" for uid in before} <= set(rechecks)
    assert {p["property_uid"] for p in harness.site_properties()} == before
    assert sorted(uid for uid, _ in harness.context.owned.items()) == sorted(before)
    unlisted = [e for e in logs if e["event"] == "property.unlisted"]
    assert sorted(e["remote_uid"] for e in unlisted) == ["1001", "1002"]
    assert "property.lost" not in [e["event"] for e in logs]
    assert (await harness.run("ari")).counts["not_created"] == 0


async def test_a_property_deleted_on_the_site_is_created_again(harness: Harness) -> None:
    """The re-check tells a property that is really gone: forgotten (property.lost) and
    created again, once."""
    harness.write_inventory(seaside("1001"))
    assert (await harness.run("properties")).ok
    (old,) = [p["property_uid"] for p in harness.site_properties()]
    await harness.context.cmf.delete_property(old)
    with capture_logs() as logs:
        result = await harness.run("properties")
    assert result.ok, result.errors
    assert result.counts["created"] == 1
    (new,) = [p["property_uid"] for p in harness.site_properties()]
    assert new != old
    assert [e["event"] for e in logs].count("property.lost") == 1


async def test_non_numeric_remote_uids_collide_on_an_engine_and_the_error_says_why(
    harness: Harness,
) -> None:
    """The engine keeps remote uids as integers: a second text id is refused, with the cause.

    Seen against the real engine: ``HTL-2`` becomes 0 like ``HTL-1`` before it, so its create
    answers "That Remote ID already exists"; the job must name the fix, not just fail.
    """
    harness.write_inventory(seaside("HTL-1"), seaside("HTL-2"))
    with capture_logs() as logs:
        result = await harness.run("properties")
    assert result.counts["created"] == 1
    assert len(harness.site_properties()) == 1
    (failed,) = [entry for entry in logs if entry["event"] == "property.create_failed"]
    assert failed["remote_uid"] == "HTL-2"
    assert "stores remote uids as integers" in failed["error"]
    assert "use digits for remote_uid" in failed["error"]
