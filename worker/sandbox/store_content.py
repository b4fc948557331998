"""Property content (spec §3.3a): address, location, contacts, texts, stars, features, images.

Each write answers the property object. Text values pass through the engine's
``FILTER_SANITIZE_SPECIAL_CHARS``: the answer of the write shows them fully entity-encoded, while
what is kept (and read back later) has only ``'`` encoded. Every write but the address is a full
save of the property, which turns its ``NULL`` columns into ``""``. ``features`` stores nothing, as
on 10.7.2. Images are kept by base name under ``images[type][resource id]``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from worker.sandbox.dictionaries import IMAGE_TYPES
from worker.sandbox.engine_views import property_object
from worker.sandbox.forms import invalid
from worker.sandbox.php import php_array, sanitize_special_chars, stored_text
from worker.sandbox.store_bookings import Bookings
from worker.sandbox.store_inventory import TEXT_FIELDS, Inventory, Property, validate_location
from worker.sandbox.store_operations import ChannelRef

_ADDRESS = (("street", "property_street"), ("town", "property_town"),
            ("postcode", "property_postcode"))  # fmt: skip
_CONTACTS = (("telephone", "tel", "property_tel"), ("fax", "fax", "property_fax"),
             ("email", "email", "property_email"))  # fmt: skip
_TEXT_KEYS = {"terms": "property_policies_disclaimers", "permit_number": "permit_number"}
MAX_STARS = 5


class ContentOperations:
    """The descriptive side of a channel's properties."""

    def __init__(self, inventory: Inventory, bookings: Bookings) -> None:
        self._inventory = inventory
        self._bookings = bookings

    def _answer(self, prop: Property, site: str, overlay: Mapping[str, Any]) -> dict[str, Any]:
        self._inventory.save(prop)
        tariff = self._inventory.tariffs.get(prop.property_uid)
        return property_object(prop, tariff, site=site, overlay=overlay)

    def _saved(self, channel: ChannelRef, prop: Property) -> None:
        prop.saved = True
        self._bookings.record(prop.property_uid, "property_settings_updated",
                              **channel.log_fields())  # fmt: skip

    def address(self, prop: Property, form: Mapping[str, str], site: str) -> dict[str, Any]:
        """``street``, ``town``, ``postcode`` (a field left out is cleared)."""
        overlay = {}
        for name, key in _ADDRESS:
            raw = form.get(name, "")
            setattr(prop, name, stored_text(raw))
            overlay[key] = sanitize_special_chars(raw)
        return self._answer(prop, site, overlay)

    def location(
        self, channel: ChannelRef, prop: Property, form: Mapping[str, str], site: str
    ) -> dict[str, Any]:
        """``country_code``, ``region_id``, ``lat``, ``long``; the answer has the region as a
        number."""
        country = form.get("country_code", "").strip().upper()
        region = int(form["region_id"]) if form.get("region_id", "").isdigit() else 0
        validate_location(country, region)
        prop.country, prop.region_id = country, region
        prop.lat, prop.long = form.get("lat", ""), form.get("long", "")
        self._saved(channel, prop)
        return self._answer(prop, site, {"property_region": region})

    def contacts(
        self, channel: ChannelRef, prop: Property, form: Mapping[str, str], site: str
    ) -> dict[str, Any]:
        overlay = {}
        for name, attribute, key in _CONTACTS:
            raw = form.get(name, "")
            setattr(prop, attribute, stored_text(raw))
            overlay[key] = sanitize_special_chars(raw)
        self._saved(channel, prop)
        return self._answer(prop, site, overlay)

    def texts(
        self, channel: ChannelRef, prop: Property, form: Mapping[str, str], site: str
    ) -> dict[str, Any]:
        """One set of texts whatever the language; all eight fields are overwritten."""
        prop.texts = {name: stored_text(form.get(name, "")) for name in TEXT_FIELDS}
        overlay = {
            _TEXT_KEYS.get(name, f"property_{name}"): sanitize_special_chars(form.get(name, ""))
            for name in TEXT_FIELDS
        }
        self._saved(channel, prop)
        return self._answer(prop, site, overlay)

    def stars(
        self, channel: ChannelRef, prop: Property, stars: int, superior: int, site: str
    ) -> dict[str, Any]:
        if stars > MAX_STARS:
            raise invalid("Stars cannot be greater than 5")
        prop.stars, prop.superior = max(stars, 0), 1 if superior else 0
        self._saved(channel, prop)
        return self._answer(prop, site, {})

    def features(self, channel: ChannelRef, prop: Property, site: str) -> dict[str, Any]:
        """10.7.2 answers the property object with ``property_features: []`` and stores nothing."""
        self._saved(channel, prop)
        return self._answer(prop, site, {})

    # images ----------------------------------------------------------------------------------

    def add_image(self, prop: Property, resource_type: str, resource_id: int, name: str) -> None:
        names = prop.images.setdefault(resource_type, {}).setdefault(str(resource_id), [])
        if name not in names:
            names.append(name)
        self._inventory.save(prop)

    def delete_image(
        self, prop: Property, name: str, resource_type: str, resource_id: str, site: str
    ) -> dict[str, Any]:
        """Answers what is left of that resource type (``false`` for an unknown type)."""
        names = prop.images.get(resource_type, {}).get(resource_id, [])
        if name in names:
            names.remove(name)
            if not names:
                del prop.images[resource_type][resource_id]
            self._inventory.save(prop)
        known = resource_type in IMAGE_TYPES
        images = _typed_images(prop, resource_type, site) if known else False
        return {"resouce_type": resource_type, "images": images, "url": site}

    def images(self, prop: Property, site: str) -> dict[str, Any]:
        """``GET /cmf/property/images/@uid``."""
        typed = {kind: _typed_images(prop, kind, site) for kind in IMAGE_TYPES}
        extra: dict[str, Any] = {"room_features": [], "extras": [], "property_type": []}
        return {"images": {**typed, **extra}, "url": site}


def image_url(site: str, uid: int, resource_type: str, resource_id: str, name: str) -> str:
    return f"{site}/bookyflow/uploadedimages/{uid}/{resource_type}/{resource_id}/{name}"


def _typed_images(prop: Property, resource_type: str, site: str) -> Any:
    """One resource type's images keyed by resource id, as PHP encodes the array."""
    by_resource = prop.images.get(resource_type, {})
    return php_array({
        int(rid): [{"large": image_url(site, prop.property_uid, resource_type, rid, name)}
                   for name in names]
        for rid, names in sorted(by_resource.items(), key=lambda item: int(item[0]))
    })  # fmt: skip
