"""One channel's answers do not depend on how many other clients, channels and events the store
holds: the change log, the property ids and ``changelog_item_count`` read per-channel and
per-property indexes, and these tests check that they say what a pass over the whole store says.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp import web
from aiohttp.test_utils import TestServer

from tests.sandbox.conftest import CHANNEL, DEMO, Api, FakeWallClock, create_property
from worker.sandbox.api import API_ROOT, create_api_app
from worker.sandbox.store import ClientSpec, SandboxStore
from worker.sandbox.store_events import LOG_DAYS

LOGS = "/cmf/properties/change/logs"
DAY = 86400.0


def _crowd(
    store: SandboxStore, clients: int = 30, properties: int = 3, events: int = 8, name: str = "a"
) -> None:
    """Other clients (each its own owner), each with its channel, properties and events."""
    for n in range(clients):
        spec = ClientSpec(f"other-{name}{n}", "other-secret-value", ("read", "write", "delete"))
        store.add_client(spec)
        owner = store.access.owner_of(spec.client_id)
        store.access.announce(owner, CHANNEL)
        channel = store.channel(owner, CHANNEL)
        with store.batch():
            for p in range(properties):
                uid = store.properties.create_property(
                    channel, engine=True, property_name="Other", remote_uid=p + 1,
                    country="GB", region_id=1113, ptype_id=1,
                )  # fmt: skip
                for _ in range(events):
                    store.records.record(uid, "tariffs_updated", **channel.log_fields())


def _full_scan(store: SandboxStore, uids: set[int], now: float) -> dict[str, list[str]]:
    """The change log as one pass over every event of the store orders it: event ids."""
    grouped: dict[str, list[str]] = {}
    for event in store.records.events.values():
        if event.property_uid in uids and event.at >= now - LOG_DAYS * DAY:
            grouped.setdefault(str(event.property_uid), []).append(str(event.event_id))
    return grouped


async def _raw(api: Api, path: str) -> bytes:
    headers = {"Authorization": f"Bearer {api.token}", "X-BOOKYFLOW-channel-name": CHANNEL}
    async with api.session.get(api.base + path, headers=headers) as response:
        assert response.status == 200, await response.text()
        return await response.read()


async def test_change_log_bytes_unchanged_by_other_clients_events(
    ready: Api, store: SandboxStore
) -> None:
    """Thirty other clients with 720 events between them leave demo's change log, byte for
    byte, as it was, and none of their properties appears in it."""
    uids = {await create_property(ready, "101"), await create_property(ready, "102")}
    store.book_on_site(min(uids), "2025-05-01", "2025-05-03")
    before = await _raw(ready, LOGS)
    _crowd(store)
    assert len(store.records.events) > 700
    assert await _raw(ready, LOGS) == before
    assert set((await ready.cmf("GET", LOGS)).keys()) == {str(uid) for uid in uids}


async def test_change_log_orders_properties_by_first_recent_event(
    ready: Api, store: SandboxStore, clock: FakeWallClock
) -> None:
    """With other channels' events in between and the oldest events past 14 days, properties
    come in the order of their first recent event (not uid order), as a whole-log pass has it."""
    first = await create_property(ready, "101")
    second = await create_property(ready, "102")
    _crowd(store, clients=5)
    owner = store.access.owner_of(DEMO.client_id)
    demo = store.channel(owner, CHANNEL)
    clock.advance(10 * DAY)
    store.records.record(second, "tariffs_updated", **demo.log_fields())
    _crowd(store, clients=3, events=2, name="b")
    clock.advance(2 * DAY)
    store.records.record(first, "tariffs_updated", **demo.log_fields())
    clock.advance(3 * DAY)  # the day-0 events are past 14 days but not yet pruned
    ready.token = await ready.fetch_token()
    logs = await ready.cmf("GET", LOGS)
    expected = _full_scan(store, {first, second}, clock.now)
    assert list(logs) == [str(second), str(first)] == list(expected)
    assert {uid: [e["event_id"] for e in events] for uid, events in logs.items()} == expected


async def test_property_ids_and_event_count_are_the_channels_own(
    ready: Api, store: SandboxStore
) -> None:
    """Property ids list only the channel's properties (a deleted one goes, its remote uid is
    free again) and ``changelog_item_count`` counts only that property's events."""
    uid = await create_property(ready, "101")
    gone = await create_property(ready, "102")
    _crowd(store)
    assert await ready.cmf("DELETE", f"/cmf/property/local/{gone}") is True
    ids = await ready.cmf("GET", "/cmf/properties/ids")
    assert list(ids) == [str(uid)]
    again = await create_property(ready, "102")
    ids = await ready.cmf("GET", "/cmf/properties/ids")
    assert list(ids) == [str(uid), str(again)]
    got = await ready.cmf("GET", f"/cmf/property/{uid}")
    mine = sum(1 for e in store.records.events.values() if e.property_uid == uid)
    assert got["changelog_item_count"] == mine == 1


@asynccontextmanager
async def _serving(store: SandboxStore) -> AsyncIterator[Api]:
    root = web.Application()
    root.add_subapp(API_ROOT, create_api_app(store))
    server = TestServer(root, host="127.0.0.1")
    await server.start_server()
    try:
        async with aiohttp.ClientSession() as session:
            api = Api(session, str(server.make_url(API_ROOT)))
            api.token = await api.fetch_token()
            api.channel = CHANNEL
            yield api
    finally:
        await server.close()


async def _answers(api: Api) -> tuple[Any, Any]:
    return await api.cmf("GET", LOGS), await api.cmf("GET", "/cmf/properties/ids")


async def test_indexes_rebuilt_from_sqlite(tmp_path: Path, clock: FakeWallClock) -> None:
    """A store reopened on its SQLite file answers demo's change log and ids as before."""
    path = tmp_path / "sandbox.db"
    first = SandboxStore([DEMO], db_path=path, wall_clock=clock)
    try:
        owner = first.access.owner_of(DEMO.client_id)
        first.access.announce(owner, CHANNEL)
        _crowd(first, clients=2)
        async with _serving(first) as api:
            await create_property(api, "101")
            _crowd(first, clients=4, name="b")
            await create_property(api, "102")
            before = await _answers(api)
    finally:
        first.close()
    second = SandboxStore([DEMO], db_path=path, wall_clock=clock)
    try:
        async with _serving(second) as api:
            assert await _answers(api) == before
            assert len(before[0]) == len(before[1]) == 2
    finally:
        second.close()
