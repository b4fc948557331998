"""Pure planning of a property's content: which parts to send, which are in line already.

Parts. The vendor's ``content`` becomes named parts, each the form fields of one PUT:
``address``, ``location`` (with the property's country and region, which the endpoint
requires), ``contacts``, ``stars`` (with ``superior``), ``features`` and ``texts``. Sites keep
one set of texts per property (the real engine overwrites all eight fields whatever the language
segment), so the first language listed is the one sent, all eight fields together; further
languages are reported once as not storable (``extra_languages``).

Discipline. State keeps, per part, the digest of what was last sent and what became of it. A
part whose digest is unchanged is not sent again — whether the site stored it or not (a site
that cannot store features is told once, not every cycle). A part without a record (first run,
lost state directory) is compared with the property as the site reads it back (``in_line``) and
sent only when it differs.

Images are parts of their own, keyed by the file name the site stores them under. An image is
uploaded when its record is missing or names another URL or place, unless the site already holds
that file in that place; a recorded image that left the inventory is deleted.
"""

from __future__ import annotations

import hashlib
import html
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from worker.api.models import PropertyContent, StoredImage
from worker.inventory.content import TEXT_FIELDS, Content, Image

__all__ = [
    "IMAGE_TYPES",
    "ImageSpec",
    "desired_images",
    "desired_parts",
    "digest",
    "extra_languages",
    "in_line",
]

# The inventory's image kinds and the site's internal image types (``/cmf/list/image/types``).
IMAGE_TYPES = {"main": "property", "slideshow": "slideshow", "room": "rooms"}
_IMAGE_PREFIX = "image:"


def digest(fields: Mapping[str, object]) -> str:
    """A short, stable digest of a part's fields."""
    text = repr(sorted((key, str(value)) for key, value in fields.items()))
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def desired_parts(content: Content, *, country: str, region_id: int) -> dict[str, dict[str, str]]:
    """The content parts the vendor gives, as the form fields of their PUTs."""
    parts: dict[str, dict[str, str]] = {}
    if content.address is not None:
        parts["address"] = content.address.model_dump()
    if content.location is not None:
        parts["location"] = {
            "country_code": country,
            "region_id": str(region_id),
            "lat": repr(content.location.lat),
            "long": repr(content.location.long),
        }
    if content.contacts is not None:
        parts["contacts"] = content.contacts.model_dump()
    if content.stars is not None or content.superior is not None:
        superior = "1" if content.superior else "0"
        parts["stars"] = {"stars": str(content.stars or 0), "superior": superior}
    if content.features is not None:
        parts["features"] = {"features": ",".join(str(f) for f in sorted(set(content.features)))}
    if content.texts:
        language, texts = next(iter(content.texts.items()))
        parts["texts"] = {"language": language, **texts.model_dump()}
    return parts


def extra_languages(content: Content) -> list[str]:
    """Languages after the first: a site that keeps one set of texts cannot store them."""
    return list(content.texts or {})[1:]


def _same_text(wanted: str, stored: str | None) -> bool:
    return stored is not None and html.unescape(stored).strip() == wanted.strip()


def _same_number(wanted: str, stored: float | None) -> bool:
    return stored is not None and round(float(wanted), 5) == round(stored, 5)


def in_line(part: str, fields: Mapping[str, str], site: PropertyContent) -> bool:
    """Whether the site already holds ``fields`` of ``part`` (texts compared HTML-unescaped)."""
    if part == "location":
        return _same_number(fields["lat"], site.lat) and _same_number(fields["long"], site.long)
    if part == "stars":
        return site.stars == int(fields["stars"]) and site.superior == (fields["superior"] == "1")
    if part == "features":
        wanted = {int(f) for f in fields["features"].split(",") if f}
        return site.features is not None and set(site.features) == wanted
    names = TEXT_FIELDS if part == "texts" else tuple(fields)
    return all(_same_text(fields[name], getattr(site, name, None)) for name in names)


@dataclass(frozen=True, slots=True)
class ImageSpec:
    """Where one inventory image goes on the site."""

    url: str
    file_name: str
    resource_type: str
    resource_id: int

    @property
    def part(self) -> str:
        return f"{_IMAGE_PREFIX}{self.file_name}"

    @property
    def digest(self) -> str:
        return digest({"url": self.url, "type": self.resource_type, "id": self.resource_id})

    def stored(self) -> StoredImage:
        return StoredImage(
            resource_type=self.resource_type, resource_id=self.resource_id,
            file_name=self.file_name,
        )  # fmt: skip


def desired_images(
    images: Iterable[Image], rooms: Mapping[str, int]
) -> tuple[list[ImageSpec], list[Image]]:
    """Images placed on the site (room images on their room's uid), and those whose room is not
    mapped yet (sent once the room exists)."""
    placed: list[ImageSpec] = []
    waiting: list[Image] = []
    for image in images:
        resource_id = 0
        if image.kind == "room":
            room_uid = rooms.get(image.room_remote_id or "")
            if room_uid is None:
                waiting.append(image)
                continue
            resource_id = room_uid
        kind = IMAGE_TYPES[image.kind]
        placed.append(ImageSpec(str(image.url), image.file_name, kind, resource_id))
    return placed, waiting


def image_parts(records: Mapping[str, Mapping[str, object]]) -> dict[str, Mapping[str, object]]:
    """The image records among a property's content records, by part name."""
    return {part: value for part, value in records.items() if part.startswith(_IMAGE_PREFIX)}
