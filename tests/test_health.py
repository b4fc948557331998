"""Heartbeat file, its verdict (the writer's process gone, a clean stop), the heartbeat log line,
the snapshot gauges and the HTTP probes on ``aiohttp.web``."""

from __future__ import annotations

import os
import socket
import stat
import subprocess
import sys
import time
from contextlib import AsyncExitStack
from functools import partial
from pathlib import Path
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.metrics_support import Scrape, http_get
from worker.api.client import ClientStats
from worker.errors import ConfigError
from worker.health import (
    HEARTBEAT_FILE,
    HealthServer,
    HealthSources,
    HeartbeatLoop,
    ProcessInfo,
    check_heartbeat,
    evaluate_heartbeat,
    probe_process,
    read_heartbeat,
    stall_bound_s,
    start_health,
    write_heartbeat,
)
from worker.metrics import WorkerMetrics
from worker.settings import Settings
from worker.telemetry import Telemetry
from worker.testing import FakeClock


def snapshot(*, ready: bool = True, wall: float = 1000.0) -> dict[str, Any]:
    metrics = WorkerMetrics({"ari": 300.0, "bookings": 120.0}, clock=FakeClock(wall_start=wall))
    metrics.job_started("ari")
    metrics.job_finished("ari", ok=True)
    metrics.job_started("bookings")
    metrics.job_finished("bookings", ok=False)
    stats = ClientStats()
    stats.requests_by_status.update({"200": 7, "503": 2})
    stats.retries, stats.token_refreshes = 2, 1
    return metrics.snapshot(stats, ready=ready)


def beat(written_at: float, **jobs: dict[str, Any]) -> dict[str, Any]:
    return {"written_at": written_at, "file_interval_s": 10.0, "jobs": jobs}


def test_heartbeat_file_is_replaced_atomically_and_private(tmp_path: Path) -> None:
    """The file is written whole with mode 0600 and no temporary file is left behind."""
    path = tmp_path / "heartbeat.json"
    write_heartbeat(path, {"written_at": 1.0})
    write_heartbeat(path, {"written_at": 2.0})
    assert read_heartbeat(path) == {"written_at": 2.0}
    assert stat.S_IMODE(os.stat(path).st_mode) == 0o600
    assert os.listdir(tmp_path) == ["heartbeat.json"]


def test_missing_or_garbled_heartbeat_reads_as_none(tmp_path: Path) -> None:
    """No file, or a file that is not a JSON object, is 'no heartbeat'."""
    assert read_heartbeat(tmp_path / "absent.json") is None
    (tmp_path / "bad.json").write_text("[1, 2")
    assert read_heartbeat(tmp_path / "bad.json") is None


def test_fresh_heartbeat_is_healthy_and_stale_one_is_not() -> None:
    """Healthy up to three write intervals after the last write, unhealthy after."""
    assert evaluate_heartbeat(beat(1000.0), now=1029.0).ok
    verdict = evaluate_heartbeat(beat(1000.0), now=1031.0)
    assert not verdict.ok
    assert "31 s old" in verdict.reason


def test_a_stalled_job_makes_the_worker_unhealthy() -> None:
    """A job running longer than its stall bound fails the check even with a fresh file."""
    running = {"interval_s": 60.0, "running_since": 0.0}
    bound = stall_bound_s(60.0)
    assert evaluate_heartbeat(beat(bound, ari=running), now=bound).ok
    verdict = evaluate_heartbeat(beat(bound + 1, ari=running), now=bound + 1)
    assert (verdict.ok, verdict.reason) == (False, "stalled job(s): ari")


def test_no_or_malformed_heartbeat_is_unhealthy() -> None:
    """Without a usable heartbeat document the verdict is unhealthy, with a reason."""
    assert evaluate_heartbeat(None, now=0).reason == "no heartbeat file"
    assert evaluate_heartbeat({"written_at": "soon"}, now=0).reason == "heartbeat file is malformed"


async def test_heartbeat_loop_writes_the_file_and_logs_counters(tmp_path: Path) -> None:
    """Each beat rewrites the file; a worker.heartbeat line with counters follows each minute."""
    clock = FakeClock()
    loop = HeartbeatLoop(
        tmp_path / "hb.json", snapshot, clock, file_interval_s=10, log_interval_s=60
    )
    with capture_logs() as logs:
        await loop.beat()
        clock.advance(60)
        await loop.beat()
    data = read_heartbeat(tmp_path / "hb.json")
    assert data is not None
    assert data["file_interval_s"] == 10
    assert [entry["event"] for entry in logs] == ["worker.heartbeat"]
    line = logs[0]
    assert line["requests_by_status"] == {"200": 7, "503": 2}
    assert line["job_runs"] == {"ari": 1, "bookings": 1}
    assert line["job_failures"] == {"ari": 0, "bookings": 1}
    assert (line["retries"], line["token_refreshes"]) == (2, 1)


def test_snapshot_gauges_have_every_series() -> None:
    """Readiness, breaker, job interval/lag/running, held items by reason and bookings, per site."""
    scrape = Scrape(Telemetry(lambda: {"default": snapshot()}).render())
    assert scrape.value("bookyflow_site_ready", site="default") == 1
    assert scrape.value("bookyflow_job_interval_seconds", site="default", job="ari") == 300
    assert scrape.value("bookyflow_job_lag_seconds", site="default", job="ari") == 0
    assert scrape.value("bookyflow_job_running_seconds", site="default", job="ari") == 0
    assert scrape.value("bookyflow_held_items", site="default", reason="incomplete") == 0
    assert scrape.value("bookyflow_bookings_oldest_undelivered_age_seconds", site="default") == 0
    assert scrape.value("bookyflow_build_info", python=sys.version.split()[0]) == 1
    assert not scrape.find("bookyflow_breaker_state")  # no client yet: no breaker to report


def test_oldest_undelivered_booking_grows_while_the_bookings_job_fails() -> None:
    """The gauge counts from the first failure of the current streak and resets on success."""
    clock = FakeClock(wall_start=100.0)
    metrics = WorkerMetrics({"bookings": 60.0}, clock=clock)
    metrics.job_finished("bookings", ok=False)
    clock.advance(60.0)
    metrics.job_finished("bookings", ok=False)
    assert metrics.oldest_undelivered_booking_s(now=200.0) == 100.0
    metrics.job_finished("bookings", ok=True)
    assert metrics.oldest_undelivered_booking_s(now=200.0) == 0.0


async def test_http_probes_answer_over_loopback() -> None:
    """/healthz is 200, /readyz follows readiness, /metrics is Prometheus text, others 404."""
    ready = [False]
    telemetry = Telemetry(lambda: {"default": snapshot(ready=ready[0])})
    server = HealthServer(lambda: ready[0], telemetry.render, host="127.0.0.1", port=0)
    await server.start()
    try:
        assert (await http_get(server.port, "/healthz"))[::2] == (200, "ok\n")
        assert (await http_get(server.port, "/readyz"))[0] == 503
        ready[0] = True
        assert (await http_get(server.port, "/readyz"))[0] == 200
        status, content_type, body = await http_get(server.port, "/metrics")
        assert status == 200
        assert content_type.startswith("text/plain; version=0.0.4")
        assert Scrape(body).value("bookyflow_site_ready", site="default") == 1
        assert (await http_get(server.port, "/nope"))[0] == 404
        assert (await http_get(server.port, "/healthz", "HEAD"))[0] == 200
        assert (await http_get(server.port, "/healthz", "POST"))[0] == 405
    finally:
        await server.close()


async def test_a_port_in_use_is_one_config_error_naming_it() -> None:
    """A second server on a taken port raises ConfigError naming host:port, in one line."""
    first = HealthServer(lambda: True, lambda: b"", host="127.0.0.1", port=0)
    await first.start()
    try:
        second = HealthServer(lambda: True, lambda: b"", host="127.0.0.1", port=first.port)
        with pytest.raises(ConfigError) as info:
            await second.start()
    finally:
        await first.close()
    message = str(info.value)
    assert f"127.0.0.1:{first.port}" in message
    assert "already in use" in message
    assert "\n" not in message


def test_breaker_state_gauge_and_readiness() -> None:
    """``bookyflow_breaker_state`` is 0 closed, 1 half-open, 2 open; ready only when closed."""
    metrics = WorkerMetrics({"ari": 300.0}, clock=FakeClock(wall_start=1000.0))
    for state, gauge in (("closed", 0), ("half_open", 1), ("open", 2)):
        data = metrics.snapshot(ClientStats(), ready=state == "closed", breaker=state)
        scrape = Scrape(Telemetry(partial(dict, a=data)).render())
        assert scrape.value("bookyflow_breaker_state", site="a") == gauge
        assert scrape.value("bookyflow_site_ready", site="a") == (state == "closed")


def test_held_items_by_reason_age_from_the_run_that_first_reported_them() -> None:
    """A reason's age runs from the first run that held something for it, and resets at 0."""
    clock = FakeClock(wall_start=100.0)
    metrics = WorkerMetrics({"properties": 60.0, "bookings": 60.0}, clock=clock)
    metrics.job_finished("properties", ok=True, counts={"held": 2, "incomplete": 1})
    metrics.job_finished("bookings", ok=True, counts={"held": 1})
    clock.advance(300.0)
    metrics.job_finished("properties", ok=True, counts={"held": 1})
    held = metrics.held(now=500.0)
    assert held["held"] == {"items": 1, "oldest_age_s": 400.0}
    assert held["incomplete"] == {"items": 0, "oldest_age_s": 0.0}
    assert held["parked"] == {"items": 1, "oldest_age_s": 400.0}
    assert held["reservation"]["items"] == 0


def test_lag_counts_from_start_up_until_the_first_success() -> None:
    """Before its first success a job's lag is the uptime; then the time since the success."""
    clock = FakeClock(wall_start=1000.0)
    metrics = WorkerMetrics({"ari": 60.0}, clock=clock)
    clock.advance(90.0)
    assert metrics.snapshot(ClientStats(), ready=True)["jobs"]["ari"]["lag_s"] == 90.0
    metrics.job_finished("ari", ok=True)
    clock.advance(10.0)
    assert metrics.snapshot(ClientStats(), ready=True)["jobs"]["ari"]["lag_s"] == 10.0


# --- the writer's process ---------------------------------------------------------------


def test_this_process_is_found_with_its_start_time() -> None:
    """/proc tells this process's start time; a pid that cannot exist is not running."""
    me = probe_process(os.getpid())
    assert me.exists
    assert me.started is None or me.started.isdigit()
    assert not probe_process(2**22 + 12345).exists


@pytest.mark.skipif(not Path("/proc/self/stat").exists(), reason="needs Linux's /proc")
def test_an_exited_but_unreaped_process_is_not_running() -> None:
    """A killed worker whose parent has not reaped it yet (a zombie) counts as gone."""
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        stat_file = Path(f"/proc/{child.pid}/stat")
        deadline = time.monotonic() + 10.0  # it exits within moments
        while stat_file.read_text().rpartition(")")[2].split()[0] != "Z":
            assert time.monotonic() < deadline, "the child never became a zombie"
            time.sleep(0.01)
        assert not probe_process(child.pid).exists
    finally:
        child.wait()


def alive(written_at: float = 1000.0, **extra: Any) -> dict[str, Any]:
    """A fresh heartbeat of a (pretend) worker pid 4242 started at tick 777 on this host."""
    doc = {**beat(written_at), "pid": 4242, "pid_started": "777", "host": "h1"}
    return {**doc, **extra}


def verdict_of(data: dict[str, Any], found: ProcessInfo, *, self_pid: int = 1) -> Any:
    return evaluate_heartbeat(data, 1001.0, probe=lambda pid: found, self_pid=self_pid, host="h1")


def test_a_fresh_heartbeat_of_a_gone_worker_fails_at_once() -> None:
    """Fresh file, but the pid is gone, is another process, or is the checker itself: unhealthy."""
    assert verdict_of(alive(), ProcessInfo(True, "777")).ok
    gone = verdict_of(alive(), ProcessInfo(False))
    assert (gone.ok, gone.reason) == (False, "the worker's pid 4242 is not running")
    reused = verdict_of(alive(), ProcessInfo(True, "999"))
    assert (reused.ok, reused.reason) == (False, "the worker's pid 4242 is another process now")
    itself = verdict_of(alive(), ProcessInfo(True, "777"), self_pid=4242)
    assert not itself.ok
    assert "this check itself" in itself.reason


def test_a_clean_stop_fails_at_once_and_another_host_is_judged_by_age() -> None:
    """``stopped`` is unhealthy however fresh; a pid written on another host is not probed."""
    stopped = verdict_of(alive(stopped=True), ProcessInfo(True, "777"))
    assert (stopped.ok, stopped.reason) == (False, "the worker stopped (clean shutdown)")
    elsewhere = alive(host="other")
    assert verdict_of(elsewhere, ProcessInfo(False)).ok
    assert not evaluate_heartbeat(elsewhere, 1031.0, probe=lambda pid: ProcessInfo(False)).ok


def test_check_heartbeat_names_the_file(tmp_path: Path) -> None:
    """The verdict's reason says which file was read."""
    path = tmp_path / HEARTBEAT_FILE
    assert check_heartbeat(path, 0.0).reason == f"no heartbeat file ({path})"


def test_the_heartbeat_of_a_killed_process_fails_at_once(tmp_path: Path) -> None:
    """A real child process writes a heartbeat and exits: the check fails without waiting."""
    path = tmp_path / HEARTBEAT_FILE
    code = (
        "import sys; from pathlib import Path; from worker.health import this_process, "
        "write_heartbeat; import time; "
        "write_heartbeat(Path(sys.argv[1]), {**this_process(), 'written_at': time.time(), "
        "'file_interval_s': 10.0, 'jobs': {}})"
    )
    subprocess.run([sys.executable, "-c", code, str(path)], check=True)  # noqa: S603
    data = read_heartbeat(path)
    assert data is not None
    assert data["host"] == socket.gethostname()
    verdict = check_heartbeat(path, float(data["written_at"]))
    assert not verdict.ok
    assert f"pid {data['pid']}" in verdict.reason


async def test_closing_the_health_stack_marks_the_heartbeat_stopped(tmp_path: Path) -> None:
    """While running the heartbeat is healthy; after the stack closes, unhealthy at once."""
    settings = Settings(
        api_url="http://127.0.0.1:9/api", client_id="x", client_secret="s" * 16,
        channel_name="c", state_dir=tmp_path, health_port=0,
    )  # fmt: skip
    sources = HealthSources(snapshot, lambda: True, Telemetry(dict))
    path = tmp_path / HEARTBEAT_FILE
    async with AsyncExitStack() as stack:
        await start_health(stack, settings, sources, FakeClock(), file_interval_s=10.0,
                           log_interval_s=60.0)  # fmt: skip
        await _until_file(path)
        data = read_heartbeat(path)
        assert data is not None
        # Checked as from another process (this one wrote it, and would judge itself gone).
        assert evaluate_heartbeat(data, float(data["written_at"]), self_pid=-1).ok
    data = read_heartbeat(path)
    assert data is not None
    assert data["stopped"] is True
    verdict = evaluate_heartbeat(data, float(data["written_at"]), self_pid=-1)
    assert not verdict.ok
    assert "stopped" in verdict.reason


async def _until_file(path: Path) -> None:
    import asyncio

    for _ in range(500):
        if read_heartbeat(path) is not None:
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"{path} never written")
