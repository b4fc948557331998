"""Typed CMF content operations (spec §3.3a): address, location, contacts, texts, stars,
features, images, review and publishing state — mixed into ``worker.api.cmf.Cmf``.

Every content PUT answers the updated property object on the real engine, but the answer is not
proof (features are answered and not stored, texts come back HTML-escaped, an image upload
answers 500 after storing the image and an empty 200 when the URL was unreachable): the content
sync confirms each part by reading the property or the image list back. So the PUTs return
nothing, and the image upload is marked not idempotent, so that the client never repeats a
download the site may already have done.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any
from urllib.parse import quote

from worker.api.models import (
    ImageType,
    PropertyContent,
    PropertyFeature,
    StoredImage,
    keyed_list,
    parse_as,
    php_dict,
    stored_images,
)


def _quote(value: str | int) -> str:
    return quote(str(value), safe="")


class ContentEndpoints:
    """The content part of ``Cmf``; needs its ``_guard``, ``_get``, ``_put`` and ``_call``."""

    def _guard(self, *property_uids: int) -> None:
        raise NotImplementedError

    async def _get(self, path: str) -> Any:
        raise NotImplementedError

    async def _put(self, path: str, form: Mapping[str, str], *, idempotent: bool) -> Any:
        raise NotImplementedError

    async def _call(
        self,
        method: str,
        path: str,
        *,
        form: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        raise NotImplementedError

    async def _set(self, part: str, property_uid: int, fields: Mapping[str, str]) -> None:
        self._guard(property_uid)
        form = {"property_uid": str(property_uid), **fields}
        await self._put(f"cmf/property/{part}", form, idempotent=True)

    async def property_content(self, property_uid: int) -> PropertyContent:
        """GET the property, read as its content (see ``PropertyContent``). Idempotent."""
        self._guard(property_uid)
        payload = await self._get(f"cmf/property/{property_uid}")
        return parse_as(PropertyContent, payload, what="property content")

    async def set_address(
        self, property_uid: int, *, street: str, town: str, postcode: str
    ) -> None:
        """PUT address. Idempotent (it sets)."""
        await self._set(
            "address", property_uid, {"street": street, "town": town, "postcode": postcode}
        )

    async def set_location(
        self, property_uid: int, *, country_code: str, region_id: int, lat: float, long: float
    ) -> None:
        """PUT location (country and region come with it: the endpoint requires both)."""
        fields = {
            "country_code": country_code,
            "region_id": str(region_id),
            "lat": repr(lat),
            "long": repr(long),
        }
        await self._set("location", property_uid, fields)

    async def set_contacts(
        self, property_uid: int, *, telephone: str, fax: str, email: str
    ) -> None:
        """PUT contacts. Idempotent."""
        await self._set(
            "contacts", property_uid, {"telephone": telephone, "fax": fax, "email": email}
        )

    async def set_texts(self, property_uid: int, language: str, texts: Mapping[str, str]) -> None:
        """PUT text/@language with all eight fields. Idempotent (it overwrites)."""
        await self._set(f"text/{_quote(language)}", property_uid, dict(texts))

    async def set_stars(self, property_uid: int, *, stars: int, superior: bool) -> None:
        """PUT stars. Idempotent."""
        fields = {"stars": str(stars), "superior": "1" if superior else "0"}
        await self._set("stars", property_uid, fields)

    async def set_features(self, property_uid: int, features: Sequence[int]) -> None:
        """PUT features (comma-separated ids). Idempotent; confirm with ``property_content``."""
        await self._set("features", property_uid, {"features": ",".join(map(str, features))})

    async def upload_image(
        self, property_uid: int, url: str, *, resource_type: str, resource_id: int
    ) -> None:
        """PUT image: the site downloads ``url``. NOT repeated by the client (see module doc)."""
        self._guard(property_uid)
        form = {
            "property_uid": str(property_uid),
            "url": url,
            "resource_type": resource_type,
            "resource_id": str(resource_id),
        }
        await self._put("cmf/property/image/", form, idempotent=False)

    async def images(self, property_uid: int) -> list[StoredImage]:
        """GET the images the site holds for the property. Idempotent."""
        self._guard(property_uid)
        return stored_images(php_dict(await self._get(f"cmf/property/images/{property_uid}")))

    async def delete_image(self, property_uid: int, image: StoredImage) -> None:
        """DELETE one image. Idempotent in effect."""
        self._guard(property_uid)
        segments = "/".join(
            _quote(part) for part in (image.file_name, image.resource_type, image.resource_id)
        )
        await self._call("DELETE", f"cmf/property/image/{property_uid}/{segments}")

    async def image_types(self) -> list[ImageType]:
        """GET the image types (``property``, ``rooms``, ``slideshow`` ...). Idempotent."""
        payload = keyed_list(await self._get("cmf/list/image/types"))
        return parse_as(list[ImageType], payload, what="image types")

    async def property_features(self) -> list[PropertyFeature]:
        """GET the site's property features. Idempotent."""
        payload = keyed_list(await self._get("cmf/list/property/features"))
        return parse_as(list[PropertyFeature], payload, what="property features")

    async def unpublish_property(self, property_uid: int) -> bool:
        """PUT unpublish: True when it was published. Idempotent."""
        self._guard(property_uid)
        payload = await self._put(
            "cmf/property/unpublish", {"property_uid": str(property_uid)}, idempotent=True
        )
        return payload is True or payload in (1, "1", "true")
