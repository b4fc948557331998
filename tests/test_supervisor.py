"""Many sites in one process: sites run apart, a failing one is reported and retried slowly."""

from __future__ import annotations

import asyncio
import gc
import json
import os
import shutil
import signal
from collections.abc import AsyncIterator, Iterator, Mapping, MutableMapping, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
import structlog
from structlog.testing import capture_logs

from tests.conftest import SandboxFactory
from tests.metrics_support import Scrape
from tests.polling import wait_until
from worker.heap import YOUNG_THRESHOLD
from worker.sandbox import ClientSpec, Sandbox
from worker.settings import Settings
from worker.signals import SignalStop
from worker.sites import SiteSettings
from worker.supervisor import Supervisor
from worker.testing import FakeClock

EXAMPLE = Path(__file__).resolve().parents[1] / "config" / "inventory.example.json"
SCOPES = ("read", "write", "delete")
LABELS = ("alpha", "bravo", "charlie")


def _settings(sandbox: Sandbox, tmp_path: Path, label: str, secret: str) -> Settings:
    inventory = tmp_path / f"{label}.json"
    shutil.copy(EXAMPLE, inventory)
    return Settings(
        api_url=sandbox.api_url, client_id=label, client_secret=secret, channel_name="acme",
        inventory=inventory, state_dir=tmp_path / "state" / label,
        http={"rate_limit_per_s": 500, "rate_limit_burst": 100},
    )  # fmt: skip


@pytest.fixture
async def sandbox3(sandbox_factory: SandboxFactory) -> Sandbox:
    """One sandbox, three clients (each its own owner); ``charlie`` is configured wrongly."""
    clients = [ClientSpec(label, f"secret-{label}", SCOPES) for label in LABELS]
    return await sandbox_factory(clients=clients)


def _sites(sandbox: Sandbox, tmp_path: Path) -> list[SiteSettings]:
    secrets = {"alpha": "secret-alpha", "bravo": "secret-bravo", "charlie": "wrong-secret"}
    return [
        SiteSettings(label, _settings(sandbox, tmp_path, label, secrets[label])) for label in LABELS
    ]


def _synced(sandbox: Sandbox, client: str) -> list[str]:
    return sorted(str(p["remote_uid"]) for p in sandbox.store.properties_of(client, "acme"))


@asynccontextmanager
async def running(supervisor: Supervisor) -> AsyncIterator[asyncio.Task[None]]:
    """``supervisor.run()`` in a task; stopped, drained and closed on the way out."""
    task = asyncio.create_task(supervisor.run())
    try:
        yield task
    finally:
        supervisor.request_stop("test")
        await task
        await supervisor.close()


def test_restart_delay_doubles_from_a_minute_to_a_quarter_hour(tmp_path: Path) -> None:
    """A failing site is retried after 60 s, then 120, 240, 480, and never later than 900 s."""
    process = Settings(
        api_url="http://127.0.0.1:9", client_id="unused", client_secret="unused",
        channel_name="acme", state_dir=tmp_path / "state",
    )  # fmt: skip
    supervisor = Supervisor(process, [])
    delays = [supervisor.restart_backoff.delay_s(n) for n in range(1, 7)]
    assert delays == [60, 120, 240, 480, 900, 900]


async def test_a_rejected_site_does_not_stop_the_others(sandbox3: Sandbox, tmp_path: Path) -> None:
    """Two good sites sync while the one with a wrong secret is logged as failed and waits."""
    clock = FakeClock()
    supervisor = Supervisor(_process(sandbox3, tmp_path), _sites(sandbox3, tmp_path),
                            clock=clock)  # fmt: skip
    with capture_logs() as logs:
        async with running(supervisor):
            everything = ["1001", "2001", "3001"]
            await wait_until(
                lambda: _synced(sandbox3, "alpha") == _synced(sandbox3, "bravo") == everything,
                "alpha and bravo synced",
            )
            await wait_until(lambda: supervisor.runs["charlie"].state == "failed", "charlie failed")
            assert _synced(sandbox3, "alpha") == everything
            assert _synced(sandbox3, "charlie") == []
            charlie = supervisor.runs["charlie"]
            assert (charlie.failures, charlie.last_error_type) == (1, "CredentialsRejected")
            assert supervisor.ready
    failed = [entry for entry in logs if entry["event"] == "site.failed"]
    assert [(e["site"], e["error_type"], e["retry_in_s"]) for e in failed] == [
        ("charlie", "CredentialsRejected", 60.0)
    ]
    assert all("wrong-secret" not in json.dumps(entry, default=str) for entry in logs)
    assert {run.state for run in supervisor.runs.values()} == {"stopped", "failed"}


async def test_a_failed_site_is_retried_on_the_slow_schedule(
    sandbox3: Sandbox, tmp_path: Path
) -> None:
    """After the back-off the site starts again: still rejected first, then synced once fixed."""
    clock = FakeClock()
    sites = [site for site in _sites(sandbox3, tmp_path) if site.label == "charlie"]
    supervisor = Supervisor(_process(sandbox3, tmp_path), sites, clock=clock,
                            heartbeat_file_interval_s=1e6)  # fmt: skip
    charlie = supervisor.runs["charlie"]
    async with running(supervisor):
        await wait_until(
            lambda: charlie.failures == 1 and clock.next_deadline == 1060.0, "the first failure"
        )
        clock.advance(59)
        await clock.run_until_idle()  # everything woken by 59 s has run and waits again
        assert charlie.failures == 1  # not before the minute is up
        assert clock.next_deadline == 1060.0  # still parked on the restart
        clock.advance(1)
        await wait_until(
            lambda: charlie.failures == 2 and clock.next_deadline == 1180.0, "the second failure"
        )
        sandbox3.store.add_client(ClientSpec("charlie", "wrong-secret", SCOPES))  # the fix
        clock.advance(120)
        await wait_until(
            lambda: _synced(sandbox3, "charlie") == ["1001", "2001", "3001"], "charlie synced"
        )
        assert charlie.state == "running"


async def test_sync_once_reports_each_site(sandbox3: Sandbox, tmp_path: Path) -> None:
    """``run_once`` runs every site once side by side; only the rejected site is not ok."""
    supervisor = Supervisor(_process(sandbox3, tmp_path), _sites(sandbox3, tmp_path))
    assert await supervisor.run_once() == {"alpha": True, "bravo": True, "charlie": False}
    assert _synced(sandbox3, "bravo") == ["1001", "2001", "3001"]


async def test_health_is_one_process_view_with_site_labels(
    sandbox3: Sandbox, tmp_path: Path
) -> None:
    """``/readyz`` is ready with one ready site; ``/metrics`` labels per-site series by site."""
    supervisor = Supervisor(_process(sandbox3, tmp_path), _sites(sandbox3, tmp_path),
                            clock=FakeClock())  # fmt: skip
    assert not supervisor.ready
    async with running(supervisor):
        await wait_until(
            lambda: (
                supervisor.runs["alpha"].ready
                and supervisor.runs["bravo"].ready
                and supervisor.runs["charlie"].failures
            ),
            "alpha and bravo ready and charlie failed",
        )
        assert supervisor.ready
        scrape = Scrape(supervisor.telemetry.render())
        assert scrape.value("bookyflow_site_ready", site="alpha") == 1
        assert scrape.value("bookyflow_site_ready", site="charlie") == 0
        snapshot = supervisor.snapshot()
        assert (snapshot["sites_total"], snapshot["sites_ready"]) == (3, 2)
        assert snapshot["sites"]["charlie"]["state"] == "failed"
        assert "alpha/properties" in snapshot["jobs"]  # the healthcheck's stall check sees it
        heartbeat = json.loads((tmp_path / "state" / "heartbeat.json").read_text())
        assert heartbeat["sites_total"] == 3  # one heartbeat file for the process


async def test_sighup_reloads_every_running_site(sandbox3: Sandbox, tmp_path: Path) -> None:
    """SIGHUP under the supervisor reopens each running site's bookings file and re-reads its
    inventory (one ``worker.reload`` per site, labelled); the failed site is named as such."""
    sites = _sites(sandbox3, tmp_path)
    supervisor = Supervisor(_process(sandbox3, tmp_path), sites, clock=FakeClock())
    bookings = {site.label: site.settings.bookings_path for site in sites}
    inventory = json.loads(EXAMPLE.read_text())
    inventory["properties"] = inventory["properties"][:1]
    with capture_logs(processors=[structlog.contextvars.merge_contextvars]) as logs:
        async with running(supervisor) as task:
            await wait_until(
                lambda: supervisor.runs["alpha"].ready and supervisor.runs["bravo"].ready,
                "alpha and bravo ready",
            )
            await wait_until(lambda: supervisor.runs["charlie"].state == "failed", "charlie failed")
            bookings["alpha"].unlink()  # logrotate moved it away
            assert sites[1].settings.inventory is not None
            sites[1].settings.inventory.write_text(json.dumps(inventory))
            with SignalStop(supervisor, task) as signals:
                assert signals._installed  # the test runs in the main thread
                os.kill(os.getpid(), signal.SIGHUP)
                await wait_until(lambda: _reloaded(logs), "both sites' reloads")
            assert bookings["alpha"].is_file()
            bravo = supervisor.runs["bravo"].worker
            assert bravo is not None
            assert bravo.inventory is not None
            assert len(bravo.inventory.properties) == 1
    reloads = [entry for entry in logs if entry["event"] == "worker.reload"]
    assert sorted(entry["site"] for entry in reloads) == ["alpha", "bravo"]
    assert all(entry["ok"] and entry["sink_reopened"] for entry in reloads)
    [summary] = [entry for entry in logs if entry["event"] == "supervisor.reload"]
    assert (summary["sites"], summary["not_running"]) == (["alpha", "bravo"], ["charlie"])


def _reloaded(logs: Sequence[Mapping[str, Any]]) -> bool:
    """Both running sites logged their reload, or a reload was refused (the test then fails)."""
    reloads = [entry for entry in logs if entry["event"] == "worker.reload"]
    return len(reloads) >= 2 or any(not entry["ok"] for entry in reloads)


def _process(sandbox: Sandbox, tmp_path: Path) -> Settings:
    """Process-wide settings: the state root of this process."""
    return Settings(
        api_url=sandbox.api_url, client_id="unused", client_secret="unused",
        channel_name="acme", state_dir=tmp_path / "state",
    )  # fmt: skip


@pytest.fixture
def unfrozen() -> Iterator[None]:
    """The test's ``gc.freeze()`` and thresholds undone after it, for the rest of the suite."""
    thresholds = gc.get_threshold()
    yield
    gc.unfreeze()
    gc.set_threshold(*thresholds)


async def test_the_heap_settles_once_started_and_once_first_cycles_end(
    sandbox3: Sandbox, tmp_path: Path, unfrozen: None
) -> None:
    """One ``heap.settled`` line once every site has started (charlie's failure is not waited
    for), another once alpha's and bravo's first cycles have ended; the objects are frozen."""
    clock = FakeClock()
    supervisor = Supervisor(_process(sandbox3, tmp_path), _sites(sandbox3, tmp_path),
                            clock=clock)  # fmt: skip

    def settled() -> list[MutableMapping[str, Any]]:
        return [entry for entry in logs if entry["event"] == "heap.settled"]

    with capture_logs() as logs:
        async with running(supervisor):
            await wait_until(lambda: len(settled()) == 1, "settled once started")
            assert supervisor.runs["charlie"].state == "failed"
            await wait_until(lambda: len(settled()) == 2, "settled after the first cycles")
            workers = [supervisor.runs[label].worker for label in ("alpha", "bravo")]
            assert all(worker is not None and worker.first_cycle_ended for worker in workers)
            assert settled()[-1]["frozen_objects"] > 0
            assert gc.get_freeze_count() > 0
            assert gc.get_threshold()[0] == YOUNG_THRESHOLD
    assert [entry["reason"] for entry in settled()] == ["sites started", "first cycles ended"]
