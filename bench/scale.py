"""Scale: 10, 100 and 1,000 sites × 10 properties in one worker process; 3 shards × 300 sites.

Every size runs one ``bookyflow-worker run`` process (a ``[[sites]]`` configuration, one
inventory file per site) against sandbox processes of its own (``bench/_scale_sandbox.py``:
each serves a share of the sites, every site its own client and port), so the worker's CPU and
memory are read from ``/proc`` for that process alone. Every job interval and the token lifetime
are the shipped defaults divided by one factor (``BENCH_SCALE_FACTOR``, default 10: properties
every 60 s, ARI 30 s, reservations 6 s, bookings 12 s, the token living 360 s), so every job runs
several times within the bench, at ten times the load of the shipped schedule. The per-site
politeness limits (rate limit, one write in flight per property) stay as shipped.

Per size, after the first full sync:

1. **unchanged window** (``BENCH_UNCHANGED_S``, default 150 s): nothing changes. Requests per
   site-hour by route family against what the schedules imply, write requests (the goal: 0),
   worker CPU seconds per site-hour, log lines per site-hour, RSS, and the scheduler lag
   (``bookyflow_scheduler_lag_seconds`` from ``/metrics``, p95 by interpolation in its buckets,
   as Prometheus's ``histogram_quantile`` does);
2. **change window** (``BENCH_CHANGE_S``, default 60 s): 1 % of the properties change price per
   minute (at least one change every 10 s, so the small sizes get samples too), each by
   rewriting that site's inventory file and renaming it into place. Change-to-site latency:
   from the rename to the answer of the site's last price write for that property (the sandbox
   notes when it answered it), p50/p95/p99.

Token requests per site per token lifetime come from each site's own token requests over the
whole run (``report_tokens``). At the largest size every fifth site has change-driven pushes off
(``change_poll_s = 0`` in its ``[[sites]]`` table): the polling baseline, measured in the same
process and the same change window, the changes to those sites timed apart. Its latency is
measured at the scaled intervals and also reported at the default ones (× the factor), since a
scheduled cycle's delay scales with its interval while a push's does not.

3 shard processes (``BOOKYFLOW_SHARD_COUNT=3``) run one 300-site configuration; each site's
``bookyflow_site_ready`` series must appear in exactly one shard's ``/metrics`` and every property
exist once on its site; the same figures are printed per shard.

The smaller sizes and the shard run go side by side (their figures are per process) while the
largest size does its first sync; the largest size's windows start once they have finished, so
they have the machine alone (its first-sync time is not: it shares the machine). Prints
``name=value`` lines. ``BENCH_SIZES`` (default ``10,100,1000``), ``BENCH_SHARD_SITES`` (300; 0
skips the shard run), ``BENCH_SANDBOXES``
(sandbox processes per run, default 4), ``BENCH_KEEP`` (a directory: keep logs and state).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import random
import shutil
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._scale_sandbox import SandboxGroup, Traffic
from bench._support import emit

FACTOR = float(os.environ.get("BENCH_SCALE_FACTOR", "10"))
KEEP = os.environ.get("BENCH_KEEP")  # a directory: keep each run's logs, state and inventories
SIZES = [int(s) for s in os.environ.get("BENCH_SIZES", "10,100,1000").split(",") if s]
SHARD_SITES = int(os.environ.get("BENCH_SHARD_SITES", "300"))
SHARDS = 3
SANDBOXES = int(os.environ.get("BENCH_SANDBOXES", "4"))
PROPERTIES = 10
CHANNEL = "scale"
# The shipped defaults (worker.settings.JobsSettings; the sandbox's token lifetime).
DEFAULT_INTERVALS_S = {"properties": 600.0, "ari": 300.0, "reservations": 60.0, "bookings": 120.0}
DEFAULT_TOKEN_TTL_S = 3600.0
INTERVALS_S = {job: interval / FACTOR for job, interval in DEFAULT_INTERVALS_S.items()}
TOKEN_TTL_S = DEFAULT_TOKEN_TTL_S / FACTOR
UNCHANGED_S = float(os.environ.get("BENCH_UNCHANGED_S", "150"))
CHANGE_S = float(os.environ.get("BENCH_CHANGE_S", "60"))
CHANGE_SHARE_PER_MIN = 0.01
MIN_CHANGES_PER_S = 0.1
SETTLE_TIMEOUT_S = 30.0
STOP_WITHIN_S = 60.0
# Every this many sites of the largest size, one is the polling baseline (``Site.polled``).
BASELINE_EVERY = 5
SYNC_POLL_S = 15.0  # a Prometheus's scrape interval: one 1,000-site scrape costs 0.3 CPU s
# What each job reads on an unchanged day, per run: the route families it sends.
READS_OF_JOB = {
    "properties": "GET /cmf/properties/ids",
    "bookings": "GET /cmf/properties/change/logs",
}
NIGHT_OFFSET_DAYS = 5  # the night whose price the change-to-site latency watches
BASE_PRICE = 100


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def percentile(values: Sequence[float], share: float) -> float:
    """Nearest-rank percentile of ``values`` (sorted or not); NaN when empty."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    rank = max(1, min(len(ordered), int(share * len(ordered) + 0.999999)))
    return ordered[rank - 1]


# --- the vendor's inventory --------------------------------------------------------------------


@dataclass
class Site:
    label: str
    client_id: str
    secret: str
    index: int  # within the run: remote uids are index * 100 + property
    url: str = ""
    image_base: str = ""
    inventory: Path = Path()
    prices: list[int] = field(default_factory=lambda: [BASE_PRICE] * PROPERTIES)
    polled: bool = False  # the polling baseline: ``change_poll_s = 0``, the scheduled cycles only

    def remote_uid(self, prop: int) -> str:
        return str(100_000 + self.index * 100 + prop)  # digits: the engine keeps them as integers


def property_doc(site: Site, prop: int) -> dict[str, Any]:
    uid = site.remote_uid(prop)
    today = date.today()
    return {
        "remote_uid": uid, "name": f"Hotel {uid}", "country": "GB", "region_id": 1,
        "ptype_id": 1, "max_people": 2, "base_price": "95.00",
        "rooms": [{"remote_id": f"{uid}-A", "room_type_id": 1, "name": "Double", "number": "1",
                   "max_people": 2}],
        "rates": [{"date_from": str(today + timedelta(days=1)),
                   "date_to": str(today + timedelta(days=30)),
                   "price": f"{site.prices[prop]:.2f}"}],
        "minstays": [], "closures": [], "reservations": [], "published": True,
        "content": {
            "address": {"street": f"{prop + 1} Harbour Road", "town": "St Ives",
                        "postcode": "TR26 1AA"},
            "location": {"lat": 50.2139, "long": -5.4804},
            "contacts": {"telephone": "+44 1736 000000", "email": f"stay-{uid}@vendor.example"},
            "stars": 4,
            "texts": {"en-GB": {"description": "A quiet hotel on the harbour.",
                                "checkin_times": "From 15:00", "terms": "Free cancellation."}},
            "images": [{"url": f"{site.image_base}main-{uid}.jpg", "kind": "main"}],
        },
    }  # fmt: skip


def write_inventory(site: Site) -> None:
    doc = {"properties": [property_doc(site, prop) for prop in range(PROPERTIES)]}
    temp = site.inventory.with_suffix(".tmp")
    temp.write_text(json.dumps(doc), encoding="utf-8")
    temp.replace(site.inventory)  # atomic: the worker never reads half a file


def write_config(root: Path, sites: Sequence[Site]) -> Path:
    lines = [
        f'channel_name = "{CHANNEL}"', f'state_dir = "{root / "state"}"', "horizon_days = 60",
        'log_level = "INFO"',
    ]  # fmt: skip
    for job, interval_s in INTERVALS_S.items():
        lines += [f"[jobs.{job}]", f"interval_s = {interval_s}"]
    for site in sites:
        lines += [
            "[[sites]]", f'name = "{site.label}"', f'api_url = "{site.url}"',
            f'client_id = "{site.client_id}"', f'client_secret = "{site.secret}"',
            f'inventory = "{site.inventory}"',
        ]  # fmt: skip
        if site.polled:
            lines.append("change_poll_s = 0")
    path = root / "sites.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


# --- the sandbox side --------------------------------------------------------------------------


class Sandboxes:
    """The run's sandbox processes; each site is served by one of them."""

    def __init__(self, sites: Sequence[Site]) -> None:
        count = max(1, min(SANDBOXES, len(sites)))
        self.shares = [list(sites[i::count]) for i in range(count)]
        self.groups = [
            SandboxGroup([(s.client_id, s.secret) for s in share], TOKEN_TTL_S)
            for share in self.shares
        ]
        self.group_of: dict[str, SandboxGroup] = {}
        self.uids: dict[tuple[str, str], int] = {}

    async def start(self) -> None:
        await asyncio.gather(*(group.start() for group in self.groups))
        for group, share in zip(self.groups, self.shares, strict=True):
            for site, url in zip(share, group.urls, strict=True):
                site.url, site.image_base = url, group.image_base
                self.group_of[site.client_id] = group

    async def stop(self) -> None:
        await asyncio.gather(*(group.stop() for group in self.groups))

    async def reset(self) -> None:
        await asyncio.gather(*(group.ask("reset") for group in self.groups))

    async def traffic(self) -> Traffic:
        total = Traffic()
        for traffic in await asyncio.gather(*(g.ask("traffic") for g in self.groups)):
            total = total.add(traffic)
        return total

    async def token_times(self) -> dict[str, list[float]]:
        found: dict[str, list[float]] = {}
        for times in await asyncio.gather(*(g.ask("token_times") for g in self.groups)):
            found.update(times)
        return found

    async def load_uids(self) -> int:
        found: dict[tuple[str, str], int] = {}
        for uids in await asyncio.gather(*(g.ask("uids", CHANNEL) for g in self.groups)):
            found.update(uids)
        self.uids = found
        return len(found)

    async def priced(self, checks: Iterable[tuple[int, Site, int, str]]) -> dict[int, float | None]:
        """Of ``(key, site, property, price)``, those whose watched night holds that price now,
        with when the property's last price write was answered."""
        night = str(date.today() + timedelta(days=NIGHT_OFFSET_DAYS))
        by_group: dict[int, list[tuple[int, int, str, str]]] = {}
        for key, site, prop, price in checks:
            uid = self.uids[(site.client_id, site.remote_uid(prop))]
            group = self.group_of[site.client_id]
            by_group.setdefault(id(group), []).append((key, uid, night, price))
        done: dict[int, float | None] = {}
        for group in self.groups:
            if id(group) in by_group:
                done.update(await group.ask("priced", by_group[id(group)]))
        return done


# --- the worker process ------------------------------------------------------------------------


def proc_status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM (KiB) of ``pid``."""
    found = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            found[name] = int(value.split()[0])
    return found


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of ``pid`` (all threads)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class WorkerProcess:
    """One ``bookyflow-worker run`` with the run's configuration and its own health port."""

    def __init__(self, config: Path, log: Path, env: Mapping[str, str] | None = None) -> None:
        self.config, self.log, self.extra_env = config, log, dict(env or {})
        self.port = free_port()
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("BOOKYFLOW_")}
        env.update(BOOKYFLOW_CONFIG_FILE=str(self.config), BOOKYFLOW_HEALTH_PORT=str(self.port))
        env.update(BOOKYFLOW_HEALTH_HOST="127.0.0.1", **self.extra_env)
        with self.log.open("ab") as out:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, "-m", "worker", "run", env=env,
                stdout=out, stderr=asyncio.subprocess.STDOUT,
            )  # fmt: skip

    async def stop(self) -> int:
        """SIGTERM (a drain), then SIGKILL if it has not ended within ``STOP_WITHIN_S``."""
        assert self.proc is not None
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            return await asyncio.wait_for(self.proc.wait(), STOP_WITHIN_S)
        except TimeoutError:
            self.proc.kill()
            return await self.proc.wait()

    async def metrics(
        self, session: aiohttp.ClientSession
    ) -> list[tuple[str, dict[str, str], float]]:
        """Its ``/metrics`` samples; none while it is not listening yet."""
        try:
            async with session.get(f"http://127.0.0.1:{self.port}/metrics") as response:
                return parse_metrics(await response.text())
        except aiohttp.ClientConnectionError:
            return []


def parse_metrics(text: str) -> list[tuple[str, dict[str, str], float]]:
    """The Prometheus text format's samples: (name, labels, value)."""
    samples = []
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        head, _, value = line.rpartition(" ")
        name, _, rest = head.partition("{")
        labels = {}
        for part in rest.rstrip("}").split('",') if rest else []:
            key, _, val = part.partition('="')
            labels[key] = val.rstrip('"')
        samples.append((name, labels, float(value)))
    return samples


Samples = Iterable[tuple[str, dict[str, str], float]]


def buckets(samples: Samples, histogram: str, **labels: str) -> Counter[float]:
    """A histogram's cumulative ``le -> count``, summed over its series that carry ``labels``."""
    found: Counter[float] = Counter()
    for name, got, value in samples:
        if name == f"{histogram}_bucket" and labels.items() <= got.items():
            found[float(got["le"])] += value
    return found


def total(samples: Samples, name: str) -> float:
    """The sum of every series of ``name``."""
    return sum(value for sample, _, value in samples if sample == name)


def lag_buckets(samples: Samples) -> Counter[float]:
    """The scheduler-lag histogram's cumulative bucket counts, every job together."""
    return buckets(samples, "bookyflow_scheduler_lag_seconds")


def gc_seconds(samples: Samples) -> float:
    """Seconds the collector stopped the process, every generation."""
    return total(samples, "bookyflow_gc_pause_seconds_sum")


def full_gc_buckets(samples: Samples) -> Counter[float]:
    """The full collections' pause buckets (generation 2)."""
    return buckets(samples, "bookyflow_gc_pause_seconds", generation="2")


def histogram_quantile(share: float, cumulative: Mapping[float, float]) -> float:
    """Prometheus's ``histogram_quantile`` over cumulative ``le -> count`` buckets."""
    bounds = sorted(cumulative)
    if not bounds or cumulative[bounds[-1]] <= 0:
        return float("nan")
    rank = share * cumulative[bounds[-1]]
    lower, below = 0.0, 0.0
    for bound in bounds:
        count = cumulative[bound]
        if count >= rank:
            if bound == float("inf"):
                return lower  # beyond the last finite bucket: its bound, as Prometheus does
            return lower + (bound - lower) * (rank - below) / max(count - below, 1e-12)
        lower, below = bound, count
    return bounds[-1]


def job_runs(samples: Samples) -> Counter[str]:
    runs: Counter[str] = Counter()
    for name, labels, value in samples:
        if name == "bookyflow_job_runs_total":
            runs[labels["job"]] += value
    return runs


def cycled_sites(samples: Samples) -> set[str]:
    """Sites with a finished bookings run: the last job of the first cycle."""
    return {
        labels["site"] for name, labels, value in samples
        if name == "bookyflow_job_runs_total" and labels.get("job") == "bookings" and value >= 1
    }  # fmt: skip


def served_sites(samples: Samples) -> set[str]:
    return {labels["site"] for name, labels, _ in samples if name == "bookyflow_site_ready"}


# --- measuring ---------------------------------------------------------------------------------


@dataclass
class Latencies:
    """Change-to-site seconds of one change window, pushed (change-driven sites) and polled."""

    pushed: list[float] = field(default_factory=list)
    polled: list[float] = field(default_factory=list)
    lost_pushed: int = 0  # changes that had not reached the site ``SETTLE_TIMEOUT_S`` after
    lost_polled: int = 0


@dataclass
class Window:
    """Worker CPU, lag buckets and site traffic over one measured window."""

    seconds: float
    cpu_s: dict[int, float]  # per worker pid
    lag: list[Counter[float]]  # per worker: bucket counts gained in the window
    traffic: Traffic
    job_runs: Counter[str]  # every worker's finished runs of each job, in the window
    log_lines: int  # lines the workers logged in the window
    gc_s: float  # seconds every worker's collector stopped it in the window
    full_gc: Counter[float]  # every worker's full collections in the window, by pause bucket


async def scrape_all(
    session: aiohttp.ClientSession, workers: Sequence[WorkerProcess]
) -> list[list[tuple[str, dict[str, str], float]]]:
    return list(await asyncio.gather(*(w.metrics(session) for w in workers)))


class Run:
    """One configuration (a size, or the shard run): sandboxes, workers, measurements."""

    def __init__(
        self, name: str, sites: int, root: Path, shards: int = 1, baseline: bool = False
    ) -> None:
        self.name, self.root, self.shards = name, root, shards
        self.sites = [
            Site(f"{name}-{i}", f"{name}-c{i}", f"{name}-secret-{i:04d}", i,
                 polled=baseline and i % BASELINE_EVERY == BASELINE_EVERY - 1)
            for i in range(sites)
        ]  # fmt: skip
        self.sandboxes = Sandboxes(self.sites)
        self.workers: list[WorkerProcess] = []
        self.rng = random.Random(sites)
        self.changes = 0

    async def start(self, session: aiohttp.ClientSession) -> float:
        """Sandboxes, inventories, the worker(s); seconds until every site synced and settled."""
        await self.sandboxes.start()
        for site in self.sites:
            site.inventory = self.root / f"inventory-{site.index}.json"
            write_inventory(site)
        config = write_config(self.root, self.sites)
        started = time.monotonic()
        self.workers = []
        for shard in range(self.shards):
            shard_env = {}
            if self.shards > 1:
                shard_env = {
                    "BOOKYFLOW_SHARD_COUNT": str(self.shards),
                    "BOOKYFLOW_SHARD_INDEX": str(shard),
                }
            worker = WorkerProcess(config, self.root / f"worker-{shard}.log", shard_env)
            await worker.start()
            self.workers.append(worker)
        await self.wait_synced(session)
        return time.monotonic() - started

    async def wait_synced(self, session: aiohttp.ClientSession) -> None:
        """Every site ready; every property on its site with the inventory's price; writes quiet.

        "Synced" waits for every site's first cycle to end (a finished bookings run, its last
        job: ``bookyflow_job_runs_total``), not only for the prices, so that the windows measure
        the steady state. Asked every ``SYNC_POLL_S``, and ``/metrics`` only until then: at a
        thousand sites one scrape costs the worker a third of a second of CPU.
        """
        wanted = {site.label for site in self.sites}
        ready: set[str] = set()  # sites whose first cycle has ended (its last job, bookings, ran)
        while True:
            self._check_alive()
            if not ready >= wanted:
                for samples in await scrape_all(session, self.workers):
                    ready |= cycled_sites(samples)
            if ready >= wanted and await self.sandboxes.load_uids() == len(self.sites) * PROPERTIES:
                checks = [
                    (i, site, prop, f"{site.prices[prop]:.2f}")
                    for i, (site, prop) in enumerate(self._all_properties())
                ]
                if len(await self.sandboxes.priced(checks)) == len(checks):
                    break
            await asyncio.sleep(SYNC_POLL_S)
        await self.wait_quiet()

    async def wait_quiet(self) -> None:
        """Until no write was answered for one ARI interval (the first cycles have ended)."""
        quiet_s = max(5.0, INTERVALS_S["ari"])
        while True:
            await self.sandboxes.reset()
            await asyncio.sleep(quiet_s)
            if (await self.sandboxes.traffic()).writes == 0:
                return

    def _all_properties(self) -> list[tuple[Site, int]]:
        return [(site, prop) for site in self.sites for prop in range(PROPERTIES)]

    def _check_alive(self) -> None:
        for worker in self.workers:
            assert worker.proc is not None
            if worker.proc.returncode is not None:
                tail = worker.log.read_text(errors="replace").splitlines()[-5:]
                raise RuntimeError(f"worker exited {worker.proc.returncode}: {tail}")

    async def window(
        self, session: aiohttp.ClientSession, seconds: float, *, changes: bool
    ) -> tuple[Window, Latencies]:
        """One measured window; with ``changes``, also the change-to-site latencies and how many
        changes did not reach the site within ``SETTLE_TIMEOUT_S``."""
        await self.sandboxes.reset()
        before = await scrape_all(session, self.workers)
        before_lines = self.log_lines()
        before_cpu = {w.pid: cpu_s(w.pid) for w in self.workers}
        started = time.monotonic()
        latencies = Latencies()
        if changes:
            latencies = await self._change_for(seconds)
        else:
            await asyncio.sleep(seconds)
        elapsed = time.monotonic() - started
        after = await scrape_all(session, self.workers)
        pairs = list(zip(after, before, strict=True))
        lag = [lag_buckets(now) - lag_buckets(then) for now, then in pairs]
        runs = sum((job_runs(now) - job_runs(then) for now, then in pairs), Counter())
        gc_s = sum(gc_seconds(now) - gc_seconds(then) for now, then in pairs)
        full_gc = sum(
            (full_gc_buckets(now) - full_gc_buckets(then) for now, then in pairs), Counter()
        )
        cpu = {w.pid: cpu_s(w.pid) - before_cpu[w.pid] for w in self.workers}
        traffic = await self.sandboxes.traffic()
        self._check_alive()
        lines = self.log_lines() - before_lines
        window = Window(elapsed, cpu, lag, traffic, runs, lines, gc_s, full_gc)
        return window, latencies

    def log_lines(self) -> int:
        total = 0
        for worker in self.workers:
            with worker.log.open("rb") as log:
                total += sum(chunk.count(b"\n") for chunk in iter(lambda: log.read(1 << 20), b""))
        return total

    async def _change_for(self, seconds: float) -> Latencies:
        """Change prices at the steady rate for ``seconds``; the latencies, and the lost ones,
        apart for the change-driven sites and the polled ones (the baseline)."""
        per_s = max(MIN_CHANGES_PER_S, len(self.sites) * PROPERTIES * CHANGE_SHARE_PER_MIN / 60)
        pending: dict[int, tuple[float, Site, int, str]] = {}
        latencies = Latencies()
        started = time.monotonic()
        next_change = started
        deadline = started + seconds
        while time.monotonic() < deadline or pending:
            now = time.monotonic()
            while now < deadline and next_change <= now:
                site = self.rng.choice(self.sites)
                prop = self.rng.randrange(PROPERTIES)
                self.changes += 1
                # A change not yet on the site is superseded by this one: it never will be.
                for key in [k for k, p in pending.items() if p[1] is site and p[2] == prop]:
                    del pending[key]
                site.prices[prop] = BASE_PRICE + self.changes
                write_inventory(site)
                pending[self.changes] = (time.monotonic(), site, prop, f"{site.prices[prop]:.2f}")
                next_change += 1.0 / per_s
            if pending:
                done = await self.sandboxes.priced(
                    (key, site, prop, price) for key, (_, site, prop, price) in pending.items()
                )
                for key, answered_at in done.items():
                    changed_at, site, _, _ = pending.pop(key)
                    took_s = (answered_at or time.monotonic()) - changed_at
                    (latencies.polled if site.polled else latencies.pushed).append(took_s)
            if now > deadline + SETTLE_TIMEOUT_S:
                break
            await asyncio.sleep(0.2)
        latencies.lost_pushed = sum(1 for p in pending.values() if not p[1].polled)
        latencies.lost_polled = len(pending) - latencies.lost_pushed
        return latencies

    async def stop_workers(self) -> list[int]:
        return [await worker.stop() for worker in self.workers]


# --- reporting ---------------------------------------------------------------------------------


def report_window(prefix: str, window: Window, sites: int) -> None:
    hours = window.seconds / 3600
    site_hours = sites * hours
    traffic = window.traffic
    reads = traffic.requests - traffic.writes - traffic.tokens
    emit(f"{prefix}_writes", traffic.writes)
    emit(f"{prefix}_reads_per_site_hour", round(reads / site_hours, 1))
    emit(
        f"{prefix}_reads_per_site_hour_at_default_intervals", round(reads / site_hours / FACTOR, 1)
    )
    for job, family in READS_OF_JOB.items():
        scheduled = window.seconds / INTERVALS_S[job] * sites  # what the schedule implies
        sent = traffic.by_family.get(family, 0)
        emit(f"{prefix}_{job}_reads_per_scheduled_run", round(sent / scheduled, 3))
        emit(f"{prefix}_{job}_reads_per_run", round(sent / max(1, window.job_runs[job]), 3))
    for job, interval_s in INTERVALS_S.items():
        runs = window.job_runs[job] / (window.seconds / interval_s * sites)
        emit(f"{prefix}_{job}_runs_per_scheduled_run", round(runs, 3))
    emit(f"{prefix}_log_lines_per_site_hour", round(window.log_lines / site_hours, 1))
    other = {f: n for f, n in traffic.by_family.items() if f not in READS_OF_JOB.values()}
    emit(f"{prefix}_other_requests", json.dumps(dict(sorted(other.items()))).replace(" ", ""))
    emit(f"{prefix}_worker_cpu_s_per_site_hour", round(sum(window.cpu_s.values()) / site_hours, 2))
    emit(f"{prefix}_sandbox_cpu_s", round(traffic.cpu_s, 1))
    report_gc(prefix, window.gc_s, window.full_gc, sum(window.cpu_s.values()))
    lag: Counter[float] = Counter()
    for buckets in window.lag:
        lag.update(buckets)
    emit(f"{prefix}_scheduled_runs", int(lag.get(float("inf"), 0)))
    emit(f"{prefix}_scheduler_lag_p50_s", round(histogram_quantile(0.5, lag), 3))
    emit(f"{prefix}_scheduler_lag_p95_s", round(histogram_quantile(0.95, lag), 3))


def report_gc(prefix: str, gc_s: float, full: Mapping[float, float], cpu_s: float) -> None:
    """The collector's share of the worker's CPU, and its full collections' pauses."""
    emit(f"{prefix}_gc_share_of_worker_cpu", round(gc_s / max(cpu_s, 1e-9), 3))
    emit(f"{prefix}_gc_full_collections", int(full.get(float("inf"), 0)))
    emit(f"{prefix}_gc_full_pause_p95_s", round(histogram_quantile(0.95, full), 3))


def report_tokens(prefix: str, times: Mapping[str, Sequence[float]], sites: int) -> float:
    """Token requests per site per token lifetime, from each site's own request times: the token
    lifetime over the mean gap between a site's successive requests (a storm shows as gaps near
    zero, so the smallest gap is printed too). Measured over the whole run, first token on."""
    gaps = [b - a for site in times.values() for a, b in itertools.pairwise(site)]
    refreshed = sum(1 for site in times.values() if len(site) > 1)
    per_lifetime = TOKEN_TTL_S / statistics.fmean(gaps) if gaps else float("nan")
    emit(f"{prefix}_token_requests_per_site_lifetime", round(per_lifetime, 3))
    emit(
        f"{prefix}_token_smallest_gap_lifetimes",
        round(min(gaps, default=float("nan")) / TOKEN_TTL_S, 3),
    )
    emit(f"{prefix}_token_refreshes", len(gaps))
    emit(f"{prefix}_sites_refreshed", f"{refreshed}/{sites}")
    return per_lifetime


def report_latency(prefix: str, latencies: Sequence[float], lost: int) -> None:
    emit(f"{prefix}_changes", len(latencies))
    emit(f"{prefix}_changes_not_arrived", lost)
    for share in (0.5, 0.95, 0.99):
        emit(f"{prefix}_p{int(share * 100)}_s", round(percentile(latencies, share), 2))


def report_memory(prefix: str, workers: Sequence[WorkerProcess], sites: int) -> dict[str, float]:
    rss = sum(proc_status(w.pid)["VmRSS"] for w in workers) / 1024
    peak = sum(proc_status(w.pid)["VmHWM"] for w in workers) / 1024
    emit(f"{prefix}_rss_mb", round(rss, 1))
    emit(f"{prefix}_peak_rss_mb", round(peak, 1))
    emit(f"{prefix}_rss_per_site_kb", round(rss * 1024 / sites))
    return {"rss": rss, "peak": peak}


async def run_size(
    session: aiohttp.ClientSession,
    sites: int,
    root: Path,
    baseline: bool,
    measure_after: asyncio.Event | None = None,
) -> dict[str, float]:
    """One size: its first sync, then (once ``measure_after`` is set) its windows."""
    run = Run(f"s{sites}", sites, root, baseline=baseline)
    prefix = f"sites_{sites}"
    try:
        first_s = await run.start(session)
        emit(f"{prefix}_first_sync_s", round(first_s, 1))
        await report_first_sync_gc(prefix, session, run)
        if measure_after is not None:
            waited = time.monotonic()
            await measure_after.wait()
            emit(f"{prefix}_waited_for_the_smaller_runs_s", round(time.monotonic() - waited, 1))
        unchanged, _ = await run.window(session, UNCHANGED_S, changes=False)
        memory = report_memory(prefix, run.workers, sites)
        report_window(f"{prefix}_unchanged", unchanged, sites)
        changed, latencies = await run.window(session, CHANGE_S, changes=True)
        report_window(f"{prefix}_changing", changed, sites)
        report_latency(f"{prefix}_change_to_site", latencies.pushed, latencies.lost_pushed)
        memory["peak"] = report_memory(prefix, run.workers, sites)["peak"]
        result = {
            **memory,
            "lag_p95": histogram_quantile(0.95, sum(unchanged.lag + changed.lag, Counter())),
            "writes": unchanged.traffic.writes,
            "tokens": report_tokens(prefix, await run.sandboxes.token_times(), sites),
            "p95": percentile(latencies.pushed, 0.95),
            "p99": percentile(latencies.pushed, 0.99),
        }
        if baseline:
            polled = latencies.polled
            report_latency(f"{prefix}_polling_change_to_site", polled, latencies.lost_polled)
            result["polling_p95"] = percentile(polled, 0.95)
            result["polling_p99"] = percentile(polled, 0.99)
        return result
    finally:
        await run.stop_workers()
        await run.sandboxes.stop()


async def report_first_sync_gc(prefix: str, session: aiohttp.ClientSession, run: Run) -> None:
    """The collector over start-up and the first sync (everything so far)."""
    scrapes = await scrape_all(session, run.workers)
    full = sum((full_gc_buckets(samples) for samples in scrapes), Counter())
    gc_s = sum(gc_seconds(samples) for samples in scrapes)
    report_gc(f"{prefix}_first_sync", gc_s, full, sum(cpu_s(w.pid) for w in run.workers))


async def run_shards(session: aiohttp.ClientSession, sites: int, root: Path) -> None:
    run = Run(f"sh{sites}", sites, root, shards=SHARDS)
    try:
        first_s = await run.start(session)
        emit("shards_first_sync_s", round(first_s, 1))
        served = [served_sites(s) for s in await scrape_all(session, run.workers)]
        everyone = [label for labels in served for label in labels]
        once = Counter(everyone)
        emit("shards_sites", sites)
        emit("shards_sites_served_once", sum(1 for n in once.values() if n == 1))
        emit("shards_sites_served_twice_or_more", sum(1 for n in once.values() if n > 1))
        emit("shards_sites_not_served", sites - len(once))
        emit("shards_properties_on_sites", await run.sandboxes.load_uids())
        unchanged, _ = await run.window(session, UNCHANGED_S, changes=False)
        changed, latencies = await run.window(session, CHANGE_S, changes=True)
        for index, worker in enumerate(run.workers):
            share = len(served[index])
            prefix = f"shard_{index}"
            emit(f"{prefix}_sites", share)
            status = proc_status(worker.pid)
            emit(f"{prefix}_rss_mb", round(status["VmRSS"] / 1024, 1))
            emit(f"{prefix}_peak_rss_mb", round(status["VmHWM"] / 1024, 1))
            hours = unchanged.seconds / 3600
            emit(
                f"{prefix}_worker_cpu_s_per_site_hour",
                round(unchanged.cpu_s[worker.pid] / share / hours, 2),
            )
            emit(
                f"{prefix}_scheduler_lag_p95_s",
                round(histogram_quantile(0.95, unchanged.lag[index] + changed.lag[index]), 3),
            )
        report_window("shards_unchanged", unchanged, sites)
        report_tokens("shards", await run.sandboxes.token_times(), sites)
        report_latency("shards_change_to_site", latencies.pushed, latencies.lost_pushed)
    finally:
        await run.stop_workers()
        await run.sandboxes.stop()


@contextlib.contextmanager
def run_root(name: str) -> Iterator[Path]:
    """A run's directory: a temporary one, or ``$BENCH_KEEP/<name>`` (emptied first) to keep."""
    if KEEP is None:
        with tempfile.TemporaryDirectory(prefix=f"{name}-") as tmp:
            yield Path(tmp)
        return
    root = Path(KEEP) / name
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    yield root


async def main() -> None:
    emit("scale_factor", FACTOR)
    emit("intervals_s", json.dumps(INTERVALS_S).replace(" ", ""))
    emit("token_lifetime_s", TOKEN_TTL_S)
    emit("properties_per_site", PROPERTIES)
    results: dict[int, dict[str, float]] = {}
    async with aiohttp.ClientSession() as session:
        largest = max(SIZES)

        async def size(sites: int, measure_after: asyncio.Event | None = None) -> None:
            with run_root(f"scale-{sites}") as root:
                results[sites] = await run_size(
                    session, sites, root, sites == largest, measure_after
                )

        async def shards() -> None:
            with run_root("scale-shards") as root:
                await run_shards(session, SHARD_SITES, root)

        # The smaller runs (and the shard run) side by side, while the largest one does its first
        # sync; the largest one's windows wait for them, so they have the machine alone.
        smaller_measured = asyncio.Event()
        largest_run = asyncio.ensure_future(size(largest, smaller_measured))
        try:
            smaller = [size(sites) for sites in SIZES if sites != largest]
            await asyncio.gather(*smaller, *([shards()] if SHARD_SITES else []))
            smaller_measured.set()
            await largest_run
        finally:
            largest_run.cancel()
            await asyncio.gather(largest_run, return_exceptions=True)
    top = results[largest]
    if len(SIZES) >= 3:
        small, middle = sorted(SIZES)[:2]
        low = (results[middle]["rss"] - results[small]["rss"]) / (middle - small)
        high = (results[largest]["rss"] - results[middle]["rss"]) / (largest - middle)
        emit("marginal_rss_per_site_kb_low", round(low * 1024, 1))
        emit("marginal_rss_per_site_kb_high", round(high * 1024, 1))
        emit(f"rss_per_site_ratio_{largest}_vs_{small}", round(high / low, 3))
    emit(f"sites_{largest}_peak_rss_mb", round(top["peak"], 1))
    emit("change_to_site_p95_s", round(top["p95"], 2))
    emit("change_to_site_p99_s", round(top["p99"], 2))
    emit("polling_change_to_site_p95_s", round(top.get("polling_p95", float("nan")), 2))
    emit(
        "polling_change_to_site_p95_at_default_intervals_s",
        round(top.get("polling_p95", float("nan")) * FACTOR, 1),
    )
    emit("scheduler_lag_p95_s", round(top["lag_p95"], 3))
    emit("unchanged_day_writes", int(sum(r["writes"] for r in results.values())))
    emit("token_requests_per_site_lifetime", round(top["tokens"], 3))


async def main_until_signal() -> None:
    """``main``, cancelled by SIGTERM/SIGINT so every run's ``finally`` stops its processes."""
    task = asyncio.ensure_future(main())
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, task.cancel)
    await task


if __name__ == "__main__":
    asyncio.run(main_until_signal())
