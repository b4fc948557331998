"""Content and publishing against a real engine (``make live``): what guests see ends on the site
as the inventory says (or is reported once as not storable), properties with an address and a
main image go live, the rest stays unpublished with its warnings, and only changes are sent.

The engine downloads each image from its URL, so the images are served from loopback by an
``ImageHost`` of the test's own (the engine runs on this machine).
"""

from __future__ import annotations

import html
from collections.abc import AsyncIterator
from typing import Any

import pytest

from tests.live.conftest import LiveSite, WorkerRun
from worker.sandbox.image_host import ImageHost

pytestmark = [pytest.mark.live, pytest.mark.timeout(900)]

REVIEW = "PUT cmf/property/status/review"
CONTENT_ROUTES = ("address", "location", "contacts", "text", "stars", "features", "image")
TEXTS = {
    "description": 'A quiet "harbour" hotel & bar.',
    "checkin_times": "From 15:00",
    "terms": "Free cancellation until 48 h before arrival.",
}
# What GET /cmf/property/@uid calls each part (the real engine's names).
SITE_FIELDS = {
    ("address", "street"): "property_street", ("address", "town"): "property_town",
    ("address", "postcode"): "property_postcode", ("contacts", "telephone"): "property_tel",
    ("contacts", "email"): "property_email", ("texts", "description"): "property_description",
    ("texts", "checkin_times"): "property_checkin_times",
    ("texts", "terms"): "property_policies_disclaimers",
}  # fmt: skip


@pytest.fixture
async def images() -> AsyncIterator[ImageHost]:
    async with ImageHost() as host:
        yield host


def _with_content(site: LiveSite, images: ImageHost) -> None:
    """The hotel and the apartment get everything; the villa gets texts only (stays offline)."""
    site.property("1001")["content"] = {
        "address": {"street": "1 Harbour Road", "town": "St Ives", "postcode": "TR26 1AA"},
        "location": {"lat": 50.2139, "long": -5.4804},
        "contacts": {"telephone": "+44 1736 000000", "email": "stay@seaside.example"},
        "stars": 4, "superior": False, "features": [3, 7],
        "texts": {"en-GB": TEXTS, "fr-FR": {"description": "Un hôtel calme."}},
        "images": [
            {"url": images.url(f"main-{site.channel}.jpg"), "kind": "main"},
            {"url": images.url(f"pool-{site.channel}.jpg"), "kind": "slideshow"},
            {"url": images.url(f"room-{site.channel}.jpg"), "kind": "room",
             "room_remote_id": "1001-A"},
        ],
    }  # fmt: skip
    site.property("2001")["content"] = {
        "address": {"street": "Rua de Sao Miguel 12", "town": "Lisboa"},
        "images": [{"url": images.url(f"flat-{site.channel}.jpg"), "kind": "main"}],
    }
    site.property("3001")["content"] = {"texts": {"en-GB": {"description": "A villa."}}}
    site.write_inventory()


def _segments(route: str) -> list[str]:
    return route.split(" ", 1)[1].split("/")


def _content_writes(run: WorkerRun) -> dict[str, int]:
    """Writes to content endpoints (``PUT cmf/property/address`` ...), by route."""
    return {
        route: count
        for route, count in run.writes.items()
        if _segments(route)[2:3] and _segments(route)[2] in CONTENT_ROUTES
    }


async def _site_property(site: LiveSite, uid: int) -> dict[str, Any]:
    answer: dict[str, Any] = await site.reader.response(f"cmf/property/{uid}")
    return answer


async def test_content_lands_properties_go_live_and_only_changes_are_sent(
    live_site: LiveSite, images: ImageHost
) -> None:
    """First sync: each part once, two properties published, the villa held with its warnings;
    an unchanged cycle: no content write and no review; one text edit: one PUT; an image
    removed: one DELETE and gone from the site."""
    _with_content(live_site, images)
    first = await live_site.sync_once()
    live_site.note(f"content first sync: {_content_writes(first)}")
    owned = await live_site.owned()
    hotel = await _site_property(live_site, owned["1001"])
    for (part, name), field in SITE_FIELDS.items():
        wanted = live_site.property("1001")["content"][part]
        wanted = wanted["en-GB"] if part == "texts" else wanted
        assert html.unescape(str(hotel[field] or "")) == wanted.get(name, ""), field
    assert (hotel["stars"], float(hotel["lat"]), float(hotel["long"])) == (4, 50.2139, -5.4804)
    not_stored = {e["part"] for e in first.events("content.not_stored")}
    assert not_stored == {"features", "texts:fr-FR"}  # 10.7.2 stores no features, one language
    live = {remote: (await _site_property(live_site, uid))["published"] in (1, "1", True)
            for remote, uid in owned.items()}  # fmt: skip
    assert live == {"1001": True, "2001": True, "3001": False}
    [incomplete] = first.events("property.incomplete")
    assert incomplete["warnings"]
    unchanged = await live_site.sync_once()
    live_site.note(f"content unchanged sync: {_content_writes(unchanged)}, all {unchanged.writes}")
    assert _content_writes(unchanged) == {}
    assert REVIEW not in unchanged.writes  # the villa was reviewed once today already
    live_site.property("1001")["content"]["texts"]["en-GB"] = {**TEXTS, "description": "New."}
    live_site.write_inventory()
    edited = await live_site.sync_once()
    live_site.note(f"content one-text change: {_content_writes(edited)}")
    assert _content_writes(edited) == {"PUT cmf/property/text/en-GB": 1}
    hotel_images = live_site.property("1001")["content"]["images"]
    live_site.property("1001")["content"]["images"] = [hotel_images[0], hotel_images[2]]
    live_site.write_inventory()
    removed = await live_site.sync_once()
    assert [r for r in removed.writes if r.startswith("DELETE")] == [
        f"DELETE cmf/property/image/@/pool-{live_site.channel}.jpg/slideshow/@"
    ]
    listed = await live_site.reader.response(f"cmf/property/images/{owned['1001']}")
    assert f"pool-{live_site.channel}.jpg" not in str(listed)
