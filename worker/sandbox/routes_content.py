"""Property content (spec §3.3a): thin handlers over ``store.content``.

Address, location, contacts, texts (with or without a language segment, which the real engine
ignores), stars and features answer the property object; the image upload downloads its URL
before the request's store batch (``preload``) and answers as the real default site does.
"""

from __future__ import annotations

from typing import Any

from worker.sandbox import images
from worker.sandbox.dictionaries import IMAGE_TYPES
from worker.sandbox.php import intval
from worker.sandbox.routes_base import Call, Endpoint


def address(call: Call) -> dict[str, Any]:
    return call.store.content.address(call.owned, call.form, call.live_site)


def location(call: Call) -> dict[str, Any]:
    return call.store.content.location(call.channel_ref, call.owned, call.form, call.live_site)


def contacts(call: Call) -> dict[str, Any]:
    return call.store.content.contacts(call.channel_ref, call.owned, call.form, call.live_site)


def texts(call: Call) -> dict[str, Any]:
    return call.store.content.texts(call.channel_ref, call.owned, call.form, call.live_site)


def stars(call: Call) -> dict[str, Any]:
    stars, superior = intval(call.form.get("stars", "0")), intval(call.form.get("superior", "0"))
    return call.store.content.stars(call.channel_ref, call.owned, stars, superior, call.live_site)


def features(call: Call) -> dict[str, Any]:
    return call.store.content.features(call.channel_ref, call.owned, call.live_site)


async def fetch_image(call: Call) -> bytes | None:
    """Download the image before the store batch (an unknown resource type fetches nothing)."""
    if call.form.get("resource_type", "") not in IMAGE_TYPES:
        return None
    return await images.fetch(call.form.get("url", ""))


def upload_image(call: Call) -> Any:
    resource_type = call.form.get("resource_type", "")
    if resource_type not in IMAGE_TYPES:
        return {"resouce_type": resource_type, "images": None, "url": call.live_site}
    if call.preloaded is None:
        return images.not_fetched_answer()
    name = images.base_name(call.form.get("url", ""))
    resource_id = intval(call.form.get("resource_id", "0"))
    call.store.content.add_image(call.owned, resource_type, resource_id, name)
    return images.stored_answer()


def list_images(call: Call) -> dict[str, Any]:
    return call.store.content.images(call.owned, call.live_site)


def delete_image(call: Call) -> dict[str, Any]:
    return call.store.content.delete_image(
        call.owned, call.param("file_name"), call.param("resource_type"),
        str(intval(call.param("resource_id"))), call.live_site,
    )  # fmt: skip


ENDPOINTS = (
    Endpoint("PUT", "/cmf/property/address", address, property_from="form"),
    Endpoint("PUT", "/cmf/property/location", location, property_from="form"),
    Endpoint("PUT", "/cmf/property/contacts", contacts, property_from="form"),
    Endpoint("PUT", "/cmf/property/text", texts, property_from="form"),
    Endpoint("PUT", "/cmf/property/text/{language}", texts, property_from="form"),
    Endpoint("PUT", "/cmf/property/stars", stars, property_from="form"),
    Endpoint("PUT", "/cmf/property/features", features, property_from="form"),
    Endpoint("PUT", "/cmf/property/image/", upload_image, property_from="form",
             preload=fetch_image),
    Endpoint("PUT", "/cmf/property/image", upload_image, property_from="form",
             preload=fetch_image),
    Endpoint("GET", "/cmf/property/images/{property_uid}", list_images, property_from="path"),
    Endpoint("DELETE",
             "/cmf/property/image/{property_uid}/{file_name}/{resource_type}/{resource_id}",
             delete_image, property_from="path"),
)  # fmt: skip
