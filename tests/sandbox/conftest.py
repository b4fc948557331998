"""Fixtures of the sandbox contract tests: a store on a fake wall clock, its API on loopback HTTP.

``store`` knows two clients of two different owners (``demo`` and ``rival``); ``api`` is a small
HTTP caller for that server that can fetch tokens and make CMF calls with the channel header.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator, Mapping
from typing import Any

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from worker.sandbox.api import API_ROOT, create_api_app
from worker.sandbox.store import ClientSpec, SandboxStore

START = 1740830400.0  # 2025-03-01 12:00:00 UTC
TODAY = "2025-03-01"
DEMO = ClientSpec("demo", "s3cret-demo-secret", ("read", "write", "delete"))
RIVAL = ClientSpec("rival", "rival-secret-value", ("read", "write", "delete"))
READER = ClientSpec("reader", "reader-secret-value", ("read",), owner_id=None)
CHANNEL = "otabooker"


class FakeWallClock:
    """Epoch seconds that move only when a test says so."""

    def __init__(self, now: float = START) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Api:
    """Loopback HTTP calls to the sandbox API, with an optional default token and channel."""

    def __init__(self, session: aiohttp.ClientSession, base: str) -> None:
        self.session = session
        self.base = base
        self.token: str | None = None
        self.channel: str | None = None

    async def fetch_token(self, client: ClientSpec = DEMO, scope: str = "read write delete") -> str:
        form = {"grant_type": "client_credentials", "client_id": client.client_id,
                "client_secret": client.secret, "scope": scope}  # fmt: skip
        status, body, _ = await self.call("POST", "/oauth/token", form=form, auth=False)
        assert status == 200, body
        return str(body["access_token"])

    async def call(
        self,
        method: str,
        path: str,
        *,
        form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
        auth: bool = True,
        channel: bool = True,
    ) -> tuple[int, Any, Mapping[str, str]]:
        """``(status, decoded body or text, headers)``."""
        sent = dict(headers or {})
        if auth and self.token:
            sent.setdefault("Authorization", f"Bearer {self.token}")
        if channel and self.channel:
            sent.setdefault("X-BOOKYFLOW-channel-name", self.channel)
        async with self.session.request(
            method, self.base + path, data=form, headers=sent
        ) as response:
            text = await response.text()
            body: Any = text
            if response.content_type == "application/json":
                try:
                    body = json.loads(text)
                except ValueError:  # a PHP notice after the JSON, as the real engine prints
                    body = text
            return response.status, body, response.headers

    async def cmf(self, method: str, path: str, form: Mapping[str, str] | None = None) -> Any:
        """A CMF call that must succeed: returns ``data.response``."""
        status, body, _ = await self.call(method, path, form=form)
        assert status == 200, body
        assert "error_message" not in body, body
        return body["data"]["response"]

    async def data(self, method: str, path: str, form: Mapping[str, str] | None = None) -> Any:
        """A call answered 200 with a success envelope: its whole ``data`` object."""
        status, body, _ = await self.call(method, path, form=form)
        assert status == 200, body
        return body["data"]

    async def error(self, method: str, path: str, form: Mapping[str, str] | None = None) -> str:
        """A CMF call that must fail with the 400 error envelope: returns its message."""
        status, body, _ = await self.call(method, path, form=form)
        assert status == 400, body
        assert body["lines"] == [], body
        assert body["code"] == 400, body
        return str(body["error_message"])


@pytest.fixture
def clock() -> FakeWallClock:
    return FakeWallClock()


@pytest.fixture
def store(clock: FakeWallClock) -> Iterator[SandboxStore]:
    sandbox_store = SandboxStore([DEMO, RIVAL, READER], wall_clock=clock)
    yield sandbox_store
    sandbox_store.close()


@pytest.fixture
async def api_server(store: SandboxStore) -> AsyncIterator[TestServer]:
    root = web.Application()
    root.add_subapp(API_ROOT, create_api_app(store))
    server = TestServer(root, host="127.0.0.1")
    await server.start_server()
    yield server
    await server.close()


@pytest.fixture
async def api(api_server: TestServer) -> AsyncIterator[Api]:
    async with aiohttp.ClientSession() as session:
        yield Api(session, str(api_server.make_url(API_ROOT)))


@pytest.fixture
async def ready(api: Api) -> Api:
    """``api`` with a demo token and the ``otabooker`` channel announced and set."""
    api.token = await api.fetch_token()
    status, body, _ = await api.call(
        "POST", f"/cmf/channel/announce/{CHANNEL}/OTA%20Booker", form={"params": "{}"}
    )
    assert status == 200, body
    api.channel = CHANNEL
    return api


DEVON = "1113"  # a GB region of the real engine (region ids are site-wide)


async def create_property(api: Api, remote_uid: str = "101", **fields: str) -> int:
    """A new GB hotel (Devon) of the api's channel; returns its uid."""
    form = {"property_name": "Sea View", "remote_uid": remote_uid, "country": "GB",
            "region_id": DEVON, "ptype_id": "1", **fields}  # fmt: skip
    return int(await api.cmf("POST", "/cmf/property", form))


async def add_room(api: Api, uid: int, room_type: str = "1", room_uid: str = "0") -> int:
    form = {"property_uid": str(uid), "room_type_id": room_type, "room_uid": room_uid,
            "max_people": "2", "room_name": "Double", "room_number": "101"}  # fmt: skip
    return int((await api.cmf("PUT", "/cmf/property/room", form))["room_uid"])


async def set_base_price(api: Api, uid: int, price: str = "100", people: str = "2") -> None:
    form = {"property_uid": str(uid), "base_price": price, "max_people": people}
    assert await api.cmf("PUT", "/cmf/property/base/price", form) is True
