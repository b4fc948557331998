"""What guests see of a property (``spec/inventory.md``, ``content``): each part optional.

A part the vendor leaves out is not managed by the worker (whatever the hotel typed on its site
stays); a part given is kept in step like prices. The models are closed like the rest of the
inventory: an unknown key is an error naming its path (``properties[0].content.address.stret``).
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AnyUrl, BaseModel, ConfigDict, Field, StringConstraints, field_validator

__all__ = ["TEXT_FIELDS", "Address", "Contacts", "Content", "Image", "Location", "Texts"]

TEXT_FIELDS = (
    "description",
    "checkin_times",
    "area_activities",
    "driving_directions",
    "airports",
    "othertransport",
    "terms",
    "permit_number",
)
Line = Annotated[str, StringConstraints(max_length=1000)]
Body = Annotated[str, StringConstraints(max_length=20000)]
Language = Annotated[str, StringConstraints(pattern=r"^[a-z]{2}(-[A-Z]{2})?$")]


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)


class Address(_Part):
    street: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    town: Annotated[str, StringConstraints(min_length=1, max_length=1000)]
    postcode: Line = ""


class Location(_Part):
    lat: Annotated[float, Field(ge=-90, le=90, strict=False, allow_inf_nan=False)]
    long: Annotated[float, Field(ge=-180, le=180, strict=False, allow_inf_nan=False)]


class Contacts(_Part):
    telephone: Line = ""
    fax: Line = ""
    email: Line = ""


class Texts(_Part):
    """The eight text fields of one language; a field left out is sent empty (the real engine
    overwrites all eight with every call)."""

    description: Body = ""
    checkin_times: Body = ""
    area_activities: Body = ""
    driving_directions: Body = ""
    airports: Body = ""
    othertransport: Body = ""
    terms: Body = ""
    permit_number: Line = ""


class Image(_Part):
    """An image the site downloads from ``url``; ``room`` images name their room."""

    url: AnyUrl = Field(strict=False)
    kind: Literal["main", "slideshow", "room"]
    room_remote_id: str | None = None

    @field_validator("url")
    @classmethod
    def _http_only(cls, value: AnyUrl) -> AnyUrl:
        if value.scheme not in ("http", "https") or not value.path or value.path.endswith("/"):
            raise ValueError("expected an http(s) URL of an image file")
        return value

    @property
    def file_name(self) -> str:
        """The name the site stores the image under: the URL path's last segment."""
        return (self.url.path or "").rsplit("/", 1)[-1]


class Content(_Part):
    """Every part optional; ``texts`` keyed by language code (the first is the main one)."""

    address: Address | None = None
    location: Location | None = None
    contacts: Contacts | None = None
    stars: Annotated[int, Field(ge=0, le=5)] | None = None
    superior: bool | None = None
    features: tuple[Annotated[int, Field(ge=1)], ...] | None = Field(None, strict=False)
    texts: dict[Language, Texts] | None = None
    images: tuple[Image, ...] | None = Field(None, strict=False)
