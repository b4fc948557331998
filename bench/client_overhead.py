"""What ``BookyFlowClient`` costs over a bare ``aiohttp.ClientSession``, against the sandbox.

The same GET requests go through both, with identical headers, interleaved batch by batch in one
run so machine noise hits both alike. The site's polite rate limit is raised for the run: this
measures the client's own work (retry wrapper, breaker, gate, token, envelope), not the pacing.
Prints ``token_requests_for_200_callers=<n>`` and, last, ``client_overhead_ratio=<x>``
(goal ≤ 1.15). ``BENCH_REQUESTS`` sets the number of requests per side (default 600).
"""

from __future__ import annotations

import asyncio
import os
import time
import uuid
from collections.abc import Awaitable, Callable

import aiohttp

from worker.api.client import CHANNEL_HEADER, USER_AGENT, BookyFlowClient
from worker.api.cmf import Cmf
from worker.logging import configure_logging
from worker.sandbox import Sandbox
from worker.settings import HttpSettings, Settings

REQUESTS = int(os.environ.get("BENCH_REQUESTS", "600"))
BATCH = 50
CONCURRENCY = 4  # = max_connections_per_host: both sides use the same pool size
PATH = "cmf/versions"


def _settings(api_url: str) -> Settings:
    return Settings(
        api_url=api_url,
        client_id="demo",
        client_secret="s3cret-demo-secret",
        scopes="read write",
        channel_name="bench",
        http=HttpSettings(rate_limit_per_s=1e6, rate_limit_burst=1_000_000),
    )


async def _batch(limit: asyncio.Semaphore, one: Callable[[], Awaitable[None]]) -> float:
    async def guarded() -> None:
        async with limit:
            await one()

    started = time.perf_counter()
    await asyncio.gather(*(guarded() for _ in range(BATCH)))
    return time.perf_counter() - started


async def _overhead(client: BookyFlowClient, session: aiohttp.ClientSession) -> float:
    """Interleave batches through the client and the bare session; ratio of total times."""
    token = await client.tokens.get()
    url = client.settings.base_url + "/" + PATH
    headers = {
        "Authorization": f"Bearer {token.value}",
        CHANNEL_HEADER: client.settings.channel_name,
    }

    async def bare() -> None:
        request_headers = {**headers, "X-Request-ID": uuid.uuid4().hex}
        async with session.get(url, headers=request_headers) as response:
            response.raise_for_status()
            (await response.json())["data"]["response"]

    async def ours() -> None:
        await client.request("GET", PATH)

    limit = asyncio.Semaphore(CONCURRENCY)
    await _batch(limit, bare)  # warm both pools before measuring
    await _batch(limit, ours)
    totals = {"bare": 0.0, "ours": 0.0}
    for _ in range(max(1, REQUESTS // BATCH)):
        totals["bare"] += await _batch(limit, bare)
        totals["ours"] += await _batch(limit, ours)
    return totals["ours"] / totals["bare"]


async def _cold_start_token_requests(sandbox: Sandbox) -> int:
    sandbox.journal.clear()
    async with BookyFlowClient(_settings(sandbox.api_url)) as client:
        await asyncio.gather(*(client.request("GET", PATH) for _ in range(200)))
    return len(sandbox.journal.matching(method="POST", path="/oauth/token"))


async def main() -> None:
    configure_logging(level="WARNING")
    async with Sandbox() as sandbox:
        async with BookyFlowClient(_settings(sandbox.api_url)) as client:
            await Cmf(client).announce()
            connector = aiohttp.TCPConnector(limit_per_host=CONCURRENCY)
            default_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
            async with aiohttp.ClientSession(connector=connector, headers=default_headers) as s:
                ratio = await _overhead(client, s)
        token_requests = await _cold_start_token_requests(sandbox)
    print(f"requests_per_side={max(1, REQUESTS // BATCH) * BATCH}")
    print(f"token_requests_for_200_callers={token_requests}")
    print(f"client_overhead_ratio={ratio:.3f}")


if __name__ == "__main__":
    asyncio.run(main())
