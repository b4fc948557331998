"""The OAuth2 client-credentials token endpoint (spec §2.1, seed ``authentication.txt``).

Client authentication by form fields or HTTP Basic. Checks, in order: POST only (405), grant type
(missing: ``invalid_request``; other: ``unsupported_grant_type``), credentials present and right
(``invalid_client``, 401 with Basic), scope (missing, empty or none allowed: ``invalid_scope``).
The granted scope is the requested ∩ allowed set, in the requested order.

Legacy: the requested scope is ignored and the client's stored scopes are granted, reported
comma-separated (``scope`` omitted when the request had none); ``expires_in`` is a numeric
string; ``token_type`` is ``bearer``; the request is also accepted at the API root (``POST /``).
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import unquote_plus

from aiohttp import web

from worker.sandbox import envelope
from worker.sandbox.routes_base import Call, Endpoint
from worker.sandbox.store import ClientSpec

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}


def oauth_error(status: int, error: str, description: str, **headers: str) -> web.Response:
    body = {"error": error, "error_description": description}
    return web.json_response(body, status=status, headers={**_NO_STORE, **headers})


def basic_credentials(authorization: str | None) -> tuple[str, str] | None:
    """``(client_id, secret)`` of an HTTP Basic header; ``("", "")`` when it cannot be decoded."""
    if not authorization or authorization[:6].lower() != "basic ":
        return None
    try:
        decoded = base64.b64decode(authorization[6:].strip(), validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return "", ""
    client_id, _, secret = decoded.partition(":")
    return unquote_plus(client_id), unquote_plus(secret)


def _granted(spec: ClientSpec, form: Mapping[str, str], *, legacy: bool) -> tuple[str, ...]:
    if legacy:
        return spec.scopes
    requested = dict.fromkeys(form.get("scope", "").split())
    return tuple(scope for scope in requested if scope in spec.scopes)


def _token_body(token: str, call: Call, granted: tuple[str, ...]) -> dict[str, object]:
    ttl = round(call.store.token_ttl_s)
    if not call.legacy:
        scope = " ".join(granted)
        return {"access_token": token, "token_type": "Bearer", "expires_in": ttl, "scope": scope}
    body: dict[str, object] = {
        "access_token": token,
        "token_type": "bearer",
        "expires_in": str(ttl),
    }
    if call.form.get("scope", "").strip():
        body["scope"] = ",".join(granted)
    return body


def token(call: Call) -> web.Response:
    """``POST /oauth/token``."""
    form = call.form
    grant_type = form.get("grant_type", "")
    if not grant_type:
        return oauth_error(
            400, "invalid_request", "The grant type was not specified in the request"
        )
    if grant_type != "client_credentials":
        return oauth_error(
            400, "unsupported_grant_type", f'Grant type "{grant_type}" not supported'
        )
    basic = basic_credentials(call.request.headers.get("Authorization"))
    client_id, secret = basic or (form.get("client_id", ""), form.get("client_secret", ""))
    if not client_id or not secret:
        description = "Client credentials were not found in the headers or body"
        return oauth_error(401 if basic else 400, "invalid_client", description)
    spec = call.store.authenticate_client(client_id, secret)
    if spec is None:
        extra = {"WWW-Authenticate": 'Basic realm="Service"'} if basic else {}
        description = "The client credentials are invalid"
        return oauth_error(401 if basic else 400, "invalid_client", description, **extra)
    granted = _granted(spec, form, legacy=call.legacy)
    if not granted:
        return oauth_error(400, "invalid_scope", "An unsupported scope was requested")
    issued = call.store.issue_token(spec, granted)
    return web.json_response(_token_body(issued, call, granted), headers=_NO_STORE)


def token_at_root(call: Call) -> web.Response:
    """``POST /``: older servers accept the token request at the API root."""
    return token(call) if call.legacy else envelope.not_found("/")


def token_wrong_method(call: Call) -> web.Response:
    description = "The request method must be POST when requesting an access token"
    return oauth_error(405, "invalid_request", description, Allow="POST")


ENDPOINTS = (
    Endpoint("POST", "/oauth/token", token, auth=False, channel=False),
    Endpoint("GET", "/oauth/token", token_wrong_method, auth=False, channel=False),
    Endpoint("POST", "/", token_at_root, auth=False, channel=False),
)
