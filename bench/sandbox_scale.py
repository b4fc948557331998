"""What one sandbox request costs when the store holds many other clients: 1 client vs many.

A store is filled with ``BENCH_CLIENTS`` API clients (default 250; each its own owner and
channel) × ``BENCH_PROPERTIES`` properties (10) × ~``BENCH_EVENTS`` change-log events each (15),
and ``BENCH_TOKENS`` tokens issued per client (20, as a long day of 120 s tokens leaves them), the
same way the scale bench's sandbox processes hold their sites. Then one client sends
``BENCH_REQUESTS`` (200) requests of each kind over the real HTTP sandbox, one at a time:
``GET /cmf/properties/change/logs``, ``GET /cmf/properties/ids`` and ``POST /oauth/token``.
The same runs against a store with that one client only, and the bench prints the milliseconds
per request of both and their ratio per kind (the goal: about 1, i.e. the cost does not grow with
the other clients). ``BENCH_DB=1`` keeps the store in SQLite (in a temporary directory).
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiohttp

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from bench._support import emit
from worker.sandbox import ClientSpec, Journal, Sandbox
from worker.sandbox.store import SandboxStore

CLIENTS = int(os.environ.get("BENCH_CLIENTS", "250"))
PROPERTIES = int(os.environ.get("BENCH_PROPERTIES", "10"))
EVENTS = int(os.environ.get("BENCH_EVENTS", "15"))
TOKENS = int(os.environ.get("BENCH_TOKENS", "20"))
REQUESTS = int(os.environ.get("BENCH_REQUESTS", "200"))
USE_DB = os.environ.get("BENCH_DB", "") == "1"
CHANNEL = "bench"
SECRET = "bench-secret-not-real"
SCOPES = ("read", "write", "delete")


def _fill(store: SandboxStore, client_id: str) -> None:
    """Announce the client's channel, create its properties, log their events, issue tokens."""
    owner = store.access.owner_of(client_id)
    store.access.announce(owner, CHANNEL)
    channel = store.channel(owner, CHANNEL)
    with store.batch():
        for n in range(PROPERTIES):
            uid = store.properties.create_property(
                channel, engine=True, property_name=f"{client_id} {n}", remote_uid=n + 1,
                country="GB", region_id=1, ptype_id=1,
            )  # fmt: skip
            for _ in range(EVENTS - 1):  # property_created is the first
                store.records.record(uid, "tariffs_updated", **channel.log_fields())
        spec = store.access.clients[client_id]
        for _ in range(TOKENS):
            store.issue_token(spec, SCOPES)


async def _per_request_ms(one: Callable[[], Awaitable[None]]) -> float:
    for _ in range(min(20, REQUESTS)):  # warm up
        await one()
    started = time.perf_counter()
    for _ in range(REQUESTS):
        await one()
    return 1000 * (time.perf_counter() - started) / REQUESTS


async def _measure(clients: int, db_path: Path | None) -> dict[str, float]:
    specs = [ClientSpec(f"site-{i}", SECRET, SCOPES) for i in range(clients)]
    sandbox = Sandbox(clients=specs, db_path=db_path, journal=Journal(max_entries=16))
    async with sandbox, aiohttp.ClientSession() as http:
        for spec in specs:
            _fill(sandbox.store, spec.client_id)
        api = sandbox.api_url
        form = {"grant_type": "client_credentials", "client_id": "site-0",
                "client_secret": SECRET, "scope": " ".join(SCOPES)}  # fmt: skip
        async with http.post(f"{api}/oauth/token", data=form) as response:
            token = (await response.json())["access_token"]
        headers = {"Authorization": f"Bearer {token}", "X-BOOKYFLOW-channel-name": CHANNEL}

        def getter(path: str) -> Callable[[], Awaitable[None]]:
            async def one() -> None:
                async with http.get(f"{api}/{path}", headers=headers) as answer:
                    await answer.read()
                    assert answer.status == 200, answer.status

            return one

        async def new_token() -> None:
            async with http.post(f"{api}/oauth/token", data=form) as answer:
                await answer.read()
                assert answer.status == 200, answer.status

        return {
            "change_logs": await _per_request_ms(getter("cmf/properties/change/logs")),
            "property_ids": await _per_request_ms(getter("cmf/properties/ids")),
            "token": await _per_request_ms(new_token),
        }


async def main() -> None:
    emit("clients", CLIENTS)
    emit("properties_per_client", PROPERTIES)
    emit("events_per_property", EVENTS)
    emit("sqlite", int(USE_DB))
    with tempfile.TemporaryDirectory() as tmp:
        alone = await _measure(1, Path(tmp, "one.db") if USE_DB else None)
        crowded = await _measure(CLIENTS, Path(tmp, "many.db") if USE_DB else None)
    for kind in alone:
        emit(f"{kind}_ms_1_client", alone[kind])
        emit(f"{kind}_ms_{CLIENTS}_clients", crowded[kind])
        emit(f"{kind}_ratio", crowded[kind] / alone[kind])


if __name__ == "__main__":
    asyncio.run(main())
