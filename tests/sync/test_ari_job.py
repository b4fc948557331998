"""The ARI job against the sandbox: only changes are sent, drift is corrected, closures follow."""

from __future__ import annotations

import json
from datetime import timedelta
from decimal import Decimal

from tests.sync.conftest import HarnessFactory
from tests.sync.support import Harness, day, seaside
from worker.api.models import DateRange, RateRange
from worker.sandbox import Sandbox
from worker.state import ClosureRecord


async def _synced(harness: Harness, *props: dict[str, object]) -> None:
    harness.write_inventory(*(props or (seaside("1001"),)))
    assert (await harness.run("properties")).ok
    assert (await harness.run("ari")).ok
    harness.sandbox.journal.clear()


async def test_past_nights_are_never_sent(harness: Harness) -> None:
    """A rate that began five days ago is sent from today on only."""
    harness.write_inventory(seaside("1001"))
    await harness.run("properties")
    await harness.run("ari")
    [prices] = harness.writes_to("property/prices")
    ranges = json.loads(prices.form["ratepernight"])
    assert min(r["date_from"] for r in ranges) == day(0)
    [minstays] = harness.writes_to("property/minstays")
    assert all(r["date_from"] >= day(0) for r in json.loads(minstays.form["minstays"]))


async def test_one_night_edit_sends_one_range(harness: Harness) -> None:
    """Changing one night's price sends exactly that night, once, then its minimum stay again
    (the real engine's price write resets it)."""
    await _synced(harness)
    changed = seaside("1001")
    changed["rates"].append({"date_from": day(15), "date_to": day(15), "price": "99.00"})
    harness.write_inventory(changed)
    result = await harness.run("ari")
    assert result.ok
    [prices, minstays] = harness.writes()
    assert prices.path.endswith("property/prices")
    assert minstays.path.endswith("property/minstays")
    assert json.loads(prices.form["ratepernight"]) == [
        {"date_from": day(15), "date_to": day(15), "ratepernight": "99.00"}
    ]
    assert [(r["date_from"], r["date_to"]) for r in json.loads(minstays.form["minstays"])] == [
        (day(15), day(15))
    ]
    harness.sandbox.journal.clear()
    assert (await harness.run("ari")).ok
    assert harness.writes() == []


async def test_daily_reconciliation_corrects_drift(harness: Harness) -> None:
    """A price changed behind the worker's back is put right at the next day's reconciliation."""
    await _synced(harness)
    uid = harness.context.owned.items()[0][0]
    drifted = RateRange(
        date_from=harness.today + timedelta(days=30),
        date_to=harness.today + timedelta(days=31),
        ratepernight=Decimal("1.00"),
    )
    await harness.context.cmf.set_prices(uid, [drifted])
    harness.sandbox.journal.clear()
    assert (await harness.run("ari")).ok
    assert harness.writes() == []  # same day: state is trusted
    harness.today += timedelta(days=1)
    assert (await harness.run("ari")).ok
    [put] = harness.writes_to("property/prices")
    assert json.loads(put.form["ratepernight"]) == [
        {"date_from": day(30), "date_to": day(31), "ratepernight": "95.00"}
    ]


async def test_state_loss_on_a_correct_site_writes_nothing(harness: Harness) -> None:
    """After a lost state the calendar and closures are adopted: zero writes, no duplicates."""
    await _synced(harness)
    await harness.restart(lose_state=True)
    assert (await harness.run("properties")).ok
    harness.sandbox.journal.clear()
    assert (await harness.run("ari")).ok
    assert harness.writes() == []
    uid = harness.context.owned.items()[0][0]
    assert len(harness.sandbox.store.blackbookings(uid)) == 2


async def test_removed_closure_is_reopened(harness: Harness) -> None:
    """A closure that leaves the inventory has its black booking deleted, once."""
    await _synced(harness)
    uid = harness.context.owned.items()[0][0]
    changed = seaside("1001")
    changed["closures"] = changed["closures"][1:]
    harness.write_inventory(changed)
    result = await harness.run("ari")
    assert result.ok
    assert result.counts["reopened"] == 1
    assert [e.method for e in harness.writes()] == ["DELETE"]
    assert not harness.sandbox.store.calendar(uid, day(41), day(41))[day(41)]["is_blocked"]
    assert len(harness.sandbox.store.blackbookings(uid)) == 1


async def test_closure_intent_after_a_crash_is_adopted(harness: Harness) -> None:
    """A black booking whose answer was lost (intent in state) is adopted, not created twice."""
    prop = seaside("1001", closures=[])
    await _synced(harness, prop)
    uid = harness.context.owned.items()[0][0]
    first, last = harness.today + timedelta(days=40), harness.today + timedelta(days=42)
    await harness.state.record_closure(uid, ClosureRecord("maint-1", None, first, last, ()))
    await harness.context.cmf.add_blackbooking(uid, DateRange(date_from=first, date_to=last))
    harness.write_inventory(seaside("1001", closures=[seaside()["closures"][0]]))
    harness.sandbox.journal.clear()
    assert (await harness.run("ari")).ok
    assert harness.writes() == []
    assert len(harness.sandbox.store.blackbookings(uid)) == 1
    assert (await harness.state.get_closures(uid))["maint-1"].contract_id is not None


async def test_failing_property_backs_off_while_another_syncs(
    sandbox: Sandbox, harness_for: HarnessFactory
) -> None:
    """A property whose calls fail is deferred for 60 s; the other property syncs meanwhile."""
    h = await harness_for(sandbox)
    h.write_inventory(seaside("1001"), seaside("1002"))
    assert (await h.run("properties")).ok
    sandbox.faults.fail_next(400, path="calendar/1/", times=1)
    result = await h.run("ari")
    assert result.counts["failed"] == 1
    assert result.counts["pushed"] == 1
    again = await h.run("ari")
    assert again.counts["deferred"] == 1
    assert again.counts["failed"] == 0
    h.clock.advance(61)
    last = await h.run("ari")
    assert last.ok
    assert last.counts["pushed"] == 1
