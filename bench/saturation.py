"""Saturation: with the politeness limits lifted, does the worker or the sandbox run out of CPU?

The workload is what the ARI job sends most: ``PUT cmf/property/prices`` with a handful of
ranges, spread over 20 properties, 16 in flight (rate limit and the one-write-per-property gate
lifted, a 16-connection pool). Batches go alternately through ``Cmf.set_prices`` (our client:
models, ownership guard, retry wrapper, breaker, gate, token, envelope parsing) and through a
bare ``aiohttp`` loop sending the identical form with the identical headers, so machine noise hits
both alike. The sandbox runs in its own process; each side's CPU seconds over the wall time give
``worker_cpu_pct`` and ``sandbox_cpu_pct`` (100 = one core busy). Goal: the sandbox is the one
saturated, and ``bare_aiohttp_speedup`` (our wall time / bare wall time) ≤ 1.2; the median of
the per-batch-pair ratios is reported beside it, as it is less moved by a noisy neighbour.
``BENCH_REQUESTS`` sets the requests per side (default 2000).
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import aiohttp

from bench._support import SandboxProcess, SiteStats, cpu_seconds, emit
from bench.sync_scale import make_property, make_settings, open_context, write_inventory
from worker.api.client import CHANNEL_HEADER, USER_AGENT, BookyFlowClient
from worker.api.cmf import Cmf, _json_list  # the identical form body on both sides
from worker.api.models import RateRange
from worker.logging import configure_logging
from worker.settings import HttpSettings, Settings
from worker.sync.job import run_job
from worker.sync.jobs import JOBS

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "2000"))
PROPERTIES = 20
IN_FLIGHT = 16
BATCH = 200


def price_ranges(today: date, n: int) -> list[RateRange]:
    start = today + timedelta(days=n % 300)
    return [
        RateRange(
            date_from=start + timedelta(days=2 * k),
            date_to=start + timedelta(days=2 * k + 1),
            ratepernight=Decimal(100 + (n + k) % 50),
        )
        for k in range(4)
    ]


async def seed(settings: Settings, tmp: Path, today: date) -> list[int]:
    """Create ``PROPERTIES`` complete properties (rooms, base price) through the jobs."""
    write_inventory(tmp / "inventory.json", [make_property(i, today) for i in range(PROPERTIES)])
    async with BookyFlowClient(settings) as client:
        ctx = await open_context(settings, client, today)
        for name in ("properties", "ari"):
            await run_job(JOBS[name], ctx)
        await ctx.state.close()
        await ctx.sink.close()
        return [uid for uid, _ in ctx.owned.items()]


def lifted(settings: Settings) -> Settings:
    http = HttpSettings(
        rate_limit_per_s=1e6, rate_limit_burst=1_000_000, max_connections_per_host=IN_FLIGHT
    )
    return settings.model_copy(update={"http": http})


class Side:
    """Accumulated wall time and CPU (ours, the site's) of one side of the comparison."""

    def __init__(self) -> None:
        self.wall_s = self.cpu_s = self.site_cpu_s = 0.0
        self.requests = 0
        self.batch_walls: list[float] = []


async def run_batch(
    site: SandboxProcess, side: Side, first: int, send: Callable[[int], Awaitable[None]]
) -> None:
    limit = asyncio.Semaphore(IN_FLIGHT)

    async def one(n: int) -> None:
        async with limit:
            await send(n)

    before: SiteStats = await site.stats()
    cpu, wall = cpu_seconds(), time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(first, first + BATCH)))
    side.batch_walls.append(time.perf_counter() - wall)
    side.wall_s += side.batch_walls[-1]
    side.cpu_s += cpu_seconds() - cpu
    side.site_cpu_s += (await site.stats()).cpu_s - before.cpu_s
    side.requests += BATCH


async def compare(site: SandboxProcess, client: BookyFlowClient, uids: list[int]) -> None:
    cmf = Cmf(client)
    cmf.owned = set(uids).__contains__
    await cmf.announce()
    today = datetime.now(UTC).date()
    token = await client.tokens.get()
    url = client.settings.base_url + "/cmf/property/prices"
    headers = {"Authorization": f"Bearer {token.value}", CHANNEL_HEADER: "bench"}
    forms = [
        {"property_uid": str(uid), "ratepernight": _json_list(price_ranges(today, n))}
        for n, uid in ((n, uids[n % len(uids)]) for n in range(BATCH * 2))
    ]

    async def ours(n: int) -> None:
        await cmf.set_prices(uids[n % len(uids)], price_ranges(today, n))

    connector = aiohttp.TCPConnector(limit_per_host=IN_FLIGHT)
    default = {"User-Agent": USER_AGENT, "Accept": "application/json"}
    async with aiohttp.ClientSession(connector=connector, headers=default) as session:

        async def bare(n: int) -> None:
            request_headers = {**headers, "X-Request-ID": uuid.uuid4().hex}
            form = forms[n % len(forms)]
            async with session.put(url, data=form, headers=request_headers) as response:
                response.raise_for_status()
                assert (await response.json())["data"]["response"] is not None

        sides = {"ours": Side(), "bare": Side()}
        await run_batch(site, Side(), 0, bare)  # warm both pools
        await run_batch(site, Side(), 0, ours)
        for k in range(max(1, REQUESTS // BATCH)):
            await run_batch(site, sides["bare"], k * BATCH, bare)
            await run_batch(site, sides["ours"], k * BATCH, ours)
    report(sides["ours"], sides["bare"])


def report(ours: Side, bare: Side) -> None:
    emit("requests_per_side", ours.requests)
    emit("worker_requests_per_s", ours.requests / ours.wall_s)
    emit("worker_cpu_pct", 100 * ours.cpu_s / ours.wall_s)
    emit("sandbox_cpu_pct", 100 * ours.site_cpu_s / ours.wall_s)
    emit("bare_requests_per_s", bare.requests / bare.wall_s)
    emit("bare_cpu_pct", 100 * bare.cpu_s / bare.wall_s)
    emit("bare_sandbox_cpu_pct", 100 * bare.site_cpu_s / bare.wall_s)
    emit("worker_cpu_ms_per_request", 1000 * ours.cpu_s / ours.requests)
    emit("bare_cpu_ms_per_request", 1000 * bare.cpu_s / bare.requests)
    # Per adjacent pair of batches, the median: one batch slowed by the shared machine moves
    # the total ratio, not the median.
    pairs = [o / b for o, b in zip(ours.batch_walls, bare.batch_walls, strict=True)]
    emit("bare_aiohttp_speedup_median_of_batches", statistics.median(pairs))
    emit("bare_aiohttp_speedup", ours.wall_s / bare.wall_s)


async def main() -> None:
    configure_logging(level="WARNING")
    today = datetime.now(UTC).date()
    with tempfile.TemporaryDirectory() as tmp_name:
        async with SandboxProcess() as site:
            settings = lifted(make_settings(site.api_url, Path(tmp_name)))
            uids = await seed(settings, Path(tmp_name), today)
            async with BookyFlowClient(settings) as client:
                await compare(site, client, uids)


if __name__ == "__main__":
    asyncio.run(main())
