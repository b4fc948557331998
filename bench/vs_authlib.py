"""Against what an engineer would otherwise pick: httpx + Authlib's ``AsyncOAuth2Client``.

The same workload — the ARI job's ``PUT cmf/property/prices`` and ``GET cmf/property/calendar``,
alternating, over 20 properties, 4 in flight on a 4-connection pool — goes through our ``Cmf``
(typed calls, ownership guard, retry, breaker, token manager, envelope parsing) and through an
``AsyncOAuth2Client`` (client-credentials token fetched once and attached by Authlib, httpx pool,
``response.json()`` and the envelope unwrapped by hand), interleaved batch by batch in one run
against a sandbox in another process. The rate limit is lifted on our side (Authlib has none).
Prints ``vs_authlib_httpx_ratio`` = our wall time / theirs (goal < 1).
``BENCH_REQUESTS`` sets the requests per side (default 1200). Needs the ``bench`` extra.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import warnings

import httpx

with warnings.catch_warnings():  # Authlib 1.9 nudges httpx users towards "httpx2"
    warnings.simplefilter("ignore")
    from authlib.integrations.httpx_client import AsyncOAuth2Client  # type: ignore[import-untyped]

from bench._support import SECRET, SandboxProcess, emit
from bench.saturation import lifted, price_ranges, seed
from bench.sync_scale import make_settings
from worker.api.client import CHANNEL_HEADER, USER_AGENT, BookyFlowClient
from worker.api.cmf import Cmf, _json_list  # the same form body on both sides
from worker.logging import configure_logging

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "1200"))
IN_FLIGHT = 4
BATCH = 100


async def timed(send: Callable[[int], Awaitable[None]], first: int) -> float:
    limit = asyncio.Semaphore(IN_FLIGHT)

    async def one(n: int) -> None:
        async with limit:
            await send(n)

    started = time.perf_counter()
    await asyncio.gather(*(one(n) for n in range(first, first + BATCH)))
    return time.perf_counter() - started


def authlib_client(api_url: str) -> AsyncOAuth2Client:
    return AsyncOAuth2Client(
        client_id="demo",
        client_secret=SECRET,
        scope="read write delete",
        token_endpoint=api_url + "/oauth/token",
        token_endpoint_auth_method="client_secret_post",
        headers={"User-Agent": USER_AGENT, "Accept": "application/json", CHANNEL_HEADER: "bench"},
        limits=httpx.Limits(max_connections=IN_FLIGHT, max_keepalive_connections=IN_FLIGHT),
        timeout=httpx.Timeout(30.0, connect=5.0),
    )


def unwrap(response: httpx.Response) -> Any:
    response.raise_for_status()
    return response.json()["data"]["response"]


async def compare(cmf: Cmf, theirs: AsyncOAuth2Client, uids: list[int], today: date) -> float:
    base = cmf.client.settings.base_url
    end = today + timedelta(days=30)

    async def ours(n: int) -> None:
        uid = uids[n % len(uids)]
        if n % 2:
            await cmf.calendar(uid, today, end)
        else:
            await cmf.set_prices(uid, price_ranges(today, n))

    async def authlib(n: int) -> None:
        uid = uids[n % len(uids)]
        if n % 2:
            unwrap(await theirs.get(f"{base}/cmf/property/calendar/{uid}/{today}/{end}"))
        else:
            form = {"property_uid": str(uid), "ratepernight": _json_list(price_ranges(today, n))}
            unwrap(await theirs.put(f"{base}/cmf/property/prices", data=form))

    await timed(ours, 0)  # warm both pools
    await timed(authlib, 0)
    totals = {"ours": 0.0, "authlib": 0.0}
    for k in range(max(1, REQUESTS // BATCH)):
        totals["authlib"] += await timed(authlib, k * BATCH)
        totals["ours"] += await timed(ours, k * BATCH)
    return totals["ours"] / totals["authlib"]


async def main() -> None:
    configure_logging(level="WARNING")
    today = datetime.now(UTC).date()
    with tempfile.TemporaryDirectory() as tmp_name:
        async with SandboxProcess() as site:
            settings = lifted(make_settings(site.api_url, Path(tmp_name)))
            settings = settings.model_copy(
                update={"http": settings.http.model_copy(update={"max_connections_per_host": 4})}
            )
            uids = await seed(settings, Path(tmp_name), today)
            async with BookyFlowClient(settings) as client, authlib_client(site.api_url) as them:
                await them.fetch_token(grant_type="client_credentials")
                cmf = Cmf(client)
                cmf.owned = set(uids).__contains__
                await cmf.announce()
                ratio = await compare(cmf, them, uids, today)
    emit("requests_per_side", max(1, REQUESTS // BATCH) * BATCH)
    emit("vs_authlib_httpx_ratio", ratio)


if __name__ == "__main__":
    asyncio.run(main())
