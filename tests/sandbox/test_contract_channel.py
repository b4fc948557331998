"""Contract of channels, the CMF check order, isolation and dictionaries (spec §1, §3.1–3.3)."""

from __future__ import annotations

from tests.sandbox.conftest import CHANNEL, RIVAL, Api, create_property
from worker.sandbox.store import SandboxStore


async def test_unknown_route_is_404_envelope_after_the_token_check(api: Api) -> None:
    """No token beats an unknown route (401); with a token the route is 404 with the envelope."""
    assert (await api.call("GET", "/cmf/nothing/here"))[0] == 401
    api.token = await api.fetch_token()
    status, body, _ = await api.call("GET", "/cmf/nothing/here")
    assert status == 404
    assert body["error_message"] == "Request /cmf/nothing/here unknown"
    assert body["lines"] == []


async def test_route_is_checked_before_scope(api: Api) -> None:
    """An unknown route answers 404 even for a token without the method's scope."""
    api.token = await api.fetch_token(scope="read")
    assert (await api.call("DELETE", "/cmf/nothing"))[0] == 404


async def test_scope_is_checked_before_channel_header(api: Api) -> None:
    """A read-only token PUTting without a channel header gets 403, not 'Channel not set'."""
    api.token = await api.fetch_token(scope="read")
    assert (await api.call("PUT", "/cmf/property/publish", form={}))[0] == 403


async def test_channel_header_missing_or_blank(api: Api) -> None:
    """A CMF call without the header, or with a blank one, is 'Channel not set'."""
    api.token = await api.fetch_token()
    assert await api.error("GET", "/cmf/versions") == "Channel not set"
    api.channel = "   "
    assert await api.error("GET", "/cmf/versions") == "Channel not set"


async def test_channel_header_name_is_case_insensitive(ready: Api) -> None:
    """x-bookyflow-channel-name works as well as the canonical spelling."""
    ready.channel = None
    status, body, _ = await ready.call(
        "GET", "/cmf/versions", headers={"x-bookyflow-CHANNEL-name": CHANNEL}
    )
    assert status == 200, body


async def test_channel_not_announced(api: Api, store: SandboxStore) -> None:
    """A channel this owner never announced is refused with the owner's id in the message."""
    api.token = await api.fetch_token()
    api.channel = "neverannounced"
    owner = store.access.owner_of("demo")
    message = f"User {owner} does not have access to this channel neverannounced"
    assert await api.error("GET", "/cmf/versions") == message


async def test_announce_is_idempotent_and_get_reports_it(ready: Api) -> None:
    """POST announce twice gives the same id, which GET then reports."""
    form = {"params": "{}"}
    first = await ready.cmf("POST", "/cmf/channel/announce/second/Second%20Channel", form)
    again = await ready.cmf("POST", "/cmf/channel/announce/second/Other", form)
    assert first == again
    assert first > 0
    assert await ready.cmf("GET", "/cmf/channel/announce/second") == first


async def test_announce_requires_json_object_params(ready: Api) -> None:
    """params is required and must be a JSON object."""
    path = "/cmf/channel/announce/second/Second"
    assert await ready.error("POST", path, {}) == "params not set"
    assert "not valid JSON" in await ready.error("POST", path, {"params": "{"})
    assert "JSON object" in await ready.error("POST", path, {"params": "[]"})


async def test_forgotten_channel_table_needs_a_new_announce(
    ready: Api, store: SandboxStore
) -> None:
    """After the channel table is lost, CMF calls fail until the channel is announced again."""
    uid = await create_property(ready)
    store.forget_channels()
    assert "does not have access to this channel" in await ready.error("GET", "/cmf/versions")
    await ready.cmf("POST", f"/cmf/channel/announce/{CHANNEL}/OTA", {"params": "{}"})
    assert str(uid) in await ready.cmf("GET", "/cmf/properties/ids")


async def test_channel_error_beats_ownership_error(ready: Api) -> None:
    """With an unannounced channel, a foreign property reports the channel, not the property."""
    ready.channel = "ghost"
    assert "does not have access to this channel" in await ready.error("GET", "/cmf/property/999")


async def test_ownership_is_checked_before_parameters(ready: Api, store: SandboxStore) -> None:
    """A bad body for somebody else's property reports the ownership error."""
    channel_id = await ready.cmf("GET", f"/cmf/channel/announce/{CHANNEL}")
    owner = store.access.owner_of("demo")
    message = await ready.error("PUT", "/cmf/property/prices", {"property_uid": "77"})
    assert message == (
        f"Manager {owner} does not have access to property 77 on channel {channel_id}, "
        "or the property does not exist."
    )


async def test_two_clients_same_channel_name_are_isolated(ready: Api, api_server: object) -> None:
    """Two owners never see each other's properties, even under the same channel name."""
    uid = await create_property(ready, "SAME")
    mine_token, ready.token = ready.token, await ready.fetch_token(RIVAL)
    await ready.cmf("POST", f"/cmf/channel/announce/{CHANNEL}/Rival", {"params": "{}"})
    assert await ready.cmf("GET", "/cmf/properties/ids") == {}
    assert "does not have access to property" in await ready.error("GET", f"/cmf/property/{uid}")
    rival_uid = await create_property(ready, "SAME")  # same remote id is fine for another owner
    ready.token = mine_token
    assert list(await ready.cmf("GET", "/cmf/properties/ids")) == [str(uid)]
    assert "does not have access" in await ready.error("GET", f"/cmf/property/{rival_uid}")


async def test_two_channels_of_one_owner_are_isolated(ready: Api) -> None:
    """A second channel of the same owner does not see the first channel's properties."""
    await create_property(ready)
    await ready.cmf("POST", "/cmf/channel/announce/second/Second", {"params": "{}"})
    ready.channel = "second"
    assert await ready.cmf("GET", "/cmf/properties/ids") == {}


async def test_dictionaries(ready: Api) -> None:
    """Countries, regions, property and room types are realistic and cross-referenced."""
    countries = await ready.cmf("GET", "/cmf/list/countries")
    assert len(countries) >= 60
    assert countries["GB"]["countryname"] == "United Kingdom"
    assert {"PT", "ES", "FR", "DE", "IT", "NL", "US"} <= countries.keys()
    regions = await ready.cmf("GET", "/cmf/list/regions")
    assert regions["1"] == {"id": 1, "countrycode": "GB", "regionname": "England"}
    assert {r["countrycode"] for r in regions.values()} == set(countries)
    ptypes = await ready.cmf("GET", "/cmf/list/property/types")
    assert ptypes[0] == {"property_type_id": 1, "property_type": "Hotel", "flag": 1}
    assert {p["flag"] for p in ptypes} == {0, 1}
    rtypes = await ready.cmf("GET", "/cmf/list/room/types")
    assert rtypes[0]["room_classes_uid"] == 1
    assert 1 in rtypes[0]["ptype_xref"]


async def test_no_envelope_header_returns_bare_payload(ready: Api) -> None:
    """X-BOOKYFLOW-NO-ENVELOPE: 1 strips the success envelope."""
    status, body, _ = await ready.call(
        "GET", "/cmf/versions", headers={"X-BOOKYFLOW-NO-ENVELOPE": "1"}
    )
    assert (status, body) == (200, {"bookyflow": "10.7.2", "cmf": "3.4"})
