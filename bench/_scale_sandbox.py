"""A sandbox process for the scale bench: one BookyFlow server per process, serving many sites.

Every site is its own API client (so its own owner and channel on the store) and its own port
(so its own URL: the worker's sharding and connection pools are per URL, as with real hotels).
The process counts what it answers and remembers, per property, when its last price write was
answered, so the bench can time a change from the inventory file's rename to the site; it
reports on demand over a pipe. Helper module: ``make bench`` skips files whose name starts with
``_``.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import resource
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any

from bench._support import _is_write
from worker.api.routes import route_template

API_ROOT = "/bookyflow/api"
# The write that carries a price change (``Cmf.set_prices``).
PRICE_WRITE = "/cmf/property/prices"


@dataclass
class Traffic:
    """What one sandbox process answered since its last reset, and its CPU seconds so far."""

    requests: int = 0
    writes: int = 0
    tokens: int = 0
    by_family: Counter[str] = field(default_factory=Counter)
    cpu_s: float = 0.0

    def add(self, other: Traffic) -> Traffic:
        return Traffic(
            self.requests + other.requests,
            self.writes + other.writes,
            self.tokens + other.tokens,
            self.by_family + other.by_family,
            self.cpu_s + other.cpu_s,
        )


class _Listener:
    def __init__(self) -> None:
        self.traffic = Traffic()
        self.price_written_at: dict[int, float] = {}  # property uid -> monotonic seconds
        self.token_times: dict[str, list[float]] = {}  # client id -> when it asked, in order

    def __call__(self, entry: Any, _duration_s: float) -> None:
        traffic = self.traffic
        traffic.requests += 1
        traffic.writes += _is_write(entry.method, entry.path)
        if entry.path.endswith("/oauth/token"):
            traffic.tokens += 1
            client = entry.form.get("client_id", "")
            self.token_times.setdefault(client, []).append(time.monotonic())
        route = route_template(entry.path.removeprefix(API_ROOT))
        traffic.by_family[f"{entry.method} {route}"] += 1
        if entry.method == "PUT" and entry.path.endswith(PRICE_WRITE) and entry.status == 200:
            # CLOCK_MONOTONIC is one clock for every process on the machine.
            self.price_written_at[int(entry.form["property_uid"])] = time.monotonic()


class _Answers:
    """What the bench can ask (one method per command; each takes one argument)."""

    def __init__(self, listener: _Listener, store: Any, client_ids: Sequence[str]) -> None:
        self.listener, self.store, self.client_ids = listener, store, client_ids
        self.cpu_at_reset = 0.0

    def reset(self, _: Any) -> None:
        self.listener.traffic = Traffic()
        self.cpu_at_reset = _cpu_s()

    def traffic(self, _: Any) -> Traffic:
        seen = self.listener.traffic
        cpu_s = _cpu_s() - self.cpu_at_reset  # since the last reset, as the counts
        return Traffic(seen.requests, seen.writes, seen.tokens, Counter(seen.by_family), cpu_s)

    def token_times(self, _: Any) -> dict[str, list[float]]:
        """When each client asked for a token, since the process started."""
        return {client: list(times) for client, times in self.listener.token_times.items()}

    def uids(self, channel: str) -> dict[tuple[str, str], int]:
        """(client, remote uid) -> property uid, for one channel."""
        found = {}
        for cid in self.client_ids:
            for prop in self.store.properties_of(cid, channel):
                found[(cid, str(prop["remote_uid"]))] = int(prop["property_uid"])
        return found

    def priced(self, checks: Sequence[tuple[int, int, str, str]]) -> dict[int, float | None]:
        """Of ``(key, uid, night, price)``, those holding that price now: when the property's
        last price write was answered."""
        done = {}
        for key, uid, night, price in checks:
            held = self.store.calendar(uid, night, night)[night]["price"]
            if held is not None and f"{float(held):.2f}" == price:
                done[key] = self.listener.price_written_at.get(uid)
        return done


def _cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


async def _serve(conn: Connection, clients: Sequence[tuple[str, str]], token_ttl_s: float) -> None:
    from worker.logging import configure_logging
    from worker.sandbox import ClientSpec, Journal, Sandbox
    from worker.sandbox.image_host import ImageHost

    configure_logging(level="WARNING")
    listener = _Listener()
    journal = Journal(max_entries=16)  # counting is done by the listener, not the list
    journal.add_listener(listener)
    specs = [ClientSpec(cid, secret, ("read", "write", "delete")) for cid, secret in clients]
    stop = asyncio.Event()
    sandbox = Sandbox(clients=specs, token_ttl_s=token_ttl_s, journal=journal)
    async with sandbox, ImageHost() as images:  # the vendor's CDN, which the site downloads from
        urls = [sandbox.api_url]
        for _ in clients[1:]:
            port = await sandbox.listen_also()
            urls.append(f"http://{sandbox.host}:{port}/bookyflow/api")
        answers = _Answers(listener, sandbox.store, [cid for cid, _ in clients])

        def on_command() -> None:
            try:
                command, argument = conn.recv()
            except EOFError:  # the bench is gone: stop rather than spin on a closed pipe
                command, argument = "stop", None
            if command == "stop":
                stop.set()
                return
            conn.send(getattr(answers, command)(argument))

        loop = asyncio.get_running_loop()
        loop.add_reader(conn.fileno(), on_command)
        conn.send((urls, images.url("")))
        await stop.wait()
        loop.remove_reader(conn.fileno())


def _child(conn: Connection, clients: Sequence[tuple[str, str]], token_ttl_s: float) -> None:
    sys.path.insert(0, os.getcwd())
    asyncio.run(_serve(conn, clients, token_ttl_s))


class SandboxGroup:
    """One spawned sandbox process serving ``clients``; ``urls[i]`` is client ``i``'s site."""

    def __init__(self, clients: Sequence[tuple[str, str]], token_ttl_s: float) -> None:
        context = multiprocessing.get_context("spawn")
        self._conn, child = context.Pipe()
        self._process = context.Process(
            target=_child, args=(child, list(clients), token_ttl_s), daemon=True
        )
        self.clients = list(clients)
        self.urls: list[str] = []
        self.image_base = ""  # + a file name: an image URL the site can download
        self._lock = asyncio.Lock()

    @property
    def pid(self) -> int:
        return self._process.pid or 0

    async def start(self) -> None:
        self._process.start()
        self.urls, self.image_base = await asyncio.to_thread(self._conn.recv)

    async def stop(self) -> None:
        self._conn.send(("stop", None))
        await asyncio.to_thread(self._process.join, 10)

    async def ask(self, command: str, argument: Any = None) -> Any:
        async with self._lock:  # one question at a time on the pipe
            self._conn.send((command, argument))
            return await asyncio.to_thread(self._conn.recv)
