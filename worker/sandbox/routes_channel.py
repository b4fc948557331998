"""Channel announcement, version probe, dictionaries and auth-free listings (§2.4, §3.1–3.2).

Announce endpoints need no channel header. ``POST`` announce requires a ``params`` form field
holding a JSON object and is idempotent; ``GET`` announce answers ``0`` for an unknown channel.
"""

from __future__ import annotations

from typing import Any

from worker.sandbox import dictionaries
from worker.sandbox.forms import parse_json
from worker.sandbox.routes_base import Call, Endpoint

VERSIONS = {"bookyflow": "10.7.2", "cmf": "3.4"}


def announced(call: Call) -> int:
    return call.store.access.channel_id(call.owner_id, call.param("channel_name"))


def announce(call: Call) -> int:
    parse_json(call.form, "params", dict)
    return call.store.access.announce(call.owner_id, call.param("channel_name"))


def versions(call: Call) -> dict[str, str]:
    return dict(VERSIONS)


def published(call: Call) -> list[dict[str, Any]]:
    return call.store.published_properties()


def _static(payload: Any) -> Any:
    return lambda call: payload()


ENDPOINTS = (
    Endpoint("GET", "/cmf/channel/announce/{channel_name}", announced, channel=False),
    Endpoint(
        "POST", "/cmf/channel/announce/{channel_name}/{friendly_name}", announce, channel=False
    ),
    Endpoint("GET", "/cmf/versions", versions),
    Endpoint("GET", "/cmf/list/property/types", _static(dictionaries.property_types_payload)),
    Endpoint("GET", "/cmf/list/room/types", _static(dictionaries.room_types_payload)),
    Endpoint("GET", "/cmf/list/countries", _static(dictionaries.countries_payload)),
    Endpoint("GET", "/cmf/list/regions", _static(dictionaries.regions_payload)),
    Endpoint("GET", "/core/get_properties", published, auth=False, channel=False),
)
