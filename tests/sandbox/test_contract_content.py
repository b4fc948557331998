"""Contract of the property content endpoints and images, as the real engine answers them
(spec §3.3a)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from aiohttp import web

from tests.sandbox.conftest import Api, add_room, create_property
from worker.sandbox.store import SandboxStore

TEXTS = {"description": 'A "quiet" inn & more', "checkin_times": "From 15:00",
         "area_activities": "", "driving_directions": "", "airports": "", "othertransport": "",
         "terms": "Free cancellation.", "permit_number": "P-1"}  # fmt: skip


@pytest.fixture
async def images() -> AsyncIterator[str]:
    """Loopback image host: any name is a JPEG except ``missing.jpg``."""

    async def image(request: web.Request) -> web.Response:
        if request.match_info["name"] == "missing.jpg":
            raise web.HTTPNotFound
        return web.Response(body=b"\xff\xd8jpeg\xff\xd9", content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/{name}", image)
    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", 0).start()
    yield f"http://127.0.0.1:{runner.addresses[0][1]}"
    await runner.cleanup()


async def _put(api: Api, what: str, uid: int, **form: str) -> dict[str, object]:
    answer: dict[str, object] = await api.cmf(
        "PUT", f"/cmf/property/{what}", {"property_uid": str(uid), **form}
    )
    return answer


async def test_address_answers_the_property_with_entities(ready: Api) -> None:
    """The answer shows the sanitised values; later reads keep only ' encoded; NULL columns
    stay null until a full save."""
    uid = await create_property(ready)
    prop = await _put(ready, "address", uid, street='1 "Quay" & Co', town="St Ive's")
    assert (prop["propertys_uid"], prop["property_street"], prop["property_town"]) == (
        uid, "1 &#34;Quay&#34; &#38; Co", "St Ive&#39;s")  # fmt: skip
    assert (prop["property_postcode"], prop["property_tel"], prop["property_features"]) == (
        "", None, None)  # fmt: skip
    read = await ready.cmf("GET", f"/cmf/property/{uid}")
    assert (read["property_street"], read["property_town"]) == ('1 "Quay" & Co', "St Ive&#39;s")


async def test_texts_are_one_set_and_every_call_overwrites_all_eight(ready: Api) -> None:
    """The language segment is ignored and a field left out is cleared."""
    uid = await create_property(ready)
    prop = await _put(ready, "text/fr-FR", uid, **TEXTS)
    assert prop["property_description"] == "A &#34;quiet&#34; inn &#38; more"
    assert (prop["property_policies_disclaimers"], prop["permit_number"]) == (
        "Free cancellation.", "P-1")  # fmt: skip
    assert (prop["property_tel"], prop["property_features"]) == ("", [])  # a full save
    prop = await _put(ready, "text", uid, description="Short.")
    assert (prop["property_description"], prop["property_checkin_times"]) == ("Short.", "")


async def test_location_contacts_stars_and_features(ready: Api) -> None:
    """Location answers the region as a number; stars over 5 are refused; features store
    nothing and answer property_features []."""
    uid = await create_property(ready)
    prop = await _put(ready, "location", uid, country_code="PT", region_id="3032", lat="38.7",
                      long="-9.1")  # fmt: skip
    assert (prop["property_region"], prop["property_country"], prop["lat"]) == (3032, "PT", "38.7")
    assert (await ready.cmf("GET", f"/cmf/property/{uid}"))["property_region"] == "3032"
    form = {"property_uid": str(uid), "country_code": "XX", "region_id": "3032"}
    assert await ready.error("PUT", "/cmf/property/location", form) == "Country incorrect"
    prop = await _put(ready, "contacts", uid, telephone="+351 1", email="a@b.example")
    assert (prop["property_tel"], prop["property_fax"]) == ("+351 1", "")
    assert (await _put(ready, "stars", uid, stars="4", superior="1"))["stars"] == 4
    form = {"property_uid": str(uid), "stars": "6"}
    assert await ready.error("PUT", "/cmf/property/stars", form) == "Stars cannot be greater than 5"
    assert (await _put(ready, "features", uid, features="4,6,9"))["property_features"] == []


async def test_image_upload_stores_then_answers_500(
    ready: Api, store: SandboxStore, images: str
) -> None:
    """The image is downloaded and stored under its base name, then the answer is the real
    default site's HTTP 500 page; an unreachable URL answers 200 empty and stores nothing."""
    uid = await create_property(ready)
    room = await add_room(ready, uid)
    uploads = (("property", "0", "main.jpg"), ("rooms", str(room), "room.jpg"),
               ("slideshow", "0", "pool.jpg"), ("slideshow", "0", "missing.jpg"))  # fmt: skip
    statuses = []
    for kind, resource, name in uploads:
        form = {"property_uid": str(uid), "url": f"{images}/{name}", "resource_type": kind,
                "resource_id": resource}  # fmt: skip
        status, body, headers = await ready.call("PUT", "/cmf/property/image/", form=form)
        statuses.append((status, "Division by zero" in body, headers["Content-Type"][:9]))
    assert statuses == [(500, True, "text/html")] * 3 + [(200, False, "text/html")]
    listed = (await ready.cmf("GET", f"/cmf/property/images/{uid}"))["images"]
    assert [[i["large"].rsplit("/", 1)[1] for i in g] for g in listed["property"]] == [["main.jpg"]]
    assert list(listed["rooms"]) == [str(room)]
    assert (listed["room_features"], listed["extras"]) == ([], [])
    gone = await ready.cmf("DELETE", f"/cmf/property/image/{uid}/pool.jpg/slideshow/0")
    assert (gone["resouce_type"], gone["images"]) == ("slideshow", [])  # sic: "resouce"
    assert store.inventory.properties[uid].images["property"] == {"0": ["main.jpg"]}


async def test_list_dictionaries_of_content(ready: Api) -> None:
    """Image types and property features are the real lists."""
    types = await ready.cmf("GET", "/cmf/list/image/types")
    assert types[0] == {"type": "Property main image", "internal_type": "property",
                        "resource_id_required": True}  # fmt: skip
    features = await ready.cmf("GET", "/cmf/list/property/features")
    assert features[0] == {"property_feature_id": 32, "property_feature": "24hr service",
                           "include_in_filters": 1}  # fmt: skip
