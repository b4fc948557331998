"""Channel announcement, version probe, dictionaries and auth-free listings (§2.4, §3.1–3.2).

Announce endpoints need no channel header. ``POST`` announce requires a ``params`` form field
holding a JSON object and is idempotent; ``GET`` announce answers ``0`` for an unknown channel.
The version probe and the country and region lists answer as the real engine (only what the site's
properties use, everything under ``/all``) unless legacy mode serves the older servers' answers.
"""

from __future__ import annotations

from typing import Any

from worker.sandbox import dictionaries
from worker.sandbox.forms import parse_json
from worker.sandbox.routes_base import Call, Endpoint

LEGACY_VERSIONS = {"bookyflow": "10.7.2", "cmf": "3.4"}
ENGINE_VERSIONS = {"Jomres": "10.7.2", "channelmanagement_framework": "", "api_feature_cmf": ""}


def announced(call: Call) -> int:
    return call.store.access.channel_id(call.owner_id, call.param("channel_name"))


def announce(call: Call) -> int:
    parse_json(call.form, "params", dict)
    return call.store.access.announce(call.owner_id, call.param("channel_name"))


def versions(call: Call) -> dict[str, str]:
    return dict(ENGINE_VERSIONS if call.engine else LEGACY_VERSIONS)


def countries(call: Call) -> Any:
    if not call.engine:
        return dictionaries.legacy_countries_payload()
    return dictionaries.countries_payload(call.store.used_locations()[0])


def regions(call: Call) -> Any:
    if not call.engine:
        return dictionaries.legacy_regions_payload()
    return dictionaries.regions_payload(call.store.used_locations()[1])


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
    Endpoint("GET", "/cmf/list/countries", countries),
    Endpoint("GET", "/cmf/list/countries/all", _static(dictionaries.countries_payload)),
    Endpoint("GET", "/cmf/list/regions", regions),
    Endpoint("GET", "/cmf/list/regions/all", _static(dictionaries.regions_payload)),
    Endpoint("GET", "/cmf/list/image/types", _static(dictionaries.image_types_payload)),
    Endpoint("GET", "/cmf/list/property/features", _static(dictionaries.property_features_payload)),
    Endpoint("GET", "/core/get_properties", published, auth=False, channel=False),
)
