"""Heartbeat file, its verdict, the heartbeat log line, Prometheus text and the HTTP probes."""

from __future__ import annotations

import asyncio
import os
import stat
from functools import partial
from pathlib import Path
from typing import Any

from structlog.testing import capture_logs

from worker.api.client import ClientStats
from worker.api.clock import FakeClock
from worker.health import (
    HealthServer,
    HeartbeatLoop,
    evaluate_heartbeat,
    read_heartbeat,
    stall_bound_s,
    write_heartbeat,
)
from worker.metrics import WorkerMetrics, render_prometheus


def snapshot(*, ready: bool = True, wall: float = 1000.0) -> dict[str, Any]:
    metrics = WorkerMetrics({"ari": 300.0, "bookings": 120.0}, wall=lambda: wall)
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


def test_prometheus_text_has_every_series() -> None:
    """Requests by status, retries, refreshes, job runs/failures, lag and undelivered age."""
    text = render_prometheus(snapshot())
    assert 'bookyflow_requests_total{status="503"} 2' in text
    assert "bookyflow_retries_total 2" in text
    assert "bookyflow_token_refreshes_total 1" in text
    assert 'bookyflow_job_runs_total{job="ari"} 1' in text
    assert 'bookyflow_job_failures_total{job="bookings"} 1' in text
    assert 'bookyflow_sync_lag_seconds{job="ari"} 0' in text
    assert "bookyflow_oldest_undelivered_booking_seconds 0" in text
    assert "# TYPE bookyflow_ready gauge" in text
    assert text.endswith("\n")


def test_oldest_undelivered_booking_grows_while_the_bookings_job_fails() -> None:
    """The gauge counts from the first failure of the current streak and resets on success."""
    now = [100.0]
    metrics = WorkerMetrics({"bookings": 60.0}, wall=lambda: now[0])
    metrics.job_finished("bookings", ok=False)
    now[0] = 160.0
    metrics.job_finished("bookings", ok=False)
    assert metrics.oldest_undelivered_booking_s(now=200.0) == 100.0
    metrics.job_finished("bookings", ok=True)
    assert metrics.oldest_undelivered_booking_s(now=200.0) == 0.0


async def http_get(port: int, path: str) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\n\r\n".encode())
    await writer.drain()
    raw = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = raw.decode().partition("\r\n\r\n")
    return int(head.split()[1]), body


async def test_http_probes_answer_over_loopback() -> None:
    """/healthz is 200, /readyz follows readiness, /metrics is Prometheus text, others 404."""
    ready = [False]
    server = HealthServer(lambda: snapshot(ready=ready[0]), host="127.0.0.1", port=0)
    await server.start()
    try:
        assert await http_get(server.port, "/healthz") == (200, "ok\n")
        assert (await http_get(server.port, "/readyz"))[0] == 503
        ready[0] = True
        assert (await http_get(server.port, "/readyz"))[0] == 200
        status, body = await http_get(server.port, "/metrics")
        assert status == 200
        assert "bookyflow_ready 1" in body
        assert (await http_get(server.port, "/nope"))[0] == 404
    finally:
        await server.close()


def test_only_get_and_head_are_answered() -> None:
    """Other methods on a known route get 405."""
    server = HealthServer(snapshot)
    assert server.answer("POST", "/healthz")[0] == 405


def test_an_open_breaker_is_a_gauge_and_not_ready() -> None:
    """``bookyflow_breaker_open`` is 1 while the breaker is open or half-open; ``/readyz`` reads
    the snapshot's ``ready``, which a worker with an open breaker reports as False."""
    metrics = WorkerMetrics({"ari": 300.0}, wall=lambda: 1000.0)
    for state, gauge in (("closed", 0), ("open", 1), ("half_open", 1), (None, 0)):
        data = metrics.snapshot(ClientStats(), ready=state == "closed", breaker=state)
        text = render_prometheus(data)
        assert f"bookyflow_breaker_open {gauge}" in text
        assert f"bookyflow_ready {int(state == 'closed')}" in text
        status = HealthServer(partial(dict, data)).answer("GET", "/readyz")[0]
        assert status == (200 if state == "closed" else 503)
