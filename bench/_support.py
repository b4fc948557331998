"""Shared bench tooling: a sandbox in its own process that counts what it receives.

The sandbox runs in a spawned child so that the worker's CPU time and peak RSS (this process)
and the sandbox's CPU time (the child) are measured apart. The child counts every request it
answers — method, CMF writes, request body bytes (``Content-Length``) and an estimate of the
request line plus headers — and reports on demand over a pipe. Helper module: ``make bench``
skips files whose name starts with ``_``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import sys
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.connection import Connection
from types import TracebackType
from typing import Any

WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
SECRET = "s3cret-demo-secret"


@dataclass(frozen=True)
class SiteStats:
    """What the sandbox received since the last reset, and its own CPU seconds so far."""

    requests: int
    writes: int
    body_bytes: int
    header_bytes: int
    by_path: dict[str, int]
    cpu_s: float

    @property
    def bytes(self) -> int:
        return self.body_bytes + self.header_bytes


def _is_write(method: str, path: str) -> bool:
    return method in WRITE_METHODS and "/cmf/" in path and "/channel/announce" not in path


def _family(path: str) -> str:
    """``/bookyflow/api/cmf/property/prices`` → ``PUT cmf/property/prices`` (ids dropped)."""
    parts = [p for p in path.split("/")[3:] if p and not p.isdigit() and "-" not in p]
    return "/".join(parts[:3])


class _Counters:
    def __init__(self) -> None:
        self.reset()

    def reset(self) -> None:
        self.requests = self.writes = self.body = self.headers = 0
        self.paths: Counter[str] = Counter()

    def listen(self, entry: Any, _duration_s: float) -> None:
        self.requests += 1
        self.writes += _is_write(entry.method, entry.path)
        self.body += int(entry.headers.get("Content-Length") or 0)
        # Request line + "Name: value\r\n" per header + the blank line.
        line = len(entry.method) + len(entry.path) + 12
        self.headers += line + sum(len(k) + len(v) + 4 for k, v in entry.headers.items()) + 2
        self.paths[f"{entry.method} {_family(entry.path)}"] += 1

    def snapshot(self) -> SiteStats:
        return SiteStats(
            self.requests, self.writes, self.body, self.headers, dict(self.paths), cpu_seconds()
        )


def cpu_seconds() -> float:
    """User + system CPU seconds of this process (all threads: sqlite runs in one)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    """Peak resident set of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


async def _serve(conn: Connection) -> None:
    from worker.logging import configure_logging
    from worker.sandbox import Journal, Sandbox

    configure_logging(level="WARNING")
    counters = _Counters()
    stop = asyncio.Event()
    journal = Journal(max_entries=64)  # counting is done by the listener, not the list
    journal.add_listener(counters.listen)

    def on_command() -> None:
        command = conn.recv()
        if command == "stop":
            stop.set()
        elif command == "reset":
            counters.reset()
            conn.send(None)
        else:
            conn.send(counters.snapshot())

    async with Sandbox(journal=journal) as sandbox:
        loop = asyncio.get_running_loop()
        loop.add_reader(conn.fileno(), on_command)
        conn.send(sandbox.api_url)
        await stop.wait()
        loop.remove_reader(conn.fileno())


def _child(conn: Connection) -> None:
    sys.path.insert(0, os.getcwd())
    asyncio.run(_serve(conn))


class SandboxProcess:
    """``async with SandboxProcess() as site``: ``site.api_url``, ``await site.stats()``."""

    def __init__(self) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child_conn = context.Pipe()
        self._process = context.Process(target=_child, args=(child_conn,), daemon=True)
        self.api_url = ""

    @property
    def pid(self) -> int:
        return self._process.pid or 0

    async def __aenter__(self) -> SandboxProcess:
        self._process.start()
        self.api_url = await asyncio.to_thread(self._conn.recv)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._conn.send("stop")
        await asyncio.to_thread(self._process.join, 10)

    async def _ask(self, command: str) -> Any:
        self._conn.send(command)
        return await asyncio.to_thread(self._conn.recv)

    async def stats(self) -> SiteStats:
        result: SiteStats = await self._ask("stats")
        return result

    async def reset(self) -> None:
        await self._ask("reset")


@dataclass
class Meter:
    """Wall time, worker CPU and site traffic of one measured phase."""

    site: SandboxProcess
    wall_s: float = 0.0
    cpu_s: float = 0.0
    site_cpu_s: float = 0.0
    traffic: SiteStats | None = None

    async def __aenter__(self) -> Meter:
        await self.site.reset()
        self._site_cpu = (await self.site.stats()).cpu_s
        self._cpu, self._wall = cpu_seconds(), time.perf_counter()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.wall_s = time.perf_counter() - self._wall
        self.cpu_s = cpu_seconds() - self._cpu
        self.traffic = await self.site.stats()
        self.site_cpu_s = self.traffic.cpu_s - self._site_cpu


def emit(name: str, value: float | int | str) -> None:
    """One ``name=value`` line of the bench output."""
    text = f"{value:.3f}" if isinstance(value, float) else str(value)
    print(f"{name}={text}", flush=True)
