"""Health: the heartbeat file, the ``worker.heartbeat`` log line, and starting the endpoints.

The running worker rewrites ``<STATE_DIR>/heartbeat.json`` every ``file_interval_s`` (atomically,
mode 0600) with the metrics snapshot and who wrote it: its pid, that process's start time
(``/proc/<pid>/stat`` field 22) and the host name. On a clean stop the last write says
``stopped``. ``bookyflow-worker healthcheck`` (Docker's HEALTHCHECK) reads only that file
(``check_heartbeat``): unhealthy at once when the worker stopped or its process is gone (no such
pid, another process under it, or the checking process itself: in a new container the check
may be pid 1, as the dead worker was); otherwise healthy while the file is younger than three
write intervals and no job has been running for longer than its stall bound. Every
``log_interval_s`` the same counters go to the log, so operators can alert from logs alone.

``start_health`` starts the heartbeat loop and, when a port is set, the ``aiohttp.web`` server
of ``/healthz /readyz /metrics`` (``worker.health_server``), for the single-site worker and the
many-sites supervisor alike.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import socket
import tempfile
from collections.abc import Callable, Mapping
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from worker.clock import Clock
from worker.health_server import HealthServer
from worker.logging import get_logger

if TYPE_CHECKING:
    from worker.settings import Settings
    from worker.telemetry import Telemetry

__all__ = [
    "HEARTBEAT_FILE",
    "HealthServer",
    "HealthSources",
    "HeartbeatLoop",
    "ProcessInfo",
    "Verdict",
    "check_heartbeat",
    "evaluate_heartbeat",
    "probe_process",
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


# /proc/<pid>/stat field 3 of a process that has exited: zombie, dead.
_DEAD_STATES = frozenset({"Z", "X", "x"})


@dataclass(frozen=True)
class ProcessInfo:
    """What this host says of a pid: whether it runs, and its start time when /proc tells."""

    exists: bool
    started: str | None = None  # /proc/<pid>/stat field 22: clock ticks after boot


def probe_process(pid: int) -> ProcessInfo:
    """Does ``pid`` run here, and since when (Linux's /proc; elsewhere only whether it runs)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="ascii", errors="replace")
    except FileNotFoundError:
        if Path("/proc/self/stat").exists():
            return ProcessInfo(exists=False)
        return ProcessInfo(exists=_signalable(pid))  # no /proc (macOS): ask the kernel
    except OSError:
        return ProcessInfo(exists=True)  # there, but unreadable: assume it is the one
    # The command name (field 2) is in parentheses and may hold spaces: count after the last ")".
    fields = stat.rpartition(")")[2].split()
    if fields and fields[0] in _DEAD_STATES:
        return ProcessInfo(exists=False)  # exited, not yet reaped by its parent
    return ProcessInfo(exists=True, started=fields[19] if len(fields) > 19 else None)


def _signalable(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process, but it exists
    return True


def this_process() -> dict[str, Any]:
    """Who writes the heartbeat: pid, its start time and the host name."""
    pid = os.getpid()
    return {"pid": pid, "pid_started": probe_process(pid).started, "host": socket.gethostname()}


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


def _gone(
    data: Mapping[str, Any], probe: Callable[[int], ProcessInfo], self_pid: int, host: str
) -> str | None:
    """Why the writer is not running any more, or None when it may be."""
    if data.get("stopped"):
        return "the worker stopped (clean shutdown)"
    pid, recorded_host = data.get("pid"), data.get("host")
    if not isinstance(pid, int) or (recorded_host is not None and recorded_host != host):
        return None  # no pid, or written on another host: only the file's age can tell
    if pid == self_pid:
        return f"the worker's pid {pid} is this check itself: the worker is gone"
    found = probe(pid)
    if not found.exists:
        return f"the worker's pid {pid} is not running"
    recorded = data.get("pid_started")
    if recorded is not None and found.started is not None and str(recorded) != found.started:
        return f"the worker's pid {pid} is another process now"
    return None


def evaluate_heartbeat(
    data: Mapping[str, Any] | None,
    now: float,
    *,
    probe: Callable[[int], ProcessInfo] = probe_process,
    self_pid: int | None = None,
    host: str | None = None,
) -> Verdict:
    """Is a worker that wrote ``data`` alive and unstuck at wall time ``now``?

    Pure but for ``probe`` (the process table); ``self_pid`` and ``host`` default to the
    checking process's own.
    """
    if data is None:
        return Verdict(False, "no heartbeat file")
    self_pid = os.getpid() if self_pid is None else self_pid
    gone = _gone(data, probe, self_pid, socket.gethostname() if host is None else host)
    if gone is not None:
        return Verdict(False, gone)
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


def check_heartbeat(path: Path, now: float) -> Verdict:
    """Read and judge the heartbeat file at ``path``; the reason names the file."""
    verdict = evaluate_heartbeat(read_heartbeat(path), now)
    return Verdict(verdict.ok, f"{verdict.reason} ({path})")


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
        self._writer = this_process()

    def _document(self, *, stopped: bool = False) -> dict[str, Any]:
        return {
            **self._snapshot(),
            "file_interval_s": self.file_interval_s,
            **self._writer,
            "stopped": stopped,
        }

    async def _write(self, data: Mapping[str, Any]) -> None:
        try:
            await asyncio.to_thread(write_heartbeat, self.path, data)
        except OSError as exc:
            log.error("heartbeat.write_failed", path=str(self.path), error=exc.strerror)

    async def beat(self) -> None:
        """Write the file now (and log, when a log interval has passed)."""
        data = self._document()
        await self._write(data)
        if self._clock.now() >= self._next_log_at:
            self._next_log_at = self._clock.now() + self.log_interval_s
            log.info("worker.heartbeat", **_log_fields(data))

    async def stopped(self) -> None:
        """The last write: the worker stopped, so ``healthcheck`` fails at once."""
        await self._write(self._document(stopped=True))

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


@dataclass(frozen=True)
class HealthSources:
    """What the endpoints and the heartbeat read: the snapshot, readiness, the metrics."""

    snapshot: Snapshot
    ready: Callable[[], bool]
    telemetry: Telemetry


async def start_health(
    stack: AsyncExitStack,
    settings: Settings,
    sources: HealthSources,
    clock: Clock,
    *,
    file_interval_s: float,
    log_interval_s: float,
) -> HealthServer | None:
    """Start the heartbeat loop, and the HTTP server when ``settings.health_port``.

    ``stack`` stops both; closing it writes the heartbeat a last time, marked stopped. A port
    already in use raises ``ConfigError`` (the heartbeat is not started then).
    """
    state_dir = Path(settings.state_dir)
    await asyncio.to_thread(state_dir.mkdir, mode=0o700, parents=True, exist_ok=True)
    server = None
    if settings.health_port:
        server = HealthServer(
            sources.ready,
            sources.telemetry.render,
            host=settings.health_host,
            port=settings.health_port,
        )
        await server.start()
    heartbeat = HeartbeatLoop(
        state_dir / HEARTBEAT_FILE,
        sources.snapshot,
        clock,
        file_interval_s=file_interval_s,
        log_interval_s=log_interval_s,
    )
    task = asyncio.get_running_loop().create_task(heartbeat.run(), name="heartbeat")
    stack.push_async_callback(_stop_heartbeat, task, heartbeat)
    if server is not None:
        stack.push_async_callback(server.close)
    return server


async def _stop_heartbeat(task: asyncio.Task[None], heartbeat: HeartbeatLoop) -> None:
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)
    await heartbeat.stopped()
