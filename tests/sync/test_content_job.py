"""Content and publishing against the sandbox: each part once, confirmed, reported once; review
only after a change; publish once complete, unpublish and re-publish on the vendor's word."""

from __future__ import annotations

import json
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from structlog.testing import capture_logs

from tests.sync.support import Harness, seaside


@pytest.fixture
def images(harness: Harness) -> str:
    """The harness's image host: ``/img/<name>`` is an image, anything else a 404."""
    return harness.images.base_url


def content(base: str, **changes: Any) -> dict[str, Any]:
    """Everything a guest sees, with a main, a slideshow and a room image."""
    doc: dict[str, Any] = {
        "address": {"street": "1 Harbour Road", "town": "St Ives", "postcode": "TR26 1AA"},
        "location": {"lat": 50.2139, "long": -5.4804},
        "contacts": {"telephone": "+44 1736 000000", "email": "stay@seaside.example"},
        "stars": 4,
        "superior": False,
        "texts": {"en-GB": {"description": 'A "quiet" hotel & bar.', "terms": "Free."}},
        "images": [
            {"url": f"{base}/img/main.jpg", "kind": "main"},
            {"url": f"{base}/img/pool.jpg", "kind": "slideshow"},
            {"url": f"{base}/img/a.jpg", "kind": "room", "room_remote_id": "1001-A"},
        ],
    }
    doc.update(changes)
    return doc


def _parts(harness: Harness) -> Counter[str]:
    """Content and publishing writes by endpoint (``text/en-GB`` counted as ``text``)."""
    counted: Counter[str] = Counter()
    for entry in harness.writes():
        tail = entry.path.split("/cmf/property/", 1)[-1].rstrip("/")
        counted[tail.split("/", 1)[0] if not tail.startswith("status") else tail] += 1
    return counted


async def _first_sync(harness: Harness, base: str, **changes: Any) -> int:
    harness.write_inventory(seaside("1001", content=content(base), **changes))
    result = await harness.run("properties")
    assert result.ok, result.errors
    return harness.context.owned.items()[0][0]


async def test_first_sync_sends_each_part_once_and_publishes(harness: Harness, images: str) -> None:
    """Address, location, contacts, stars, texts: one PUT each; three images; one review; one
    publish — and the site holds every part."""
    uid = await _first_sync(harness, images)
    parts = _parts(harness)
    for part in ("address", "location", "contacts", "stars", "text", "image"):
        assert parts[part] == (3 if part == "image" else 1), part
    assert parts["status/review"] == 1
    assert parts["publish"] == 1
    [prop] = harness.site_properties()
    assert prop["published"] in (True, 1, "1")
    assert {i.file_name for i in await harness.context.cmf.images(uid)} == {
        "main.jpg", "pool.jpg", "a.jpg",
    }  # fmt: skip


async def test_an_unchanged_cycle_sends_nothing_and_one_text_change_sends_one_put(
    harness: Harness, images: str
) -> None:
    """No content write and no review on an unchanged cycle; a text edit is one PUT."""
    await _first_sync(harness, images)
    harness.sandbox.journal.clear()
    assert (await harness.run("properties")).ok
    assert harness.writes() == []
    texts = {"en-GB": {"description": "Now with a pool.", "terms": "Free."}}
    harness.write_inventory(seaside("1001", content=content(images, texts=texts)))
    assert (await harness.run("properties")).ok
    [put] = harness.writes()
    assert put.path.endswith("/cmf/property/text/en-GB")


async def test_a_removed_image_is_deleted_from_the_site(harness: Harness, images: str) -> None:
    """An image that leaves the inventory is deleted, once; the others are not sent again."""
    uid = await _first_sync(harness, images)
    kept = [i for i in content(images)["images"] if not i["url"].endswith("pool.jpg")]
    harness.write_inventory(seaside("1001", content=content(images, images=kept)))
    harness.sandbox.journal.clear()
    assert (await harness.run("properties")).ok
    assert [(e.method, e.path.rsplit("/", 3)[-3]) for e in harness.writes()] == [
        ("DELETE", "pool.jpg")
    ]
    assert "pool.jpg" not in {i.file_name for i in await harness.context.cmf.images(uid)}


async def test_without_address_and_main_image_it_stays_unpublished_reviewed_once(
    harness: Harness, images: str
) -> None:
    """The site's warnings are reported once; no second review until a change or a new day."""
    bare = content(images, address=None, images=[])
    harness.write_inventory(seaside("1001", content=bare))
    with capture_logs() as logs:
        first = await harness.run("properties")
        second = await harness.run("properties")
    assert first.counts["incomplete"] == second.counts["incomplete"] == 1
    incomplete = [e for e in logs if e["event"] == "property.incomplete"]
    assert len(incomplete) == 1
    assert incomplete[0]["warnings"]
    assert len(harness.writes_to("status/review")) == 1
    assert harness.writes_to("publish") == []
    harness.today += timedelta(days=1)
    assert (await harness.run("properties")).ok
    assert len(harness.writes_to("status/review")) == 2  # once a day while incomplete
    harness.write_inventory(seaside("1001", content=content(images)))
    assert (await harness.run("properties")).ok
    assert len(harness.writes_to("publish")) == 1


async def test_a_lost_state_directory_reads_the_content_back_and_sends_nothing(
    harness: Harness, images: str
) -> None:
    """After state loss every part and image is found in line on the site: zero writes."""
    await _first_sync(harness, images)
    await harness.restart(lose_state=True)
    harness.sandbox.journal.clear()
    assert (await harness.run("properties")).ok
    assert harness.writes() == []


async def test_unpublish_and_publish_again_follow_the_inventory(
    harness: Harness, images: str
) -> None:
    """``published: false`` unpublishes once; ``true`` publishes again without a new review."""
    await _first_sync(harness, images)
    harness.write_inventory(seaside("1001", content=content(images), published=False))
    harness.sandbox.journal.clear()
    assert (await harness.run("properties")).counts["unpublished"] == 1
    assert (await harness.run("properties")).ok
    assert [e.path.rsplit("/", 1)[-1] for e in harness.writes()] == ["unpublish"]
    harness.write_inventory(seaside("1001", content=content(images)))
    harness.sandbox.journal.clear()
    assert (await harness.run("properties")).counts["published"] == 1
    assert [e.path.rsplit("/", 1)[-1] for e in harness.writes()] == ["publish"]


async def test_an_unreachable_image_is_tried_three_times_a_day_and_reported_once(
    harness: Harness, images: str
) -> None:
    """The site stores nothing for a URL it cannot fetch: a few tries (a fault may have eaten
    one), one failure line, then nothing more until the next day."""
    broken = [{"url": f"{images}/gone/main.jpg", "kind": "main"}]
    harness.write_inventory(seaside("1001", content=content(images, images=broken)))
    with capture_logs() as logs:
        results = [await harness.run("properties") for _ in range(5)]
    assert [r.counts["images_failed"] for r in results] == [1, 1, 1, 0, 0]
    assert [e["event"] for e in logs].count("content.image_failed") == 1
    assert len(harness.writes_to("image")) == 3
    harness.today += timedelta(days=1)
    assert (await harness.run("properties")).counts["images_failed"] == 1


async def test_an_image_a_fault_swallowed_is_sent_again_on_the_next_run(
    harness: Harness, images: str
) -> None:
    """A 503 before the site saw the upload: the next run uploads it and the property goes live."""
    harness.sandbox.faults.fail_next(503, path="property/image/")
    harness.write_inventory(seaside("1001", content=content(images)))
    first = await harness.run("properties")
    assert first.counts["images_failed"] == 1
    second = await harness.run("properties")
    assert second.counts["images_sent"] == 1
    assert second.counts["published"] == 1


async def test_features_the_site_does_not_store_are_reported_once(
    harness: Harness, images: str
) -> None:
    """A 10.7.2 engine answers the features PUT and stores nothing: told once, not re-sent."""
    features = json.loads(json.dumps(content(images, features=[3, 7])))
    harness.write_inventory(seaside("1001", content=features))
    with capture_logs() as logs:
        assert (await harness.run("properties")).ok
        assert (await harness.run("properties")).ok
    assert len(harness.writes_to("features")) == 1
    not_stored = [e for e in logs if e["event"] == "content.not_stored"]
    assert [e["part"] for e in not_stored] == ["features"]
