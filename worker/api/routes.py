"""Route templates: a request path with its ids replaced by ``{id}``, for metric labels.

``route_template("cmf/property/calendar/12/2026-05-01/2026-05-31")`` is
``/cmf/property/calendar/{id}/{id}/{id}``. A segment is kept only when it is one of the API's
own path words (``_WORDS``, from the spec's endpoint list); the first segment that is not, and
every segment after it, become ``{id}``: property and room uids, dates, booking and contract ids,
a reservation's OTA id, an image's file name, the channel's name, a language. So no id, and no
value a server or a vendor chose, ever reaches a label, and the number of templates is bounded
by the endpoints we call. It runs on every request: one split and a set lookup per segment.
"""

from __future__ import annotations

__all__ = ["route_template"]

ID = "{id}"
# Every static word of the spec's paths (``/cmf/...`` and ``/oauth/token``).
_WORDS = frozenset(
    {
        "cmf",
        "oauth",
        "token",
        "channel",
        "announce",
        "versions",
        "list",
        "property",
        "properties",
        "types",
        "room",
        "rooms",
        "countries",
        "regions",
        "ids",
        "local",
        "status",
        "review",
        "publish",
        "unpublish",
        "base",
        "price",
        "prices",
        "minstays",
        "calendar",
        "blackbooking",
        "blackbookings",
        "reservations",
        "add",
        "cancel",
        "booking",
        "bookings",
        "link",
        "change",
        "logs",
        "image",
        "images",
        "features",
        "address",
        "location",
        "contacts",
        "text",
        "stars",
    }
)
# After these words everything is a value, even a segment that happens to be a word (a channel
# named "property").
_VALUES_FOLLOW = frozenset({"announce"})


def route_template(path: str) -> str:
    """The path's template: API words kept, ids (and all that follows one) as ``{id}``."""
    parts: list[str] = []
    values = False
    for segment in path.split("/"):
        if not segment:
            continue
        if values or segment not in _WORDS:
            parts.append(ID)
            values = True
        else:
            parts.append(segment)
            values = segment in _VALUES_FOLLOW
    return "/" + "/".join(parts)
