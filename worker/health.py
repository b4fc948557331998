"""Health: the heartbeat file, the ``worker.heartbeat`` log line and ``/healthz /readyz /metrics``.

The running worker rewrites ``<STATE_DIR>/heartbeat.json`` every ``file_interval_s`` (atomically,
mode 0600) with the metrics snapshot. ``bookyflow-worker healthcheck`` (Docker's HEALTHCHECK)
reads only that file: healthy when it is younger than three write intervals and no job has been
running for longer than its stall bound. Every ``log_interval_s`` the same counters go to the
log, so operators can alert from logs alone.

The optional HTTP endpoints are served by a minimal HTTP/1.0-style responder on
``asyncio.start_server`` (house rule: only the sandbox imports ``aiohttp.web``); three GET routes
with ``Connection: close`` need nothing more.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from worker.api.clock import Clock
from worker.logging import get_logger
from worker.metrics import render_prometheus

__all__ = [
    "HEARTBEAT_FILE",
    "HealthServer",
    "HeartbeatLoop",
    "Verdict",
    "evaluate_heartbeat",
    "read_heartbeat",
    "stall_bound_s",
    "start_health",
    "write_heartbeat",
]

log = get_logger("worker.health")
HEARTBEAT_FILE = "heartbeat.json"
FRESH_INTERVALS = 3
# A job may run this many intervals (but at least STALL_FLOOR_S: retries take time) before it
# counts as stalled.
STALL_INTERVALS = 5
STALL_FLOOR_S = 600.0

Snapshot = Callable[[], dict[str, Any]]


def write_heartbeat(path: Path, snapshot: Mapping[str, Any]) -> None:
    """Replace ``path`` atomically (temp file in the same directory, then rename), mode 0600."""
    fd, temp = tempfile.mkstemp(prefix=".heartbeat-", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as file:
            json.dump(snapshot, file, sort_keys=True)
        os.chmod(temp, 0o600)
        os.replace(temp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp)
        raise


def read_heartbeat(path: Path) -> dict[str, Any] | None:
    """The heartbeat document, or None when it is missing or unreadable."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


@dataclass(frozen=True)
class Verdict:
    ok: bool
    reason: str


def stall_bound_s(interval_s: float) -> float:
    """How long one run of a job with this interval may take before it counts as stalled."""
    return max(STALL_INTERVALS * interval_s, STALL_FLOOR_S)


def _stalled_jobs(data: Mapping[str, Any], now: float) -> list[str]:
    stalled = []
    for name, job in dict(data.get("jobs") or {}).items():
        since = job.get("running_since")
        if since is not None and now - float(since) > stall_bound_s(float(job["interval_s"])):
            stalled.append(name)
    return stalled


def evaluate_heartbeat(data: Mapping[str, Any] | None, now: float) -> Verdict:
    """Pure: is a worker that wrote ``data`` alive and unstuck at wall time ``now``?"""
    if data is None:
        return Verdict(False, "no heartbeat file")
    try:
        age_s = now - float(data["written_at"])
        limit_s = FRESH_INTERVALS * float(data["file_interval_s"])
        stalled = _stalled_jobs(data, now)
    except (KeyError, TypeError, ValueError):
        return Verdict(False, "heartbeat file is malformed")
    if age_s > limit_s:
        return Verdict(False, f"heartbeat is {age_s:.0f} s old (limit {limit_s:.0f} s)")
    if stalled:
        return Verdict(False, f"stalled job(s): {', '.join(sorted(stalled))}")
    return Verdict(True, f"heartbeat {age_s:.0f} s old")


class HeartbeatLoop:
    """Writes the heartbeat file every ``file_interval_s`` and logs every ``log_interval_s``."""

    def __init__(
        self,
        path: Path,
        snapshot: Snapshot,
        clock: Clock,
        *,
        file_interval_s: float = 10.0,
        log_interval_s: float = 60.0,
    ) -> None:
        self.path = path
        self._snapshot = snapshot
        self._clock = clock
        self.file_interval_s = file_interval_s
        self.log_interval_s = log_interval_s
        self._next_log_at = clock.now() + log_interval_s

    async def beat(self) -> None:
        """Write the file now (and log, when a log interval has passed)."""
        data = {**self._snapshot(), "file_interval_s": self.file_interval_s, "pid": os.getpid()}
        try:
            await asyncio.to_thread(write_heartbeat, self.path, data)
        except OSError as exc:
            log.error("heartbeat.write_failed", path=str(self.path), error=exc.strerror)
        if self._clock.now() >= self._next_log_at:
            self._next_log_at = self._clock.now() + self.log_interval_s
            log.info("worker.heartbeat", **_log_fields(data))

    async def run(self) -> None:
        """Beat until cancelled."""
        while True:
            await self.beat()
            await self._clock.sleep(self.file_interval_s)


def _log_fields(data: Mapping[str, Any]) -> dict[str, Any]:
    jobs: Mapping[str, Mapping[str, Any]] = data["jobs"]
    return {
        "requests_by_status": data["requests_by_status"],
        "retries": data["retries"],
        "token_refreshes": data["token_refreshes"],
        "job_runs": {name: job["runs"] for name, job in jobs.items()},
        "job_failures": {name: job["failures"] for name, job in jobs.items()},
        "sync_lag_s": {name: job["lag_s"] for name, job in jobs.items()},
        "oldest_undelivered_booking_s": data["oldest_undelivered_booking_s"],
        "ready": data["ready"],
    }


_REASONS = {200: "OK", 404: "Not Found", 405: "Method Not Allowed", 503: "Service Unavailable"}
_READ_TIMEOUT_S = 5.0
# In a container the probe comes from outside (kubelet, compose): listen on every interface.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104


async def start_health(
    stack: AsyncExitStack,
    state_dir: Path,
    snapshot: Snapshot,
    clock: Clock,
    *,
    file_interval_s: float,
    log_interval_s: float,
    port: int,
) -> HealthServer | None:
    """Start the heartbeat loop, and the HTTP server when ``port``; ``stack`` stops both."""
    heartbeat = HeartbeatLoop(
        state_dir / HEARTBEAT_FILE,
        snapshot,
        clock,
        file_interval_s=file_interval_s,
        log_interval_s=log_interval_s,
    )
    task = asyncio.get_running_loop().create_task(heartbeat.run(), name="heartbeat")
    stack.push_async_callback(_cancel_and_wait, task)
    if not port:
        return None
    server = HealthServer(snapshot, port=port)
    await server.start()
    stack.push_async_callback(server.close)
    return server


async def _cancel_and_wait(task: asyncio.Task[None]) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


class HealthServer:
    """``GET /healthz`` (alive), ``/readyz`` (the snapshot's ``ready``), ``/metrics``.

    A worker is ready once started, with a valid token and its site's breaker closed
    (``Worker.ready``); while a site is down at start-up, or its breaker is open, ``/readyz``
    answers 503 and ``/healthz`` 200: the process is alive, it is the site that is not.
    """

    def __init__(self, snapshot: Snapshot, *, host: str = ALL_INTERFACES, port: int = 0) -> None:
        self._snapshot = snapshot
        self.host, self.port = host, port
        self._server: asyncio.Server | None = None

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = int(self._server.sockets[0].getsockname()[1])
        log.info("health.listening", host=self.host, port=self.port)

    async def close(self) -> None:
        server, self._server = self._server, None
        if server is not None:
            server.close()
            await server.wait_closed()

    def answer(self, method: str, path: str) -> tuple[int, str, str]:
        """Pure routing: ``(status, content type, body)`` for one request line."""
        if path not in ("/healthz", "/readyz", "/metrics"):
            return 404, "text/plain", "not found\n"
        if method not in ("GET", "HEAD"):
            return 405, "text/plain", "method not allowed\n"
        snapshot = self._snapshot()
        if path == "/metrics":
            return 200, "text/plain; version=0.0.4; charset=utf-8", render_prometheus(snapshot)
        if path == "/readyz" and not snapshot.get("ready"):
            return 503, "text/plain", "not ready\n"
        return 200, "text/plain", "ok\n"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(_READ_TIMEOUT_S):
                request_line = (await reader.readline()).decode("latin-1").split()
                while (await reader.readline()).strip():  # skip the headers
                    pass
            method, path = ([*request_line, "", ""])[:2]
            status, content_type, body = self.answer(method, path.split("?")[0])
            payload = b"" if method == "HEAD" else body.encode()
            head = (
                f"HTTP/1.1 {status} {_REASONS[status]}\r\nContent-Type: {content_type}\r\n"
                f"Content-Length: {len(body.encode())}\r\nConnection: close\r\n\r\n"
            )
            writer.write(head.encode() + payload)
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()
