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
    assert body == {"code": 404, "error_message": " Request /cmf/nothing/here unknown",  # sic
                    "meta": {"site": {"base": "/bookyflow/api", "url": "/cmf/nothing/here",
                                      "method": "GET"}}, "lines": []}  # fmt: skip


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
        f"Manager {owner} does not have access to property 77 on channel {channel_id} , "
        "or the property does not exist."
    )


async def test_two_clients_same_channel_name_are_isolated(ready: Api, api_server: object) -> None:
    """Two owners never see each other's properties, even under the same channel name."""
    uid = await create_property(ready, "SAME")
    mine_token, ready.token = ready.token, await ready.fetch_token(RIVAL)
    await ready.cmf("POST", f"/cmf/channel/announce/{CHANNEL}/Rival", {"params": "{}"})
    assert await ready.cmf("GET", "/cmf/properties/ids") == []
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
    assert await ready.cmf("GET", "/cmf/properties/ids") == []


async def test_dictionaries(ready: Api) -> None:
    """Property and room types are the real engine's, cross-referenced by string ids."""
    ptypes = await ready.cmf("GET", "/cmf/list/property/types")
    by_id = {p["property_type_id"]: p for p in ptypes}
    assert by_id[1] == {"property_type_id": 1, "property_type": "Hotel", "flag": 0}
    assert {by_id[t]["flag"] for t in (6, 7, 8)} == {1}  # villa, apartment, cottage: one unit
    rtypes = {r["room_classes_uid"]: r for r in await ready.cmf("GET", "/cmf/list/room/types")}
    assert rtypes[1] == {"room_classes_uid": 1, "room_class_abbv": "Room Double beds",
                         "ptype_xref": ["1", "5"]}  # fmt: skip
    assert rtypes[6]["room_class_abbv"] == "2 Bedrooms"
    images = await ready.cmf("GET", "/cmf/list/image/types")
    assert [i["internal_type"] for i in images] == ["property", "rooms", "slideshow"]
    features = await ready.cmf("GET", "/cmf/list/property/features")
    assert len(features) == 79


async def test_countries_and_regions_in_use_or_all(ready: Api) -> None:
    """Without /all only what the site's properties use is listed; ids are strings and global."""
    assert await ready.cmf("GET", "/cmf/list/countries") == []
    assert await ready.cmf("GET", "/cmf/list/regions") == []
    await create_property(ready)
    await create_property(ready, "102", country="PT", region_id="3032")
    assert list(await ready.cmf("GET", "/cmf/list/countries")) == ["PT", "GB"]  # by id
    regions = await ready.cmf("GET", "/cmf/list/regions")
    assert regions == {"1113": {"id": "1113", "countrycode": "GB", "regionname": "Devon"},
                       "3032": {"id": "3032", "countrycode": "PT",
                                "regionname": "Estremadura"}}  # fmt: skip
    countries = await ready.cmf("GET", "/cmf/list/countries/all")
    assert len(countries) > 200
    assert countries["GB"] == {"id": "228", "countrycode": "GB", "countryname": "United Kingdom"}
    every = await ready.cmf("GET", "/cmf/list/regions/all")
    assert every["1"] == {"id": "1", "countrycode": "AD", "regionname": "Canillo"}
    assert every["985"]["regionname"] == "Andalucia"


async def test_versions_and_the_real_envelope(ready: Api) -> None:
    """The version probe answers the real engine's keys, inside an envelope with meta.site."""
    status, body, _ = await ready.call("GET", "/cmf/versions")
    assert status == 200
    assert body["data"] == {"response": {"Jomres": "10.7.2", "channelmanagement_framework": "",
                                         "api_feature_cmf": ""}}  # fmt: skip
    site = body["meta"]["site"]
    assert (body["meta"]["code"], site["base"], site["url"], site["method"]) == (
        200, "/bookyflow/api", "/cmf/versions", "GET")  # fmt: skip
    assert site["live_site"].startswith("http://127.0.0.1:")
    uid = await create_property(ready)
    _status, body, _ = await ready.call("GET", f"/cmf/property/{uid}")
    assert body["meta"]["site"]["property_name"] == "Sea View"


async def test_no_envelope_header_returns_bare_payload(ready: Api) -> None:
    """X-BOOKYFLOW-NO-ENVELOPE: 1 strips the success envelope."""
    status, body, _ = await ready.call(
        "GET", "/cmf/versions", headers={"X-BOOKYFLOW-NO-ENVELOPE": "1"}
    )
    assert (status, body["Jomres"]) == (200, "10.7.2")
