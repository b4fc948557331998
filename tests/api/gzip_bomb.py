"""Peak memory of one gzip bomb, measured in a fresh process: ``python -m tests.api.gzip_bomb``.

A loopback aiohttp.web site streams 2 GiB of zeros as 2 MB of gzip; a ``BookyFlowClient`` with
the default settings (``BOOKYFLOW_HTTP__MAX_RESPONSE_BYTES``, 8 MiB) asks for it. Prints
``error=<class>``, ``inflated_mib=<n>`` and ``peak_rss_mb=<n>`` (``ru_maxrss`` of this process,
server included). Before the cap the same request took the worker to 6.4 GB (issue 11).
``BOMB_MIB`` sets the inflated size.
"""

from __future__ import annotations

import asyncio
import os
import resource
from pathlib import Path

from tests.api.client_support import FAST_HTTP, make_settings
from tests.api.hostile_site import MIB, HostileSite, gzip_bomb, serving
from worker.api.client import BookyFlowClient
from worker.errors import BookyFlowError

INFLATED_MIB = int(os.environ.get("BOMB_MIB", "2048"))


async def _fetch() -> str:
    site = HostileSite()
    async with serving(site, {"/api/bomb": gzip_bomb(INFLATED_MIB * MIB)}):
        settings = make_settings(site.api_url, http=FAST_HTTP, max_attempts=1)
        async with BookyFlowClient(settings) as client:
            try:
                await client.request("GET", "bomb")
            except BookyFlowError as exc:
                return type(exc).__name__
    return "none"


def _peak_rss_kib() -> float:
    """This process's own high-water RSS: ``VmHWM`` (per address space, so it starts afresh at
    exec). ``ru_maxrss`` does not: Linux carries the parent's high-water mark across a
    vfork + exec, so a child of a 320 MB pytest process reported 320 MB whatever it did."""
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return float(line.split()[1])
    return float(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main() -> None:
    error = asyncio.run(_fetch())
    peak_mb = _peak_rss_kib() / 1024
    print(f"error={error}")
    print(f"inflated_mib={INFLATED_MIB}")
    print(f"peak_rss_mb={peak_mb:.1f}", flush=True)


if __name__ == "__main__":
    main()
