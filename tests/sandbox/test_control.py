"""Control surface: typed controls in process, and the admin-only /_sandbox routes over HTTP."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import date, timedelta
from typing import Any

import aiohttp
import pytest

from tests.conftest import SandboxFactory
from worker.sandbox import Sandbox
from worker.sandbox.control import apply_fault_spec
from worker.sandbox.faults import Fault, FaultInjector
from worker.sandbox.remote import RemoteSandbox, RemoteSandboxError

SECRET = "s3cret-demo-secret"
ADMIN = "admin-token-for-tests"


@pytest.fixture
async def controlled(sandbox_factory: SandboxFactory) -> Sandbox:
    return await sandbox_factory(control_routes=True, admin_token=ADMIN)


@pytest.fixture
async def remote(controlled: Sandbox) -> AsyncIterator[RemoteSandbox]:
    async with RemoteSandbox(controlled.url, ADMIN) as client:
        yield client


class Site:
    """A minimal hand-written channel client, enough to create state the controls act on."""

    def __init__(self, session: aiohttp.ClientSession, sandbox: Sandbox) -> None:
        self.session, self.api, self.token = session, sandbox.api_url, ""

    async def login(self, scope: str = "read write delete") -> dict[str, Any]:
        form = {"grant_type": "client_credentials", "client_id": "demo", "client_secret": SECRET}
        async with self.session.post(f"{self.api}/oauth/token", data={**form, "scope": scope}) as r:
            body: dict[str, Any] = await r.json()
        self.token = body["access_token"]
        return body

    async def call(self, method: str, path: str, form: dict[str, str] | None = None) -> Any:
        headers = {"Authorization": f"Bearer {self.token}", "X-BOOKYFLOW-channel-name": "acme"}
        async with self.session.request(
            method, self.api + path, data=form, headers=headers
        ) as response:
            return response.status, await response.json(content_type=None)

    async def property_with_room(self) -> int:
        await self.call("POST", "/cmf/channel/announce/acme/Acme", {"params": "{}"})
        form = {"property_name": "Sea View", "remote_uid": "r-1", "country": "GB"}
        _, created = await self.call(
            "POST", "/cmf/property", {**form, "region_id": "1", "ptype_id": "1"}
        )
        uid = int(created["data"]["response"])
        room = {"property_uid": str(uid), "room_type_id": "1", "room_uid": "0", "max_people": "2"}
        await self.call("PUT", "/cmf/property/room", {**room, "room_name": "A", "room_number": "1"})
        await self.call(
            "PUT",
            "/cmf/property/base/price",
            {"property_uid": str(uid), "base_price": "100", "max_people": "2"},
        )
        return uid


def test_fault_specs_map_onto_the_injector() -> None:
    """A JSON fault spec calls the injector method of its kind; an unknown kind is refused."""
    faults = FaultInjector()
    apply_fault_spec(faults, {"kind": "fail_next", "status": 503, "times": 2, "path": "/cmf"})
    apply_fault_spec(faults, {"kind": "reset_next", "after_processing": True})
    assert faults.before("/x/cmf/y") == Fault("respond", 503, html=True)
    assert faults.after("/") == Fault("reset")
    with pytest.raises(ValueError, match="kind must be one of"):
        apply_fault_spec(faults, {"kind": "meteor"})
    with pytest.raises(TypeError):
        apply_fault_spec(faults, {"kind": "truncate_next", "status": 500})


async def test_control_routes_are_absent_by_default(sandbox: Sandbox) -> None:
    """Without control_routes=True the /_sandbox paths do not exist at all."""
    async with RemoteSandbox(sandbox.url, "anything") as client:
        with pytest.raises(RemoteSandboxError) as caught:
            await client.journal()
    assert caught.value.status == 404


@pytest.mark.parametrize("token", [None, "wrong-admin-token"])
async def test_control_routes_need_the_admin_token(controlled: Sandbox, token: str | None) -> None:
    """A missing or wrong admin bearer token is answered 401 and changes nothing."""
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    async with (
        aiohttp.ClientSession(headers=headers) as session,
        session.post(controlled.url + "/_sandbox/tokens/revoke") as response,
    ):
        assert response.status == 401
    assert controlled.admin_token == ADMIN


async def test_generated_admin_token_is_unguessable_and_kept_out_of_the_repr(
    sandbox_factory: SandboxFactory,
) -> None:
    """Without an admin token one is generated; repr(sandbox) does not show it."""
    sandbox = await sandbox_factory(control_routes=True)
    assert sandbox.admin_token is not None
    assert len(sandbox.admin_token) >= 24
    assert sandbox.admin_token not in repr(sandbox)


async def test_faults_over_http_fire_and_clear(controlled: Sandbox, remote: RemoteSandbox) -> None:
    """POST /_sandbox/faults queues a fault for API requests; DELETE clears it."""
    await remote.fail_next(500, times=3, path="/core/")
    async with aiohttp.ClientSession() as session:
        async with session.get(controlled.api_url + "/core/endpoints") as response:
            assert response.status == 500
        await remote.clear_faults()
        async with session.get(controlled.api_url + "/core/endpoints") as response:
            assert response.status == 200
    with pytest.raises(RemoteSandboxError) as caught:
        await remote.add_fault("fail_next", status=200)
    assert caught.value.status == 400


async def test_token_revoke_expire_and_ttl_over_http(
    controlled: Sandbox, remote: RemoteSandbox
) -> None:
    """Revoked and expired tokens are refused; a new ttl shows in the next token's expires_in."""
    async with aiohttp.ClientSession() as session:
        site = Site(session, controlled)
        await site.login()
        assert await remote.revoke_tokens() == 1
        assert (await site.call("GET", "/cmf/versions"))[0] == 401
        await site.login()
        assert await remote.expire_tokens() == 1
        assert (await site.call("GET", "/cmf/versions"))[0] == 401
        await remote.set_token_ttl(120)
        assert int((await site.login())["expires_in"]) == 120
    states = [e["token_state"] for e in await remote.journal(path="/cmf/versions")]
    assert states == ["revoked", "expired"]


async def test_forgetting_channels_over_http_loses_the_announcement(
    controlled: Sandbox, remote: RemoteSandbox
) -> None:
    """After /_sandbox/channels/forget the announced channel reads as not announced."""
    async with aiohttp.ClientSession() as session:
        site = Site(session, controlled)
        await site.login()
        await site.call("POST", "/cmf/channel/announce/acme/Acme", {"params": "{}"})
        await remote.forget_channels()
        _, body = await site.call("GET", "/cmf/channel/announce/acme")
    assert body["data"]["response"] == 0


async def test_legacy_switch_over_http(controlled: Sandbox, remote: RemoteSandbox) -> None:
    """POST /_sandbox/legacy flips the store's legacy mode at runtime."""
    await remote.set_legacy(True)
    assert controlled.legacy is True
    await remote.set_legacy(False)
    assert controlled.store.legacy is False


async def test_journal_over_http_hides_credentials(
    controlled: Sandbox, remote: RemoteSandbox
) -> None:
    """The journal route says whether Authorization was sent, never its value or the secret."""
    async with aiohttp.ClientSession() as session:
        site = Site(session, controlled)
        await site.login()
        await site.call("GET", "/cmf/versions")
    token_request, versions = await remote.journal()
    assert token_request["form"]["client_secret"] == "[REDACTED]"
    assert token_request["authorization"] is False
    assert versions["authorization"] is True
    assert versions["token_state"] == "valid"
    assert "authorization" not in {name.lower() for name in versions["headers"]}
    text = str(await remote.journal())
    assert site.token not in text
    assert SECRET not in text
    await remote.clear_journal()
    assert await remote.journal() == []
    assert controlled.journal.entries == []


async def test_site_bookings_and_state_over_http(
    controlled: Sandbox, remote: RemoteSandbox
) -> None:
    """A booking made on the site shows in /_sandbox/state and can be cancelled."""
    first = date.today() + timedelta(days=10)
    nights = (first.isoformat(), (first + timedelta(days=2)).isoformat())
    async with aiohttp.ClientSession() as session:
        site = Site(session, controlled)
        await site.login()
        uid = await site.property_with_room()
    booking = await remote.book_on_site(uid, *nights, firstname="Ada")
    state = await remote.state(client="demo", channel="acme", start=nights[0], end=nights[1])
    (prop,) = state["properties"]
    assert prop["property_uid"] == uid
    assert len(prop["rooms"]) == 1
    assert [b["booking_id"] for b in prop["bookings"]] == [booking["booking_id"]]
    assert sorted(prop["calendar"]) == [
        nights[0],
        (first + timedelta(days=1)).isoformat(),
        nights[1],
    ]
    cancelled = await remote.cancel_site_booking(int(booking["booking_id"]))
    assert int(cancelled["status"]["status_code"]) == 6
    with pytest.raises(RemoteSandboxError) as caught:
        await remote.state(client="demo", channel="acme", start=nights[0], end="")
    assert caught.value.status == 400
