"""Response shapes: success and error envelopes and auth failures, per mode (spec §1–2).

Default (the real engine): ``{"data": {"response": ...}, "meta": {"code": 200, "site": {...}}}``
where ``meta.site`` names the site, the API base, the path and the method (and the property's
name when the request is about one); errors are ``{"code", "meta": {"site"}, "error_message",
"lines": []}``; an unknown route's message starts with a space, as the real one does. 401 and 403
bodies are the seed's unless the real engine's own auth is on (``invalid_token`` or
``invalid_request`` with its wording and its ``WWW-Authenticate: Bearer realm="Service", ...``).

Legacy behaviour (``store.legacy``), chosen deterministically:
- endpoint errors are HTTP 200 with the error envelope; channel and ownership errors use the short
  form ``{"meta": {"code": 204, "error_message": ...}}``;
- payloads carry ids, counts and amounts as strings and ``published`` as ``"1"``/``"0"``; room
  lists become objects keyed by ``room_uid``; an empty object is sent as ``[]`` (PHP's empty array);
- a missing scope is HTTP 400 with ``Client not allowed to access this feature : <scope>``;
- 401 bodies use ``invalid_token`` / ``invalid_request`` with the older wording;
- an unknown path under a known route family (wrong number of segments) gets an HTML 404.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from worker.sandbox.payloads import Encoded, Keyed

NO_ENVELOPE_HEADER = "X-BOOKYFLOW-NO-ENVELOPE"
_LEGACY_401 = {
    "expired": ("invalid_token", "The access token provided has expired"),
    "revoked": ("invalid_token", "The access token provided is invalid"),
    "unknown": ("invalid_token", "The access token provided is invalid"),
    "missing": ("invalid_request", "Malformed auth header"),
}
_ENGINE_401 = {
    **_LEGACY_401,
    "missing": ("invalid_request", "No authentication is provided. Bearer missing from headers? "
                "Check https://www.jomres.net/manual/developers-guide-2/63-jomres-api/"
                "418-the-rest-api-test-fails "),
    "malformed": ("invalid_request", "Malformed auth header"),
}  # fmt: skip
_HTML_404 = (
    "<!DOCTYPE html><html><head><title>404 Not Found</title></head><body><h1>Not Found</h1>"
    "<p>The requested URL was not found on this server.</p></body></html>"
)
Site = dict[str, str]


def site_meta(request: web.Request, relative: str, property_name: str | None = None) -> Site:
    """``meta.site`` of the real engine: the property's name (if any), site, base, path, method."""
    named = {} if property_name is None else {"property_name": property_name}
    live_site = f"{request.scheme}://{request.host}"
    raw = request.raw_path.split("?", 1)[0]
    base = raw[: len(raw) - len(relative)] if relative else raw
    return {**named, "live_site": live_site, "base": base, "url": relative,
            "method": request.method}  # fmt: skip


def success(request: web.Request, payload: Any, *, legacy: bool, site: Site) -> web.Response:
    """``{"data": {"response" | key: payload}, "meta": ...}``, or the bare payload."""
    key = "response"
    if isinstance(payload, Keyed):
        key, payload = payload.key, payload.payload
    if isinstance(payload, Encoded) and legacy:
        payload = json.loads(payload.text)
    if legacy:
        payload = legacy_shape(payload)
    bare = request.headers.get(NO_ENVELOPE_HEADER, "").strip() == "1"
    meta: dict[str, Any] = {"code": 200} if legacy else {"code": 200, "site": site}
    if isinstance(payload, Encoded):
        text = payload.text if bare else _spliced(key, payload.text, meta)
        return web.Response(text=text, content_type="application/json")
    if bare:
        return web.json_response(payload)
    return web.json_response({"data": {key: payload}, "meta": meta})


def _spliced(key: str, payload: str, meta: dict[str, Any]) -> str:
    """What ``json.dumps`` makes of ``{"data": {key: payload}, "meta": meta}``, with the
    payload's text as it is."""
    return f'{{"data": {{{json.dumps(key)}: {payload}}}, "meta": {json.dumps(meta)}}}'


def error_body(code: int, message: str) -> dict[str, Any]:
    """The older servers' error envelope."""
    return {
        "code": code,
        "error_message": message,
        "meta": {"code": code, "error_message": message},
        "lines": [],
    }


def engine_error_body(code: int, message: str, site: Site) -> dict[str, Any]:
    return {"code": code, "meta": {"site": site}, "error_message": message, "lines": []}


def endpoint_error(message: str, *, legacy: bool, site: Site, short: bool = False) -> web.Response:
    """An error raised by endpoint logic: 400 (default) or 200 (legacy) with the error envelope."""
    if not legacy:
        return web.json_response(engine_error_body(400, message, site), status=400)
    if short:
        return web.json_response({"meta": {"code": 204, "error_message": message}})
    return web.json_response(error_body(400, message))


def legacy_failure(key: str, field: str, message: str) -> web.Response:
    """Old write endpoints: failure inside a 200 success envelope, under ``data.<key>``."""
    body = {"data": {key: {"success": False, field: message}}, "meta": {"code": 200}}
    return web.json_response(body)


def not_found(relative_path: str, *, html: bool = False, site: Site | None = None) -> web.Response:
    """Unknown route; with ``site`` (default mode) in the real engine's shape and wording."""
    if html:
        return web.Response(status=404, text=_HTML_404, content_type="text/html")
    if site is not None:
        body = engine_error_body(404, f" Request {relative_path} unknown", site)
        return web.json_response(body, status=404)
    return web.json_response(error_body(404, f"Request {relative_path} unknown"), status=404)


def unauthorized(state: str, *, legacy: bool, engine_auth: bool = False) -> web.Response:
    """401 for a missing, malformed, unknown, revoked or expired token."""
    if engine_auth:
        error, description = _ENGINE_401.get(state, _ENGINE_401["unknown"])
        challenge = f'Bearer realm="Service", error="{error}", error_description="{description}"'
        return web.json_response({"error": error, "error_description": description},
                                 status=401, headers={"WWW-Authenticate": challenge})  # fmt: skip
    if legacy:
        error, description = _LEGACY_401.get(state, _LEGACY_401["unknown"])
    else:
        error, description = "unauthorized", "Invalid or expired token"
    return web.json_response(
        {"error": error, "error_description": description},
        status=401,
        headers={"WWW-Authenticate": 'Bearer error="invalid_token"'},
    )


def forbidden(scope: str, *, legacy: bool) -> web.Response:
    """403 when the token lacks ``scope`` (legacy: 400 error envelope)."""
    if legacy:
        message = f"Client not allowed to access this feature : {scope}"
        return web.json_response(error_body(400, message), status=400)
    return web.json_response(
        {"error": "forbidden", "error_description": "Insufficient scope"},
        status=403,
        headers={"WWW-Authenticate": f'Bearer error="insufficient_scope", scope="{scope}"'},
    )


def legacy_shape(value: Any, key: str = "") -> Any:
    """Old servers' JSON: string scalars, id-keyed room lists, ``[]`` for an empty object."""
    if isinstance(value, bool):
        return ("1" if value else "0") if key == "published" else value
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        if value and all(isinstance(item, dict) and "room_uid" in item for item in value):
            return legacy_shape({str(item["room_uid"]): item for item in value})
        return [legacy_shape(item) for item in value]
    if isinstance(value, dict):
        if not value:
            return []
        return {name: legacy_shape(item, name) for name, item in value.items()}
    return value
