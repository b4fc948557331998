"""The content planner: parts from the inventory, in-line checks against what the site reads
back, images placed by kind and room, and the review schedule."""

from __future__ import annotations

from typing import Any

from worker.api.models import PropertyContent, parse_as
from worker.inventory.content import Content
from worker.sync.content_plan import (
    desired_images,
    desired_parts,
    digest,
    extra_languages,
    in_line,
)
from worker.sync.publishing import review_due, review_key

CONTENT: dict[str, Any] = {
    "address": {"street": "1 Harbour Road", "town": "St Ives", "postcode": "TR26 1AA"},
    "location": {"lat": 50.2139, "long": -5.4804},
    "stars": 4,
    "features": [7, 3, 7],
    "texts": {"en-GB": {"description": 'A "quiet" hotel & bar.'}, "fr-FR": {"description": "x"}},
    "images": [
        {"url": "https://cdn.example/1001/main.jpg", "kind": "main"},
        {"url": "https://cdn.example/1001/a.jpg", "kind": "room", "room_remote_id": "A"},
        {"url": "https://cdn.example/1001/b.jpg", "kind": "room", "room_remote_id": "B"},
    ],
}
# What the real engine answers after those PUTs (texts HTML-escaped, numbers as strings).
SITE: dict[str, Any] = {
    "propertys_uid": "2", "property_name": "Seaside", "property_street": "1 Harbour Road",
    "property_town": "St Ives", "property_postcode": "TR26 1AA", "lat": "50.2139",
    "long": "-5.4804", "stars": 4, "superior": 0, "property_features": [],
    "property_description": "A &#34;quiet&#34; hotel &#38; bar.", "property_checkin_times": "",
    "property_area_activities": "", "property_driving_directions": "", "property_airports": "",
    "property_othertransport": "", "property_policies_disclaimers": "", "permit_number": "",
}  # fmt: skip


def _parts() -> dict[str, dict[str, str]]:
    return desired_parts(Content.model_validate(CONTENT), country="GB", region_id=1113)


def test_parts_are_the_put_forms_with_the_first_language_only() -> None:
    """Each given part becomes one PUT's fields; location carries country and region; features
    sorted and unique; the first language's eight text fields, the rest reported."""
    parts = _parts()
    assert sorted(parts) == ["address", "features", "location", "stars", "texts"]
    assert parts["location"] == {
        "country_code": "GB", "region_id": "1113", "lat": "50.2139", "long": "-5.4804",
    }  # fmt: skip
    assert parts["features"] == {"features": "3,7"}
    assert parts["stars"] == {"stars": "4", "superior": "0"}
    assert parts["texts"]["language"] == "en-GB"
    assert len(parts["texts"]) == 9  # the language and all eight fields
    assert extra_languages(Content.model_validate(CONTENT)) == ["fr-FR"]
    assert desired_parts(Content(), country="GB", region_id=1) == {}


def test_in_line_reads_the_site_back_html_unescaped() -> None:
    """Escaped texts, string numbers and the site's own names all compare equal; features the
    site did not store do not."""
    site = parse_as(PropertyContent, SITE, what="property")
    parts = _parts()
    assert in_line("address", parts["address"], site)
    assert in_line("location", parts["location"], site)
    assert in_line("stars", parts["stars"], site)
    assert in_line("texts", parts["texts"], site)
    assert not in_line("features", parts["features"], site)
    moved = parse_as(PropertyContent, {**SITE, "property_town": "Penzance"}, what="property")
    assert not in_line("address", parts["address"], moved)


def test_digest_follows_the_fields() -> None:
    """Equal fields, equal digest; one changed field, another digest."""
    parts = _parts()
    assert digest(parts["address"]) == digest(dict(parts["address"]))
    assert digest(parts["address"]) != digest({**parts["address"], "postcode": "TR26 1AB"})


def test_images_are_placed_by_kind_and_wait_for_their_room() -> None:
    """Main images go to the property, room images to their room's uid once it is mapped."""
    images = Content.model_validate(CONTENT).images or ()
    placed, waiting = desired_images(images, {"A": 31})
    assert [(s.file_name, s.resource_type, s.resource_id) for s in placed] == [
        ("main.jpg", "property", 0),
        ("a.jpg", "rooms", 31),
    ]
    assert [str(image.url) for image in waiting] == ["https://cdn.example/1001/b.jpg"]


def test_a_review_is_due_after_a_change_or_once_a_day_while_incomplete() -> None:
    """Same key and day: no review; a new key, or a new day while incomplete: review."""
    key = review_key({"address": {"digest": "d1", "outcome": "stored"}}, {"A": 1})
    last = {"key": key, "day": "2026-12-01", "complete": False}
    assert not review_due(last, key, "2026-12-01")
    assert review_due(last, key, "2026-12-02")
    assert not review_due({**last, "complete": True}, key, "2026-12-02")
    changed = review_key({"address": {"digest": "d2", "outcome": "stored"}}, {"A": 1})
    assert changed != key
    assert review_due(last, changed, "2026-12-01")
    assert review_due(None, key, "2026-12-01")
