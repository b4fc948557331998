"""The daemon as operators run it: SIGTERM, exit codes, JSON lines, no secrets, heartbeat."""

from __future__ import annotations

import asyncio
import json
import signal
import socket

from tests.e2e.conftest import Site, Spawn, assert_json_lines, assert_no_secrets


async def test_sigterm_stops_the_daemon_cleanly(site: Site, spawn: Spawn) -> None:
    """`run` syncs, then SIGTERM drains and exits 0 with stopping/stopped lines."""
    worker = await spawn("run")
    await worker.event("job.finished")
    worker.proc.send_signal(signal.SIGTERM)
    assert await worker.wait() == 0
    events = worker.events()
    assert events[0] == "worker.started"
    assert events.index("channel.announced") < events.index("properties.reconciled")
    assert events[-2:] == ["worker.drained", "worker.stopped"]
    assert (await worker.event("worker.stopping"))["signal"] == "SIGTERM"
    assert not worker.stderr
    assert_json_lines(worker)
    assert_no_secrets(site, worker)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def http_get(port: int, path: str) -> tuple[int, str]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(f"GET {path} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
    raw = await reader.read()
    writer.close()
    await writer.wait_closed()
    head, _, body = raw.decode().partition("\r\n\r\n")
    return int(head.split()[1]), body


async def test_running_daemon_reports_health(site: Site, spawn: Spawn) -> None:
    """While `run` is up, `healthcheck` (state dir only) exits 0 and the HTTP probes answer."""
    port = free_port()
    worker = await spawn("run", BOOKYFLOW_HEALTH_PORT=str(port))
    await worker.event("job.finished")
    check = await spawn("healthcheck", BOOKYFLOW_API_URL="", BOOKYFLOW_CLIENT_SECRET="")
    assert await check.wait() == 0
    assert await http_get(port, "/readyz") == (200, "ok\n")
    status, metrics = await http_get(port, "/metrics")
    assert status == 200
    requests = 'bookyflow_http_requests_total{method="GET",site="default",status_class="2xx"}'
    assert requests in metrics
    assert 'bookyflow_job_runs_total{job="properties",outcome="ok",site="default"}' in metrics
    worker.proc.send_signal(signal.SIGINT)
    assert await worker.wait() == 0


async def test_rejected_credentials_exit_78_without_traceback(site: Site, spawn: Spawn) -> None:
    """A wrong secret: one JSON error line, exit 78, no traceback, the wrong secret not shown."""
    worker = await spawn("run", BOOKYFLOW_CLIENT_SECRET="definitely-wrong")
    assert await worker.wait() == 78
    assert worker.records[-1]["event"] == "credentials.rejected"
    output = "\n".join(worker.stdout + worker.stderr)
    assert "Traceback" not in output
    assert "definitely-wrong" not in output
    assert_json_lines(worker)


async def test_bad_configuration_exits_78_before_any_request(site: Site, spawn: Spawn) -> None:
    """Every bad setting is reported on one line naming its variable; nothing is sent."""
    worker = await spawn("run", BOOKYFLOW_CHANNEL_NAME="", BOOKYFLOW_JOBS__ARI__INTERVAL_S="-1")
    assert await worker.wait() == 78
    assert len(worker.stdout) == 1
    error = worker.records[0]["error"]
    assert "BOOKYFLOW_CHANNEL_NAME" in error
    assert "BOOKYFLOW_JOBS__ARI__INTERVAL_S" in error
    assert not worker.stderr
    assert site.sandbox.journal.entries == []


async def test_plain_http_to_a_remote_host_exits_78(site: Site, spawn: Spawn) -> None:
    """An API URL that would send credentials in clear text is refused as configuration.

    ``check`` prints its report (the error line) on stdout and logs config.invalid on stderr.
    """
    worker = await spawn("check", BOOKYFLOW_API_URL="http://hotel.example/bookyflow/api")
    assert await worker.wait() == 78
    assert worker.stdout[0].startswith("error:")
    assert "use https" in worker.stdout[0]
    assert "use https" in json.loads(worker.stderr[0])["error"]


async def test_missing_inventory_exits_78(site: Site, spawn: Spawn) -> None:
    """An inventory path that does not exist is fatal at start-up (exit 78), before any request."""
    worker = await spawn("run", BOOKYFLOW_INVENTORY=str(site.inventory) + ".missing")
    assert await worker.wait() == 78
    assert worker.records[-1]["event"] == "config.invalid"
    assert site.sandbox.journal.entries == []
