"""Local faults: a corrupt or deleted state directory, a full disk under the sink, an unreadable or
invalid inventory. Each gives a clear error, loses nothing, and recovers once the fault is gone.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.chaos.test_crash_matrix import (
    Document,
    assert_site_equals_inventory,
    read_inventory,
    sync_once,
    write_inventory,
)
from tests.e2e.conftest import CHANNEL, REPO, Site, Spawn, WorkerProcess
from tests.polling import wait_until

WRITES = ("POST", "PUT", "DELETE")


def write_count(site: Site) -> int:
    """Writes to the site's data: token requests and announces do not count."""
    return sum(
        1
        for entry in site.sandbox.journal.entries
        if entry.method in WRITES and not entry.path.endswith("/oauth/token")
        and "channel/announce" not in entry.path
    )  # fmt: skip


def error_events(worker: WorkerProcess) -> list[dict[str, object]]:
    return [record for record in worker.records if record["level"] == "error"]


async def until(condition: Callable[[], object], worker: WorkerProcess) -> None:
    """Wait for ``condition()`` while the worker runs (bounded: ``tests.polling``)."""
    await wait_until(condition, "the villa's price", every_s=0.1, gone=worker.gone)


async def test_corrupt_state_db_is_a_clear_error_then_recovers(site: Site, spawn: Spawn) -> None:
    """A garbage state.db stops the worker with exit 78 naming it; moved aside, all resumes."""
    await sync_once(spawn)
    (site.state_dir / "state.db").write_bytes(b"this is not a database" * 100)
    for leftover in site.state_dir.glob("state.db-*"):
        leftover.unlink()
    writes_before = write_count(site)
    worker = await spawn("sync", "--once")
    assert await worker.wait() == 78
    assert any("state.db" in str(event.get("error")) for event in error_events(worker))
    assert write_count(site) == writes_before  # nothing sent on a state it cannot read
    (site.state_dir / "state.db").rename(site.state_dir / "state.db.corrupt")
    await sync_once(spawn)
    assert_site_equals_inventory(site)


async def test_deleted_state_dir_costs_a_reconciliation_not_a_duplicate(
    site: Site, spawn: Spawn, tmp_path: Path
) -> None:
    """With the state directory gone, a restart adopts what exists and pushes nothing twice."""
    site.env["BOOKYFLOW_BOOKINGS_FILE"] = str(tmp_path / "vendor" / "bookings.jsonl")
    await sync_once(spawn)
    hotel = next(
        int(p["property_uid"])
        for p in site.sandbox.store.properties_of("demo", CHANNEL)
        if str(p["remote_uid"]) == "1001"
    )
    site.sandbox.store.book_on_site(hotel, "2027-04-10", "2027-04-11")
    await sync_once(spawn)
    shutil.rmtree(site.state_dir)
    await sync_once(spawn)
    assert len(site.sandbox.journal.matching(method="POST", path="/cmf/property")) == 3
    assert len(site.sandbox.journal.matching(method="PUT", path="reservations/add")) == 1
    lines = (tmp_path / "vendor" / "bookings.jsonl").read_text().splitlines()
    assert len(lines) == 1


@pytest.mark.slow  # over 3 s (--durations): real worker processes, run to their end
async def test_full_disk_under_the_sink_loses_no_booking(
    site: Site, spawn: Spawn, tmp_path: Path
) -> None:
    """ENOSPC on append fails the job with a clear error; once space is back, each line once."""
    sink, full = tmp_path / "bookings.jsonl", tmp_path / "disk-full"
    env = {"BOOKYFLOW_SINK": "tests.chaos.full_disk:FullDiskSink", "CHAOS_SINK_FILE": str(sink),
           "CHAOS_DISK_FULL": str(full), "PYTHONPATH": str(REPO)}  # fmt: skip
    site.env.update(env)
    await sync_once(spawn)
    hotel = next(
        int(p["property_uid"])
        for p in site.sandbox.store.properties_of("demo", CHANNEL)
        if str(p["remote_uid"]) == "1001"
    )
    for day in (10, 14):
        site.sandbox.store.book_on_site(hotel, f"2027-04-{day}", f"2027-04-{day + 1}")
    full.touch()
    worker = await spawn("sync", "--once", "--job", "bookings")
    assert await worker.wait() == 1
    assert "No space left on device" in "\n".join(worker.stdout)
    full.unlink()
    await sync_once(spawn, "--job", "bookings")
    await sync_once(spawn, "--job", "bookings")
    revisions = [json.loads(line)["revision"] for line in sink.read_text().splitlines()]
    assert len(revisions) == len(set(revisions)) == 2


@pytest.mark.slow  # over 3 s (--durations): real worker processes, run to their end
async def test_unreadable_inventory_keeps_the_last_good_one(site: Site, spawn: Spawn) -> None:
    """While the inventory cannot be read nothing is removed; its next version is applied."""
    worker = await spawn("run")
    await until(lambda: _villa_price(site) == "320.00", worker)
    document = read_inventory(site)
    site.inventory.unlink()
    site.inventory.mkdir()  # open() now fails with EISDIR: unreadable, not merely missing
    await worker.event("inventory.unreadable")
    assert len(site.sandbox.store.properties_of("demo", CHANNEL)) == 3
    site.inventory.rmdir()
    document["properties"][2]["rates"][0]["price"] = "333.00"
    site.inventory.write_text(json.dumps(document))
    await until(lambda: _villa_price(site) == "333.00", worker)
    worker.proc.terminate()
    assert await worker.wait() == 0
    assert_site_equals_inventory(site)


async def test_invalid_inventory_names_the_field_and_changes_nothing(
    site: Site, spawn: Spawn
) -> None:
    """An unknown key is logged with its field path and nothing is sent; fixed, it is applied."""
    await sync_once(spawn)
    writes_before = write_count(site)

    def break_it(doc: Document) -> None:
        doc["properties"][2]["rooms"][0]["colour"] = "blue"
        doc["properties"][2]["rates"][0]["price"] = "333.00"

    write_inventory(site, break_it)
    worker = await spawn("sync", "--once")
    await worker.wait()
    invalid = [r for r in worker.records if r["event"] == "inventory.invalid"]
    assert invalid
    assert "properties[2].rooms[0]" in str(invalid[0]["field"])
    assert write_count(site) == writes_before
    write_inventory(site, lambda doc: doc["properties"][2]["rooms"][0].pop("colour"))
    await sync_once(spawn)
    assert _villa_price(site) == "333.00"
    assert_site_equals_inventory(site)


def _villa_price(site: Site) -> str | None:
    """The villa's price on its first rate night (None before the villa exists)."""
    for prop in site.sandbox.store.properties_of("demo", CHANNEL):
        if str(prop["remote_uid"]) == "3001":
            night = site.sandbox.store.calendar(
                int(prop["property_uid"]), "2026-12-18", "2026-12-18"
            )
            return str(night["2026-12-18"]["price"])
    return None
