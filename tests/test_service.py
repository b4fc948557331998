"""The worker lifecycle against the sandbox over loopback HTTP, with stand-in jobs."""

from __future__ import annotations

import asyncio
import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.conftest import SandboxFactory
from tests.metrics_support import Scrape
from tests.polling import wait_until
from worker.errors import (
    ConfigError,
    CredentialsRejected,
    OwnershipError,
    ServerError,
    StateLocked,
)
from worker.sandbox import Sandbox
from worker.sandbox.store import ClientSpec
from worker.scopes import missing_scopes
from worker.service import Worker
from worker.settings import BackoffSettings, RetrySettings, Settings, TokenSettings
from worker.sync.context import SyncContext
from worker.sync.job import Job, JobResult

CHANNEL = "svc-test"


@dataclass
class StandInJob:
    """A job that records its runs and can be held inside a run by ``gate``."""

    name: str
    scopes: tuple[str, ...] = ("read",)
    gate: asyncio.Event | None = None
    started: asyncio.Event = field(default_factory=asyncio.Event)
    runs: int = 0
    finished: int = 0
    log: list[str] | None = None

    async def run(self, ctx: SyncContext) -> JobResult:
        self.runs += 1
        self.started.set()
        if self.log is not None:
            self.log.append(self.name)
        if self.gate is not None:
            await self.gate.wait()
        self.finished += 1
        return JobResult(self.name)


def stand_ins(**overrides: Any) -> dict[str, StandInJob]:
    names = ("properties", "ari", "reservations", "bookings")
    return {name: StandInJob(name, **overrides) for name in names}


@pytest.fixture
def inventory(tmp_path: Path) -> Path:
    path = tmp_path / "inventory.json"
    path.write_text(json.dumps({"properties": []}))
    return path


def settings_for(sandbox: Sandbox, inventory: Path, tmp_path: Path, **kw: Any) -> Settings:
    values: dict[str, Any] = {
        "api_url": sandbox.api_url,
        "client_id": "demo",
        "client_secret": "s3cret-demo-secret",
        "channel_name": CHANNEL,
        "inventory": inventory,
        "state_dir": tmp_path / "state",
        "grace_s": 5.0,
        **kw,
    }
    return Settings(**values)


def jobs_of(jobs: dict[str, StandInJob]) -> dict[str, Job]:
    return dict(jobs)


async def test_start_announces_then_confirms_then_reconciles(
    sandbox: Sandbox, inventory: Path, tmp_path: Path
) -> None:
    """Start-up sends token, announce GET, announce POST, versions, properties/ids, in order."""
    settings = settings_for(sandbox, inventory, tmp_path)
    with capture_logs() as logs:
        async with Worker(settings, jobs=jobs_of(stand_ins())) as worker:
            assert worker.channel_id
            assert worker.ready
    paths = [(e.method, e.path.split("/api/")[1]) for e in sandbox.journal.entries]
    assert paths == [
        ("POST", "oauth/token"),
        ("GET", f"cmf/channel/announce/{CHANNEL}"),
        ("POST", f"cmf/channel/announce/{CHANNEL}/{CHANNEL}"),
        ("GET", "cmf/versions"),
        ("GET", "cmf/properties/ids"),
    ]
    events = [entry["event"] for entry in logs]
    assert events.index("channel.announced") < events.index("properties.reconciled")
    assert events[-1] == "worker.stopped"


async def test_second_start_finds_the_channel_and_reconciles_owned_properties(
    sandbox: Sandbox, inventory: Path, tmp_path: Path
) -> None:
    """A restart does not POST the announce again and adopts the site's property list."""
    settings = settings_for(sandbox, inventory, tmp_path)
    async with Worker(settings, jobs=jobs_of(stand_ins())) as first:
        assert first.ctx is not None
        uid = await first.ctx.cmf.create_property(
            name="Inn", remote_uid="77", country="GB", region_id=1113, ptype_id=1
        )
    with capture_logs() as logs:
        async with Worker(settings, jobs=jobs_of(stand_ins())) as second:
            assert second.ctx is not None
            assert second.ctx.owned.items() == [(uid, "77")]
    announced = next(entry for entry in logs if entry["event"] == "channel.announced")
    assert announced["created"] is False
    assert len(sandbox.journal.matching(method="POST", path="announce")) == 1


async def test_cmf_refuses_properties_outside_the_owned_set(
    sandbox: Sandbox, inventory: Path, tmp_path: Path
) -> None:
    """The ownership guard stops a call on an unowned uid before anything is sent."""
    async with Worker(settings_for(sandbox, inventory, tmp_path), jobs={}) as worker:
        assert worker.ctx is not None
        sent = len(sandbox.journal.entries)
        with pytest.raises(OwnershipError):
            await worker.ctx.cmf.get_property(4242)
        assert len(sandbox.journal.entries) == sent


async def test_missing_inventory_file_is_a_config_error_before_any_request(
    sandbox: Sandbox, tmp_path: Path
) -> None:
    """A BOOKYFLOW_INVENTORY path that does not exist fails start-up with nothing sent."""
    settings = settings_for(sandbox, tmp_path / "absent.json", tmp_path)
    with pytest.raises(ConfigError, match=r"absent\.json does not exist"):
        async with Worker(settings, jobs={}):
            pass
    assert sandbox.journal.entries == []


async def test_wrong_secret_is_credentials_rejected(
    sandbox: Sandbox, inventory: Path, tmp_path: Path
) -> None:
    """A wrong client secret ends start-up with CredentialsRejected after the token request."""
    settings = settings_for(sandbox, inventory, tmp_path, client_secret="wrong-secret-value")
    with pytest.raises(CredentialsRejected):
        async with Worker(settings, jobs={}):
            pass
    assert [e.path.split("/api/")[1] for e in sandbox.journal.entries] == ["oauth/token"]


async def test_scope_preflight_names_the_missing_scope(
    sandbox_factory: SandboxFactory, inventory: Path, tmp_path: Path
) -> None:
    """A client granted only read cannot run jobs needing write: ConfigError names it."""
    sandbox = await sandbox_factory(clients=[ClientSpec("ro", "read-only-secret", ("read",))])
    settings = settings_for(
        sandbox, inventory, tmp_path, client_id="ro", client_secret="read-only-secret"
    )
    jobs = {"properties": StandInJob("properties", scopes=("read", "write"))}
    with pytest.raises(ConfigError, match="scope write was not granted") as caught:
        async with Worker(settings, jobs=jobs):
            pass
    assert "properties" in str(caught.value)
    assert not sandbox.journal.matching(path="announce")


def test_missing_scopes_trusts_a_foreign_vocabulary() -> None:
    """Granted names we do not know mean 'cannot judge' (None), known ones are compared."""
    assert missing_scopes(["read", "write"], {"channel_management"}) is None
    assert missing_scopes(["read", "write", "read"], {"read"}) == ("write",)
    assert missing_scopes(["read"], {"read", "write"}) == ()


async def test_run_once_runs_enabled_jobs_in_order(
    sandbox: Sandbox, inventory: Path, tmp_path: Path
) -> None:
    """run_once runs every enabled job once, in run order, skipping disabled ones."""
    order: list[str] = []
    settings = settings_for(
        sandbox, inventory, tmp_path, jobs={"ari": {"enabled": False, "interval_s": 60}}
    )
    async with Worker(settings, jobs=jobs_of(stand_ins(log=order))) as worker:
        results = await worker.run_once()
    assert order == ["properties", "reservations", "bookings"]
    assert [r.job for r in results] == order


async def test_stop_lets_a_running_job_finish(
    sandbox: Sandbox, inventory: Path, tmp_path: Path
) -> None:
    """request_stop stops scheduling but a job in progress completes within the grace period."""
    gate = asyncio.Event()
    jobs = {"properties": StandInJob("properties", gate=gate)}
    settings = settings_for(sandbox, inventory, tmp_path)
    async with Worker(settings, jobs=jobs_of(jobs), heartbeat_file_interval_s=0.05) as worker:
        running = asyncio.create_task(worker.run())
        await jobs["properties"].started.wait()
        worker.request_stop("SIGTERM")
        gate.set()
        await running
    assert jobs["properties"].finished == 1
    assert (tmp_path / "state" / "heartbeat.json").is_file()


async def test_stop_cancels_a_job_that_outlives_the_grace_period(
    sandbox: Sandbox, inventory: Path, tmp_path: Path
) -> None:
    """A job still running when the grace period ends is cancelled, and run() returns."""
    jobs = {"properties": StandInJob("properties", gate=asyncio.Event())}
    settings = settings_for(sandbox, inventory, tmp_path, grace_s=0.05)
    with capture_logs() as logs:
        async with Worker(settings, jobs=jobs_of(jobs)) as worker:
            running = asyncio.create_task(worker.run())
            await jobs["properties"].started.wait()
            worker.request_stop("SIGTERM")
            await running
    assert jobs["properties"].finished == 0
    drained = next(entry for entry in logs if entry["event"] == "worker.drained")
    assert drained["clean"] is False


async def test_close_is_idempotent(sandbox: Sandbox, inventory: Path, tmp_path: Path) -> None:
    """close() may be called again after the context exits; worker.stopped is logged once."""
    worker = Worker(settings_for(sandbox, inventory, tmp_path), jobs={})
    with capture_logs() as logs:
        async with worker:
            pass
        await worker.close()
    assert [entry["event"] for entry in logs].count("worker.stopped") == 1


async def test_a_second_worker_on_one_state_dir_is_refused_before_any_request(
    sandbox: Sandbox, inventory: Path, tmp_path: Path
) -> None:
    """While one Worker holds the state directory, a second is StateLocked and sends nothing."""
    settings = settings_for(sandbox, inventory, tmp_path)
    other = settings_for(sandbox, inventory, tmp_path, bookings_file=tmp_path / "other.jsonl")
    async with Worker(settings, jobs={}):
        sent = len(sandbox.journal.entries)
        with pytest.raises(StateLocked) as caught:
            async with Worker(other, jobs={}):
                pass
        assert caught.value.holder_pid == os.getpid()
        assert len(sandbox.journal.entries) == sent
        async with Worker(other, jobs={}, exclusive=False) as reader:
            assert reader.ready  # read-only (check): no lock, no bookings file
    async with Worker(other, jobs={}):
        pass  # released on close


async def test_reload_reopens_the_sink_and_reads_the_inventory(
    sandbox: Sandbox, inventory: Path, tmp_path: Path
) -> None:
    """request_reload (SIGHUP) recreates a rotated bookings file and logs one worker.reload."""
    settings = settings_for(sandbox, inventory, tmp_path)
    async with Worker(settings, jobs={}) as worker:
        settings.bookings_path.rename(tmp_path / "rotated.jsonl")
        with capture_logs() as logs:
            worker.request_reload("SIGHUP")
            worker.request_reload("SIGHUP")  # absorbed by the reload in flight
            assert worker._reload_task is not None
            await worker._reload_task
        assert settings.bookings_path.exists()
    (reload,) = [entry for entry in logs if entry["event"] == "worker.reload"]
    assert reload == {**reload, "ok": True, "sink_reopened": True, "signal": "SIGHUP"}


async def test_the_inventory_size_cap_reaches_the_source(
    sandbox: Sandbox, inventory: Path, tmp_path: Path
) -> None:
    """BOOKYFLOW_INVENTORY_MAX_BYTES is the running source's cap: a larger file is refused."""
    await asyncio.to_thread(inventory.write_text, json.dumps({"properties": [], "pad": " " * 2048}))
    settings = settings_for(sandbox, inventory, tmp_path, inventory_max_bytes=1024)
    async with Worker(settings, jobs={}) as worker:
        assert worker.inventory is not None
        (problem,) = worker.inventory.problems
        assert "BOOKYFLOW_INVENTORY_MAX_BYTES (1024)" in problem.message


# --- a site down at start-up; readiness (issue 11) ------------------------------------------

# Short client retries, breaker period and token floor: a site that blinks costs milliseconds.
QUICK = {
    "retry": RetrySettings(
        max_attempts=2, base_delay_s=0.01, max_delay_s=0.02, breaker_reset_s=0.05
    ),
    "token": TokenSettings(retry_min_interval_s=0.05),
}


async def test_start_up_waits_out_a_site_that_answers_503_and_html(
    sandbox: Sandbox, inventory: Path, tmp_path: Path
) -> None:
    """With retry_start, 503 pages (token endpoint included) and a PHP notice in place of JSON
    are tried again with backoff until start-up completes: one warning per failed attempt."""
    quick_start = BackoffSettings(start_first_s=0.01)
    settings = settings_for(sandbox, inventory, tmp_path, backoff=quick_start, **QUICK)
    sandbox.faults.fail_next(503, times=5)
    sandbox.faults.invalid_json_next(times=2, path="cmf/versions")
    with capture_logs() as logs:
        async with Worker(settings, jobs={}, retry_start=True) as worker:
            assert worker.ready
            assert worker.versions
    failed = [entry for entry in logs if entry["event"] == "worker.start_failed"]
    assert len(failed) >= 2
    assert {entry["error_type"] for entry in failed} <= {
        "ServerError", "TokenUnavailable", "MalformedResponse", "CircuitOpen"
    }  # fmt: skip
    assert [entry["failures"] for entry in failed] == list(range(1, len(failed) + 1))
    assert "properties.reconciled" in [entry["event"] for entry in logs]


async def test_a_stop_while_the_site_is_down_ends_start_up_at_once(
    sandbox: Sandbox, inventory: Path, tmp_path: Path
) -> None:
    """While waiting to try again the worker is alive and not ready (heartbeat written);
    request_stop ends the wait, start-up returns and run() returns without scheduling."""
    slow_start = BackoffSettings(start_first_s=3600, start_max_s=3600)
    settings = settings_for(sandbox, inventory, tmp_path, backoff=slow_start, **QUICK)
    sandbox.faults.set_random_failure(1.0, statuses=(503,))
    worker = Worker(settings, jobs={}, retry_start=True, heartbeat_file_interval_s=0.01)
    with capture_logs() as logs:
        starting = asyncio.create_task(worker.start())
        await wait_until(lambda: worker.running, "the wait for the next attempt")
        heartbeat = tmp_path / "state" / "heartbeat.json"
        await wait_until(heartbeat.is_file, "the heartbeat file")
        assert json.loads(heartbeat.read_text())["ready"] is False
        assert not worker.ready
        worker.request_stop("SIGTERM")
        await starting
        await worker.run()
        await worker.close()
    assert worker.ctx is None
    assert [e["event"] for e in logs].count("worker.start_failed") == 1
    assert "job.finished" not in [e["event"] for e in logs]


@pytest.mark.parametrize("case", ["wrong secret", "scope not granted"])
async def test_refusals_stay_fatal_at_start_up_even_with_retry_start(
    sandbox_factory: SandboxFactory, inventory: Path, tmp_path: Path, case: str
) -> None:
    """Rejected credentials and a missing scope end start-up at once: nothing is retried."""
    reader = ClientSpec("ro", "read-only-secret", ("read",))
    sandbox = await sandbox_factory(clients=[reader])
    secret = "wrong-secret-value" if case == "wrong secret" else "read-only-secret"
    settings = settings_for(sandbox, inventory, tmp_path, client_id="ro", client_secret=secret)
    jobs = {"properties": StandInJob("properties", scopes=("read", "write"))}
    error = CredentialsRejected if case == "wrong secret" else ConfigError
    with pytest.raises(error):
        async with Worker(settings, jobs=jobs_of(jobs), retry_start=True):
            pass
    assert len(sandbox.journal.matching(path="oauth/token")) == 1
    assert not sandbox.journal.matching(path="announce")


async def test_ready_is_false_while_the_breaker_is_open(
    sandbox: Sandbox, inventory: Path, tmp_path: Path
) -> None:
    """A site that stopped answering opens the breaker: not ready, bookyflow_site_ready 0 and
    bookyflow_breaker_state 2 (open), until a probe succeeds again."""
    retry = RetrySettings(max_attempts=1, breaker_failure_threshold=1, breaker_reset_s=0.05)
    settings = settings_for(sandbox, inventory, tmp_path, retry=retry)
    async with Worker(settings, jobs={}) as worker:
        assert worker.ctx is not None
        assert worker.telemetry is not None
        assert worker.ready
        scrape = lambda: Scrape(worker.telemetry.render())  # noqa: E731
        sandbox.faults.fail_next(503, times=3, path="cmf/versions")
        for _ in range(3):
            with pytest.raises(ServerError):
                await worker.ctx.cmf.versions()
        assert worker.client is not None
        assert worker.client.breaker.state == "open"
        assert not worker.ready
        assert scrape().value("bookyflow_site_ready", site="default") == 0
        assert scrape().value("bookyflow_breaker_state", site="default") == 2
        await wait_until(
            lambda: worker.client is not None and worker.client.breaker.state != "open",
            "the breaker to let a probe through",
        )
        assert not worker.ready  # half-open: not back until a probe succeeded
        await worker.ctx.cmf.versions()
        assert worker.ready
        assert scrape().value("bookyflow_breaker_state", site="default") == 0
