"""Change-driven pushes against the sandbox: a burst of edits is one write per changed property,
an unchanged document costs no parse, and a change does not wait for the scheduled cycle."""

from __future__ import annotations

import asyncio
import dataclasses
import json
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

import worker.inventory.source as source_module
from tests.polling import wait_until
from tests.sync.support import Harness, day, make_settings, seaside
from worker.inventory.changes import ChangeWatcher
from worker.inventory.document import InventorySnapshot, parse_bytes
from worker.metrics import WorkerMetrics
from worker.sandbox import Sandbox
from worker.scheduler import JobRunner
from worker.service import Worker
from worker.sync.coalesce import ChangePusher
from worker.sync.context import SyncContext
from worker.sync.job import JobResult
from worker.sync.jobs import JOBS

WINDOW_S = 2.0


def priced(remote_uid: str, price: str) -> dict[str, Any]:
    prop = seaside(remote_uid)
    prop["rates"].append({"date_from": day(15), "date_to": day(15), "price": price})
    return prop


async def _pusher(harness: Harness) -> ChangePusher:
    """A synced site with 1001 and 1002, and a pusher whose watcher has seen that document."""
    harness.write_inventory(seaside("1001"), seaside("1002"))
    assert (await harness.run("properties")).ok
    assert (await harness.run("ari")).ok
    watcher = ChangeWatcher(harness.context.source)
    await watcher.load()  # the baseline, as the worker's start-up load is
    ctx = dataclasses.replace(harness.context, source=watcher)
    runner = JobRunner(JOBS, ctx, WorkerMetrics({name: 60.0 for name in JOBS}))
    harness.sandbox.journal.clear()
    return ChangePusher(watcher, runner, harness.clock, poll_s=1.0, window_s=WINDOW_S)


async def _uid(harness: Harness, remote_uid: str) -> str:
    record = await harness.state.get_property(remote_uid)
    assert record is not None
    return str(record.property_uid)


async def _wait_pushed(pusher: ChangePusher) -> None:
    assert pusher.pushing is not None, "no push was started"
    await pusher.pushing


async def test_a_burst_of_edits_is_one_price_write_for_that_property_only(
    harness: Harness,
) -> None:
    """Three price edits to 1001 within the window give one set_prices for 1001 (the last
    price), after the window from the first edit, and nothing for the unchanged 1002."""
    pusher = await _pusher(harness)
    for price in ("99.00", "98.00", "97.00"):
        harness.write_inventory(priced("1001", price), seaside("1002"))
        await pusher.step()
        harness.clock.advance(0.5)
    await pusher.step()  # 1.5 s after the first edit: still collecting
    assert pusher.pushing is None
    assert harness.writes() == []
    harness.clock.advance(0.5)
    with capture_logs() as logs:
        await pusher.step()
        await _wait_pushed(pusher)
    [prices] = harness.writes_to("property/prices")
    assert prices.form["property_uid"] == await _uid(harness, "1001")
    assert json.loads(prices.form["ratepernight"]) == [
        {"date_from": day(15), "date_to": day(15), "ratepernight": "97.00"}
    ]
    other = await _uid(harness, "1002")
    assert all(write.form.get("property_uid") != other for write in harness.writes())
    [changed] = [e for e in logs if e["event"] == "inventory.changed"]
    assert changed["properties"] == ["1001"]
    assert changed["coalesced"] == 3
    assert [e["event"] for e in logs].count("sync.pushed_changes") == 1


@pytest.mark.parametrize("rewrite", [True, False], ids=["same-bytes", "same-stat"])
async def test_an_unchanged_document_is_not_parsed_diffed_or_pushed(
    harness: Harness, monkeypatch: pytest.MonkeyPatch, rewrite: bool
) -> None:
    """The document rewritten with the same bytes (or not touched at all) is not parsed, not
    diffed, and nothing is written, however long the pusher polls."""
    pusher = await _pusher(harness)
    document = (harness.tmp / "inventory.json").read_bytes()
    parses: list[int] = []

    def counted(data: bytes, previous: InventorySnapshot) -> InventorySnapshot:
        parses.append(len(data))
        return parse_bytes(data, previous)

    monkeypatch.setattr(source_module, "parse_bytes", counted)
    diffs = pusher.watcher.diffs
    if rewrite:
        temp = harness.tmp / "inventory.tmp"
        temp.write_bytes(document)
        temp.replace(harness.tmp / "inventory.json")
    for _ in range(5):
        await pusher.step()
        harness.clock.advance(1.0)
    assert parses == []
    assert pusher.watcher.diffs == diffs
    assert pusher.pushing is None
    assert harness.writes() == []


def _prices_with(sandbox: Sandbox, price: str) -> list[Any]:
    return [
        entry
        for entry in sandbox.journal.entries
        if entry.path.endswith("property/prices") and price in entry.form.get("ratepernight", "")
    ]


async def test_a_change_is_pushed_without_waiting_for_the_ari_interval(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """With every job an hour apart, a price edit made after the first cycle reaches the site
    (the change window is 0.1 s), long before the next scheduled ARI run."""
    jobs = {name: {"interval_s": 3600} for name in JOBS}
    settings = make_settings(sandbox, tmp_path, jobs=jobs, change_poll_s=0.05, change_window_s=0.1)
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"properties": [{**seaside("1001"), "content": {}}]}))
    async with Worker(settings, heartbeat=False) as worker:
        running = asyncio.create_task(worker.run())
        await wait_until(lambda: _prices_with(sandbox, "120.00"), "the first cycle's prices")
        changed = {**priced("1001", "77.00"), "content": {}}
        temp = tmp_path / "inventory.tmp"
        temp.write_text(json.dumps({"properties": [changed]}))
        temp.replace(inventory)
        await wait_until(lambda: _prices_with(sandbox, "77.00"), "the change's prices")
        worker.request_stop()
        await running
    [prices] = _prices_with(sandbox, "77.00")
    assert json.loads(prices.form["ratepernight"]) == [
        {"date_from": day(15), "date_to": day(15), "ratepernight": "77.00"}
    ]


class GatedAri:
    """The real ARI job, held at its start until ``gate`` is set."""

    name = "ari"
    scopes = JOBS["ari"].scopes

    def __init__(self) -> None:
        self.gate, self.started = asyncio.Event(), asyncio.Event()

    async def run(self, ctx: SyncContext) -> JobResult:
        self.started.set()
        await self.gate.wait()
        return await JOBS["ari"].run(ctx)


async def test_a_push_waits_for_a_running_job_then_runs(harness: Harness) -> None:
    """A change that comes due while a scheduled ARI run is going waits for it (no skip), then
    runs ARI for the changed property; the site gets the new price once."""
    pusher = await _pusher(harness)
    gated = GatedAri()
    pusher.runner.jobs["ari"] = gated
    scheduled = asyncio.create_task(pusher.runner.run("ari"))
    await gated.started.wait()
    harness.write_inventory(priced("1001", "96.00"), seaside("1002"))
    with capture_logs() as logs:
        await pusher.step()
        harness.clock.advance(WINDOW_S)
        await pusher.step()
        assert pusher.pushing is not None
        await harness.clock.run_until_idle()
        assert not pusher.pushing.done()
        gated.gate.set()
        await scheduled
        await _wait_pushed(pusher)
    assert "job.skipped" not in [e["event"] for e in logs]
    [pushed] = [e for e in logs if e["event"] == "sync.pushed_changes"]
    assert "ari" in pushed["jobs"]
    assert len(_prices_with(harness.sandbox, "96.00")) == 1


async def test_every_watcher_of_a_process_wakes_on_one_shared_tick(harness: Harness) -> None:
    """Polls started at different moments fall due at the same instant: one timer pass (and one
    batched ``stat``) for every site's watcher instead of one each."""
    pusher = await _pusher(harness)
    first_due = harness.clock.now() + pusher.until_next_tick_s()
    harness.clock.advance(0.37)
    second_due = harness.clock.now() + pusher.until_next_tick_s()
    assert second_due == pytest.approx(first_due)
    assert round(first_due / pusher.poll_s) * pusher.poll_s == pytest.approx(first_due)
