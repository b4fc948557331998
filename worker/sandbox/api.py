"""The BookyFlow API as an aiohttp sub-application (spec §1–3), mounted by the root app at API_ROOT.

Every route, and a catch-all for unknown paths, goes through ``dispatch``, which applies the checks
in the spec's order: token (401) → route (404) → scope (403) → channel header (400 ``Channel not
set``) → channel announced (400) → property ownership (400) → parameters (400, in the handler).
The form is read before the checks, and the handler's writes form one store batch.

By default the answers are the real engine's (envelopes with ``meta.site``, its shapes and
wording: ``engine_views``, ``engine_bookings``, the ``store_*`` operations called with
``engine=True``); the seed's authentication stays unless ``store.engine_auth`` is on.
Legacy mode (``store.legacy``, read per request) and where each behaviour lives:
- token endpoint — stored scopes granted comma-separated (or ``scope`` omitted), ``expires_in`` as
  a numeric string, ``token_type`` ``bearer``, ``POST /`` accepted: ``routes_auth``;
- 401 wording, missing scope as HTTP 400 ``Client not allowed to access this feature : <scope>``,
  endpoint errors as HTTP 200 (channel/ownership errors in the short ``meta.code`` 204 form),
  string ids and flags, rooms keyed by id, ``[]`` for empty objects, HTML 404 for a path under a
  known route family with the wrong number of segments: ``envelope``;
- write endpoints' errors as ``{"success": false, "message"|"error"}`` inside a 200 success
  envelope under ``data.response``/``data.property``/``data.calendar``/``data.delete_tariffs``:
  each ``Endpoint.legacy_failure`` (routes modules) applied by ``_error_response`` here;
- ``remote_uid`` cast to an integer (non-numeric → 0): ``store_operations.remote_uid_value``
  (the real engine does it too).
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Set
from dataclasses import replace

from aiohttp import web

from worker.errors import ApiError, ChannelError, OwnershipError
from worker.sandbox import (
    envelope,
    routes_auth,
    routes_bookings,
    routes_channel,
    routes_content,
    routes_properties,
    routes_rates,
)
from worker.sandbox.forms import required
from worker.sandbox.routes_base import SCOPE_BY_METHOD, Call, Endpoint
from worker.sandbox.store import SandboxStore
from worker.sandbox.store_access import bearer_token

API_ROOT = "/bookyflow/api"
CHANNEL_HEADER = "X-BOOKYFLOW-channel-name"
STORE_KEY = web.AppKey("store", SandboxStore)

_ROUTE_MODULES = (routes_auth, routes_channel, routes_properties, routes_content, routes_rates,
                  routes_bookings)  # fmt: skip


def _route_table() -> list[dict[str, str]]:
    return [
        {"method": e.method, "endpoint": re.sub(r"\{(\w+)\}", r"@\1", e.path)}
        for e in _endpoints()
        if e.path != "/"  # the legacy token alias is not advertised
    ]


def _endpoints() -> tuple[Endpoint, ...]:
    listed = tuple(e for module in _ROUTE_MODULES for e in module.ENDPOINTS)
    core = Endpoint(
        "GET", "/core/endpoints", lambda call: _route_table(), auth=False, channel=False
    )
    return (*listed, core)


def create_api_app(store: SandboxStore) -> web.Application:
    """The BookyFlow API as an aiohttp sub-application; the root app mounts it at API_ROOT."""
    app = web.Application()
    app[STORE_KEY] = store
    endpoints = _endpoints()
    families = {_family(e.path) for e in endpoints if e.path.count("/") > 2}
    for endpoint in endpoints:
        app.router.add_route(endpoint.method, endpoint.path, _handler(endpoint))
    app.router.add_route("*", "/{tail:.*}", _unknown_handler(families))
    return app


def _family(path: str) -> str:
    """The first two segments of a path: ``/cmf/property/rooms/1`` → ``/cmf/property``."""
    return "/".join(path.split("/")[:3])


def _handler(endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await dispatch(request, endpoint)

    return handle


def _unknown_handler(families: set[str]) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    async def handle(request: web.Request) -> web.StreamResponse:
        return await dispatch(request, None, families=families)

    return handle


async def _read_form(request: web.Request) -> dict[str, str]:
    if request.method not in ("POST", "PUT"):
        return {}
    posted = await request.post()
    return {name: value for name, value in posted.items() if isinstance(value, str)}


async def dispatch(
    request: web.Request, endpoint: Endpoint | None, *, families: Set[str] = frozenset()
) -> web.StreamResponse:
    """Run the checks in the spec's order, then the handler, and wrap its payload."""
    store = request.app[STORE_KEY]
    form = await _read_form(request)
    relative = _relative(request)
    grant = None
    if endpoint is None or endpoint.auth:
        header = request.headers.get("Authorization")
        state, grant = store.access.lookup(header)
        if state != "valid":
            state = "malformed" if state == "unknown" and not bearer_token(header) else state
            return envelope.unauthorized(state, legacy=store.legacy, engine_auth=store.engine_auth)
    if endpoint is None:
        html = store.legacy and _family(relative) in families
        site = (
            None if store.legacy else {"base": API_ROOT, "url": relative, "method": request.method}
        )
        return envelope.not_found(relative, html=html, site=site)
    scope = SCOPE_BY_METHOD[endpoint.method]
    if grant is not None and not store.scope_allows(grant, scope):
        return envelope.forbidden(scope, legacy=store.legacy)
    call = Call(store, request, form, grant)
    try:
        call = _with_channel(call, endpoint)
        if endpoint.preload is not None:
            call = replace(call, preloaded=await endpoint.preload(call))
        with store.batch():
            result = endpoint.handler(call)
    except ApiError as exc:
        return _error_response(exc, endpoint, legacy=store.legacy, site=_site(call, relative))
    if isinstance(result, web.StreamResponse):
        return result
    return envelope.success(request, result, legacy=store.legacy, site=_site(call, relative))


def _relative(request: web.Request) -> str:
    """The path below the API root, as the real engine reports it in ``meta.site.url``."""
    path = request.raw_path.split("?", 1)[0]  # as sent: the real engine reports it undecoded
    return path[len(API_ROOT) :] if path.startswith(API_ROOT) else path


def _site(call: Call, relative: str) -> envelope.Site:
    name = call.prop.property_name if call.prop is not None else None
    return envelope.site_meta(call.request, relative, name)


def _with_channel(call: Call, endpoint: Endpoint) -> Call:
    """Channel header, announcement and property ownership, in that order."""
    if not endpoint.channel:
        return call
    name = call.request.headers.get(CHANNEL_HEADER, "").strip()  # header names are case-blind
    if not name:
        raise ChannelError("Channel not set", status=400, code=400)
    channel = call.store.channel(call.owner_id, name)
    raw = _raw_property_uid(call, endpoint.property_from)
    prop = None if raw is None else call.store.owned_property(channel, raw)
    return replace(call, channel=channel, prop=prop)


def _raw_property_uid(call: Call, source: str | None) -> str | None:
    if source == "path":
        return call.param("property_uid").strip()
    if source == "form":
        return required(call.form, "property_uid")
    return None


def _error_response(
    exc: ApiError, endpoint: Endpoint, *, legacy: bool, site: envelope.Site
) -> web.Response:
    """Default: 400 error envelope. Legacy: 200, short form for channel errors, and write
    endpoints' own failures as ``{"success": false, ...}`` inside a success envelope."""
    short = isinstance(exc, ChannelError | OwnershipError)
    if legacy and endpoint.legacy_failure is not None and not short:
        key, field = endpoint.legacy_failure
        return envelope.legacy_failure(key, field, exc.message)
    return envelope.endpoint_error(exc.message, legacy=legacy, site=site, short=short)
