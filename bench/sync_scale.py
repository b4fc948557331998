"""Scale: 1,000 properties × 365 nights through every sync job, against an out-of-process sandbox.

Inventory: each property has two rooms, a price that changes every week, minimum stays on
weekends and in high season, and two closures. Phases, each measured on its own:

1. ``first``: the first full sync (every job), from empty state and an empty site;
2. ``unchanged``: the same inventory again — the goal is 0 write requests;
3. ``delta``: 1 % of the (property, night) cells get a new price; writes should follow the
   changes, and their bytes are compared with a naive full-horizon push (every property's
   whole price and minimum-stay lists, as ranges of equal nights), which the bench then sends
   through the same client as the baseline.

The polite per-site rate limit (5 req/s) is raised for the run: at 5 req/s the first sync alone
would take over an hour; the point here is requests, bytes, CPU and memory. One write in flight
per property and the job's property concurrency stay as shipped. ``BENCH_PROPERTIES`` shrinks
the inventory (default 1000). Last lines: ``unchanged_sync_writes``, ``delta_bytes_ratio``,
``peak_rss_mb``.
"""

from __future__ import annotations

import asyncio
import json
import os
import random
import sys
import tempfile
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._support import SECRET, Meter, SandboxProcess, emit, peak_rss_mb
from worker.api.client import BookyFlowClient
from worker.api.cmf import Cmf
from worker.api.models import MinStayRange, RateRange
from worker.clock import SystemClock
from worker.inventory.sink import JsonLinesBookingSink
from worker.inventory.source import JsonFileInventorySource
from worker.logging import configure_logging
from worker.ownership import OwnedProperties
from worker.settings import HttpSettings, Settings
from worker.state import StateStore
from worker.sync.ari import MAX_RANGES_PER_CALL, desired_for
from worker.sync.ari_plan import horizon
from worker.sync.context import SyncContext
from worker.sync.gates import PropertyGates
from worker.sync.job import run_job
from worker.sync.jobs import JOBS
from worker.sync.ranges import Span, compress

PROPERTIES = int(os.environ.get("BENCH_PROPERTIES", "1000"))
HORIZON_DAYS = 365
CHANGED_FRACTION = 0.01


def _room(uid: str, suffix: str, room_type: int) -> dict[str, Any]:
    return {
        "remote_id": f"{uid}-{suffix}",
        "room_type_id": room_type,
        "name": f"Room {suffix}",
        "number": suffix,
        "max_people": 2,
    }


def _weekly_rates(index: int, today: date) -> list[dict[str, str]]:
    rates = []
    for week in range(HORIZON_DAYS // 7 + 1):
        start = today + timedelta(days=7 * week)
        price = 80 + (index * 7 + week * 13) % 90
        end = start + timedelta(days=6)
        rates.append({"date_from": str(start), "date_to": str(end), "price": f"{price}.00"})
    return rates


def _minstays(today: date) -> list[dict[str, Any]]:
    stays = [
        {"date_from": str(today + timedelta(days=d)), "date_to": str(today + timedelta(days=d + 1)),
         "minstay": 2}
        for d in range(5, HORIZON_DAYS, 28)
    ]  # fmt: skip
    season = {"date_from": str(today + timedelta(days=150)),
              "date_to": str(today + timedelta(days=210)), "minstay": 3}  # fmt: skip
    return [*stays, season]


def make_property(index: int, today: date) -> dict[str, Any]:
    """One vendor property: weekly prices, weekend and seasonal minimum stays, two closures."""
    uid = str(100_000 + index)  # digits: the engine keeps remote uids as integers
    closures = [
        {"id": "works", "date_from": str(today + timedelta(days=60 + index % 30)),
         "date_to": str(today + timedelta(days=62 + index % 30)), "room_remote_ids": []},
        {"id": "room-b", "date_from": str(today + timedelta(days=100)),
         "date_to": str(today + timedelta(days=104)), "room_remote_ids": [f"{uid}-B"]},
    ]  # fmt: skip
    return {
        "remote_uid": uid,
        "name": f"Hotel {uid}",
        "country": "GB",
        "region_id": 1,
        "ptype_id": 1,
        "max_people": 4,
        "base_price": "95.00",
        "rooms": [_room(uid, "A", 1), _room(uid, "B", 2)],
        "rates": _weekly_rates(index, today),
        "minstays": _minstays(today),
        "closures": closures,
    }


def one_percent_changes(today: date, rng: random.Random) -> dict[int, list[dict[str, str]]]:
    """New one-night prices for 1 % of all (property, night) cells, by property index."""
    cells = rng.sample(range(PROPERTIES * HORIZON_DAYS), int(PROPERTIES * HORIZON_DAYS * 0.01))
    changes: dict[int, list[dict[str, str]]] = {}
    for cell in cells:
        prop, night = divmod(cell, HORIZON_DAYS)
        day = str(today + timedelta(days=night))
        price = f"{200 + rng.randrange(50)}.00"
        changes.setdefault(prop, []).append({"date_from": day, "date_to": day, "price": price})
    return changes


def changed_property(index: int, today: date, changes: dict[int, list[dict[str, str]]]) -> Any:
    prop = make_property(index, today)
    prop["rates"].extend(changes.get(index, []))
    return prop


def write_inventory(path: Path, props: Iterable[dict[str, Any]]) -> None:
    """Write the document one property at a time: the bench never holds the whole of it, so
    the peak RSS measured in this process is the worker's, not the vendor's."""
    temp = path.with_suffix(".tmp")
    with temp.open("w", encoding="utf-8") as out:
        out.write('{"properties": [')
        for index, prop in enumerate(props):
            out.write((", " if index else "") + json.dumps(prop))
        out.write("]}")
    temp.replace(path)


def make_settings(api_url: str, tmp: Path) -> Settings:
    return Settings(
        api_url=api_url,
        client_id="demo",
        client_secret=SECRET,
        scopes="read write delete",
        channel_name="bench",
        inventory=tmp / "inventory.json",
        state_dir=tmp / "state",
        horizon_days=HORIZON_DAYS,
        log_level="WARNING",
        http=HttpSettings(rate_limit_per_s=1e6, rate_limit_burst=1_000_000),
    )


async def open_context(settings: Settings, client: BookyFlowClient, today: date) -> SyncContext:
    """What the service builds at start-up: announce, owned list, state, source, sink."""
    cmf = Cmf(client)
    owned = OwnedProperties()
    cmf.owned = owned.owns
    await cmf.announce()
    owned.replace((p.local_property_uid, p.remote_property_uid) for p in await cmf.property_ids())
    assert settings.inventory is not None
    clock = SystemClock()
    return SyncContext(
        settings=settings,
        cmf=cmf,
        state=await StateStore.open(settings.state_dir),
        source=JsonFileInventorySource(settings.inventory),
        sink=await JsonLinesBookingSink.open(settings.bookings_path),
        owned=owned,
        gates=PropertyGates.from_settings(settings, clock),
        clock=clock,
        today=lambda: today,
    )


async def sync_all(ctx: SyncContext) -> None:
    for job in JOBS.values():
        result = await run_job(job, ctx)
        if not result.ok:
            raise RuntimeError(f"job {job.name} failed: {result.errors[:3]}")


def _nightly(values: dict[date, Any]) -> list[Span[Any]]:
    return [Span(day, day, value) for day, value in values.items()]


async def naive_push(ctx: SyncContext, today: date, *, merge: bool) -> None:
    """The baseline: every property's whole horizon of prices and minimum stays, every time;
    one entry per night, or (``merge``) equal consecutive nights merged into one range."""
    shape = compress if merge else _nightly
    snapshot = await ctx.source.load()
    start, end = horizon(today, HORIZON_DAYS)
    for prop in snapshot.properties:
        uid = ctx.owned.uid_of(prop.remote_uid)
        assert uid is not None
        cells = desired_for(prop, start, end)
        prices = [RateRange(date_from=s.date_from, date_to=s.date_to, ratepernight=s.value)
                  for s in shape({d: c.price for d, c in cells.items()})]  # fmt: skip
        stays = [MinStayRange(date_from=s.date_from, date_to=s.date_to, minstay=s.value)
                 for s in shape({d: c.minstay for d, c in cells.items()})]  # fmt: skip
        for i in range(0, len(prices), MAX_RANGES_PER_CALL):
            await ctx.cmf.set_prices(uid, prices[i : i + MAX_RANGES_PER_CALL])
        for i in range(0, len(stays), MAX_RANGES_PER_CALL):
            await ctx.cmf.set_minstays(uid, stays[i : i + MAX_RANGES_PER_CALL])


def report(phase: str, meter: Meter) -> None:
    assert meter.traffic is not None
    emit(f"{phase}_sync_wall_s", meter.wall_s)
    emit(f"{phase}_sync_requests", meter.traffic.requests)
    emit(f"{phase}_sync_writes", meter.traffic.writes)
    emit(f"{phase}_sync_bytes_sent", meter.traffic.bytes)
    emit(f"{phase}_worker_cpu_s", meter.cpu_s)
    emit(f"{phase}_sandbox_cpu_s", meter.site_cpu_s)


async def main() -> None:
    configure_logging(level="WARNING")
    today = datetime.now(UTC).date()
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        # The vendor's documents are streamed to disk: only the worker's memory is measured.
        write_inventory(
            tmp / "inventory.json", (make_property(i, today) for i in range(PROPERTIES))
        )
        async with SandboxProcess() as site:
            settings = make_settings(site.api_url, tmp)
            async with BookyFlowClient(settings) as client:
                ctx = await open_context(settings, client, today)
                emit("properties", PROPERTIES)
                async with Meter(site) as first:
                    await sync_all(ctx)
                report("first", first)
                emit("first_sync_cpu_ms_per_property", first.cpu_s * 1000 / PROPERTIES)
                async with Meter(site) as unchanged:
                    await sync_all(ctx)
                report("unchanged", unchanged)
                emit("after_first_sync_peak_rss_mb", peak_rss_mb())
                changes = one_percent_changes(today, random.Random(7))
                changed = sum(len(nights) for nights in changes.values())
                write_inventory(
                    tmp / "inventory.json",
                    (changed_property(i, today, changes) for i in range(PROPERTIES)),
                )
                del changes
                async with Meter(site) as delta:
                    await sync_all(ctx)
                report("delta", delta)
                worker_peak_rss_mb = peak_rss_mb()  # before the baseline, which is not the worker
                async with Meter(site) as naive:
                    await naive_push(ctx, today, merge=False)
                report("naive", naive)
                async with Meter(site) as merged:
                    await naive_push(ctx, today, merge=True)
                report("naive_merged", merged)
                await ctx.state.close()
                await ctx.sink.close()
    assert unchanged.traffic is not None
    assert delta.traffic is not None
    assert naive.traffic is not None
    assert merged.traffic is not None
    emit("delta_bytes_ratio_vs_merged_ranges", delta.traffic.bytes / merged.traffic.bytes)
    emit("delta_changed_cells", changed)
    emit("delta_writes_per_changed_property", delta.traffic.writes / max(1, PROPERTIES))
    emit("unchanged_sync_writes", unchanged.traffic.writes)
    emit("delta_bytes_ratio", delta.traffic.bytes / naive.traffic.bytes)
    emit("peak_rss_mb", worker_peak_rss_mb)


if __name__ == "__main__":
    asyncio.run(main())
