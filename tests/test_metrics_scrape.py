"""``/metrics`` of a worker (and of a supervisor) that synced against the sandbox over loopback,
scraped over HTTP and parsed with ``prometheus_client.parser``: every series of
``docs/metrics.md``, with its labels, plausible values, no ``site`` on histograms, no ids."""

from __future__ import annotations

import asyncio
import json
import re
import shutil
import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import SandboxFactory
from tests.metrics_support import Scrape, http_get
from tests.polling import wait_until
from worker.health import HEARTBEAT_FILE, evaluate_heartbeat, read_heartbeat
from worker.sandbox import ClientSpec, Sandbox
from worker.service import Worker
from worker.settings import Settings
from worker.sites import SiteSettings
from worker.supervisor import Supervisor

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "inventory.example.json"
DOC = Path(__file__).resolve().parents[1] / "docs" / "metrics.md"
JOBS = ("properties", "ari", "reservations", "bookings")
HISTOGRAMS = ("bookyflow_http_request_duration_seconds", "bookyflow_job_duration_seconds")
ROUTE = re.compile(r"^(/([a-z]+|\{id\}))+$")


def documented() -> dict[str, str]:
    """Series name -> type, from the table of docs/metrics.md."""
    rows = re.findall(r"^\| `(bookyflow_[a-z_]+)` \| (\w+) \|", DOC.read_text(), re.MULTILINE)
    return dict(rows)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def site_settings(sandbox: Sandbox, tmp_path: Path, name: str, **extra: Any) -> Settings:
    inventory = tmp_path / f"{name}.json"
    shutil.copy(EXAMPLE, inventory)
    return Settings(
        api_url=sandbox.api_url, client_id=name, client_secret=f"secret-{name}-123",
        channel_name="metrics", inventory=inventory, state_dir=tmp_path / "state" / name,
        http={"rate_limit_per_s": 1000, "rate_limit_burst": 200}, **extra,
    )  # fmt: skip


async def until(condition: Callable[[], bool]) -> None:
    """Poll (bounded: ``tests.polling``; nothing asserts on time)."""
    await wait_until(condition, "the worker's first cycle, heartbeat or sync")


@pytest.fixture
async def two_clients(sandbox_factory: SandboxFactory) -> Sandbox:
    clients = [ClientSpec(n, f"secret-{n}-123", ("read", "write", "delete")) for n in "ab"]
    return await sandbox_factory(clients=clients)


@asynccontextmanager
async def running_worker(settings: Settings) -> AsyncIterator[Worker]:
    worker = Worker(settings, heartbeat_file_interval_s=0.05)
    await worker.start()
    task = asyncio.create_task(worker.run())
    try:
        yield worker
    finally:
        worker.request_stop("test")
        await task
        await worker.close()


def assert_histograms_carry_no_site_and_no_ids(scrape: Scrape) -> None:
    for name in HISTOGRAMS:
        samples = scrape.find(f"{name}_count")
        assert samples, name
        assert all("site" not in s.labels for s in scrape.find(f"{name}_bucket"))
    routes = {s.labels["route"] for s in scrape.find(HISTOGRAMS[0] + "_count")}
    assert all(ROUTE.match(route) for route in routes), routes
    for samples in scrape.samples.values():
        for sample in samples:
            for key, value in sample.labels.items():
                # Bounded sets that are numbers by nature: Python's three GC generations, 0-2.
                if key not in ("le", "version", "python", "status_class", "generation"):
                    assert not re.search(r"\d", value), (sample.name, key, value)


async def test_a_synced_worker_exports_every_documented_series(
    two_clients: Sandbox, tmp_path: Path
) -> None:
    """After every job ran once, /metrics has each series of docs/metrics.md with its labels."""
    port = free_port()
    settings = site_settings(two_clients, tmp_path, "a", health_host="127.0.0.1", health_port=port)
    async with running_worker(settings) as worker:
        await until(lambda: all(worker.metrics.jobs[job].runs for job in JOBS))
        status, content_type, body = await http_get(port, "/metrics")
        assert (await http_get(port, "/readyz"))[0] == 200
        assert (await http_get(port, "/healthz"))[0] == 200
    assert status == 200
    assert content_type.startswith("text/plain; version=0.0.4")
    scrape = Scrape(body)
    assert len(documented()) == 22
    for name, kind in documented().items():
        family = scrape.families.get(name.removesuffix("_total"))
        assert family is not None, name
        assert family.type == kind, name
        # The file sink has no webhook attempts; the first cycle is no scheduled run, so no lag.
        if name not in ("bookyflow_webhook_attempts_total", "bookyflow_scheduler_lag_seconds"):
            assert family.samples, name
    assert_histograms_carry_no_site_and_no_ids(scrape)
    site = {"site": "default"}
    assert scrape.value("bookyflow_job_runs_total", job="properties", outcome="ok", **site) >= 1
    assert scrape.total("bookyflow_job_duration_seconds_count", job="ari") >= 1
    assert scrape.total("bookyflow_http_requests_total", status_class="2xx", **site) > 10
    assert scrape.value("bookyflow_token_refreshes_total", outcome="ok", **site) >= 1
    assert scrape.value("bookyflow_token_expires_in_seconds", **site) > 0
    assert scrape.value("bookyflow_breaker_state", **site) == 0
    assert scrape.value("bookyflow_site_ready", **site) == 1
    assert scrape.value("bookyflow_inventory_errors", **site) == 0
    assert scrape.value("bookyflow_job_interval_seconds", job="ari", **site) > 0
    reasons = {s.labels["reason"] for s in scrape.find("bookyflow_held_items", **site)}
    assert reasons == {"held", "incomplete", "reservation", "parked"}
    routes = {
        s.labels["route"] for s in scrape.find("bookyflow_http_request_duration_seconds_count")
    }
    assert {"/oauth/token", "/cmf/properties/ids", "/cmf/property/{id}"} <= routes


async def test_after_a_clean_stop_the_heartbeat_says_stopped(
    two_clients: Sandbox, tmp_path: Path
) -> None:
    """A drained worker's last heartbeat is marked stopped: the healthcheck fails at once."""
    settings = site_settings(two_clients, tmp_path, "a")
    path = Path(settings.state_dir) / HEARTBEAT_FILE
    async with running_worker(settings):
        await until(lambda: read_heartbeat(path) is not None)
        running = read_heartbeat(path)
        assert running is not None
        assert evaluate_heartbeat(running, float(running["written_at"]), self_pid=-1).ok
    data = read_heartbeat(path)
    assert data is not None
    assert data["stopped"] is True
    verdict = evaluate_heartbeat(data, float(data["written_at"]), self_pid=-1)
    assert (verdict.ok, verdict.reason) == (False, "the worker stopped (clean shutdown)")


async def test_the_supervisor_exports_per_site_series(two_clients: Sandbox, tmp_path: Path) -> None:
    """One registry for all sites: counters and gauges per ``site``, histograms without it."""
    port = free_port()
    process = Settings(
        api_url=two_clients.api_url, client_id="unused", client_secret="unused-secret",
        channel_name="metrics", state_dir=tmp_path / "state", health_host="127.0.0.1",
        health_port=port,
    )  # fmt: skip
    sites = [SiteSettings(n, site_settings(two_clients, tmp_path, n)) for n in "ab"]
    supervisor = Supervisor(process, sites)

    def synced() -> bool:
        return all(
            run.worker is not None and all(run.worker.metrics.jobs[j].runs for j in JOBS)
            for run in supervisor.runs.values()
        )

    task = asyncio.create_task(supervisor.run())
    try:
        await until(synced)
        _, _, body = await http_get(port, "/metrics")
    finally:
        supervisor.request_stop("test")
        await task
        await supervisor.close()
    scrape = Scrape(body)
    for label in "ab":
        assert scrape.value("bookyflow_site_ready", site=label) == 1
        ok = scrape.value("bookyflow_job_runs_total", site=label, job="bookings", outcome="ok")
        assert ok >= 1
        assert scrape.total("bookyflow_http_requests_total", site=label) > 0
        assert scrape.find("bookyflow_held_items", site=label, reason="incomplete")
    assert_histograms_carry_no_site_and_no_ids(scrape)
    heartbeat = json.loads((tmp_path / "state" / HEARTBEAT_FILE).read_text())
    assert heartbeat["stopped"] is True
