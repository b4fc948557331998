"""Many sites per process: 100 sites × 10 properties in ONE ``bookyflow-worker run`` process.

One in-process sandbox serves 100 API clients (each its own owner, so 100 separate "sites" as far
as ownership goes); the worker runs as a subprocess with a ``[[sites]]`` TOML, short job
intervals, a raised rate limit and a short token TTL. Measured:

- ``memory_per_site_kb``: (RSS of the 100-site process − RSS of a 1-site process) / 99, both
  after their first full sync;
- ``token_requests_per_hour_per_site``: token requests counted over a steady window at the short
  TTL, scaled to the default 1-hour TTL (refreshes are proportional to 1/TTL); the measured rate
  at the short TTL is printed too;
- ``sync_lag_p95_s``: a price change written to every site's inventory file at once; per site,
  the time until the new price is on BookyFlow; the 95th percentile (ARI interval 5 s).

Prints ``name=value`` lines. ``BENCH_SITES`` shrinks the run (default 100). Under 3 minutes.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from worker.sandbox import ClientSpec, Sandbox

SITES = int(os.environ.get("BENCH_SITES", "100"))
PROPERTIES = 10
TOKEN_TTL_S = 30.0
TOKEN_WINDOW_S = 60.0
CHANNEL = "bench"
SCOPES = ("read", "write", "delete")
OLD_PRICE, NEW_PRICE = "120.00", "135.00"


def emit(name: str, value: float | int | str) -> None:
    print(f"{name}={value}", flush=True)


def make_property(site: int, index: int, price: str) -> dict[str, Any]:
    uid = str(site * 1000 + index)  # digits: the engine keeps remote uids as integers
    today = date.today()
    return {
        "remote_uid": uid, "name": f"Hotel {uid}", "country": "GB", "region_id": 1,
        "ptype_id": 1, "max_people": 2, "base_price": "95.00",
        "rooms": [{"remote_id": f"{uid}-A", "room_type_id": 1, "name": "Double", "number": "1",
                   "max_people": 2}],
        "rates": [{"date_from": str(today + timedelta(days=1)),
                   "date_to": str(today + timedelta(days=30)), "price": price}],
        "minstays": [], "closures": [], "reservations": [],
    }  # fmt: skip


def write_inventory(path: Path, site: int, price: str) -> None:
    props = [make_property(site, index, price) for index in range(PROPERTIES)]
    temp = path.with_suffix(".tmp")
    temp.write_text(json.dumps({"properties": props}), encoding="utf-8")
    temp.replace(path)  # atomic: the worker never reads half a file


def write_config(tmp: Path, sandbox: Sandbox, sites: int) -> Path:
    lines = [
        f'channel_name = "{CHANNEL}"', f'state_dir = "{tmp / "state"}"', "horizon_days = 60",
        'log_level = "WARNING"', "[jobs.properties]", "interval_s = 60", "[jobs.ari]",
        "interval_s = 5", "[jobs.reservations]", "interval_s = 30", "[jobs.bookings]",
        "interval_s = 30", "[http]", "rate_limit_per_s = 200", "rate_limit_burst = 50",
    ]  # fmt: skip
    for site in range(sites):
        inventory = tmp / f"inventory-{site}.json"
        write_inventory(inventory, site, OLD_PRICE)
        lines += [
            "[[sites]]", f'name = "s{site}"', f'api_url = "{sandbox.api_url}"',
            f'client_id = "c{site}"', f'client_secret = "secret-{site}"',
            f'inventory = "{inventory}"',
        ]  # fmt: skip
    path = tmp / f"sites-{sites}.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def synced(sandbox: Sandbox, sites: int) -> bool:
    return all(
        len(sandbox.store.properties_of(f"c{site}", CHANNEL)) == PROPERTIES for site in range(sites)
    )


def price_on_site(sandbox: Sandbox, site: int) -> str | None:
    props = sandbox.store.properties_of(f"c{site}", CHANNEL)
    first = next(p for p in props if str(p["remote_uid"]) == str(site * 1000))
    night = str(date.today() + timedelta(days=5))
    price = sandbox.store.calendar(int(first["property_uid"]), night, night)[night]["price"]
    return f"{float(price):.2f}"


async def wait_for(condition: Any, poll_s: float = 0.2) -> None:
    while True:
        if condition():
            return
        await asyncio.sleep(poll_s)


async def start_worker(config: Path) -> asyncio.subprocess.Process:
    env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKYFLOW_")}
    env["BOOKYFLOW_CONFIG_FILE"] = str(config)
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker", "run", env=env,
        stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip


async def stop(proc: asyncio.subprocess.Process) -> None:
    proc.terminate()
    await proc.wait()


def token_requests(sandbox: Sandbox) -> int:
    return sum(1 for entry in sandbox.journal.entries if entry.path.endswith("/oauth/token"))


async def measure_lag(sandbox: Sandbox, tmp: Path, sites: int) -> list[float]:
    started = time.monotonic()
    for site in range(sites):
        write_inventory(tmp / f"inventory-{site}.json", site, NEW_PRICE)
    lags: dict[int, float] = {}
    while len(lags) < sites:
        for site in range(sites):
            if site not in lags and price_on_site(sandbox, site) == NEW_PRICE:
                lags[site] = time.monotonic() - started
        await asyncio.sleep(0.1)
    return sorted(lags.values())


async def run_sites(sandbox: Sandbox, tmp: Path, sites: int) -> tuple[int, float]:
    """Start a process for ``sites``, wait for the first full sync; its RSS and sync seconds."""
    proc = await start_worker(write_config(tmp, sandbox, sites))
    started = time.monotonic()
    await wait_for(lambda: synced(sandbox, sites))
    first_sync_s = time.monotonic() - started
    await asyncio.sleep(2)  # let the first cycle's other jobs settle
    rss = rss_kb(proc.pid)
    if sites == 1:
        await stop(proc)
        return rss, first_sync_s
    tokens_before, window_start = token_requests(sandbox), time.monotonic()
    lags = await measure_lag(sandbox, tmp, sites)
    await asyncio.sleep(max(0.0, TOKEN_WINDOW_S - (time.monotonic() - window_start)))
    tokens = token_requests(sandbox) - tokens_before
    window_s = time.monotonic() - window_start
    await stop(proc)
    per_hour_short = tokens / sites / window_s * 3600
    emit("token_requests_per_hour_per_site_at_ttl_30s", round(per_hour_short, 1))
    emit("token_requests_per_hour_per_site", round(per_hour_short * TOKEN_TTL_S / 3600, 2))
    emit("sync_lag_p50_s", round(statistics.median(lags), 2))
    emit("sync_lag_p95_s", round(lags[max(0, int(len(lags) * 0.95) - 1)], 2))
    return rss, first_sync_s


async def main() -> None:
    clients = [ClientSpec(f"c{site}", f"secret-{site}", SCOPES) for site in range(SITES)]
    # The journal must hold the token window's requests (ARI every 5 s for every site).
    async with Sandbox(clients=clients, token_ttl_s=TOKEN_TTL_S) as sandbox:
        with tempfile.TemporaryDirectory() as one_dir:
            rss_one, _ = await run_sites(sandbox, Path(one_dir), 1)
        sandbox.journal.entries.clear()
        with tempfile.TemporaryDirectory() as many_dir:
            rss_many, first_sync_s = await run_sites(sandbox, Path(many_dir), SITES)
    emit("sites", SITES)
    emit("properties_per_site", PROPERTIES)
    emit("first_sync_all_sites_s", round(first_sync_s, 1))
    emit("rss_one_site_mb", round(rss_one / 1024, 1))
    emit("rss_all_sites_mb", round(rss_many / 1024, 1))
    emit("memory_per_site_kb", round((rss_many - rss_one) / max(1, SITES - 1)))


if __name__ == "__main__":
    asyncio.run(main())
