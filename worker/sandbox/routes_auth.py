"""The OAuth2 client-credentials token endpoint (spec §2.1, seed ``authentication.txt``).

Client authentication by form fields or HTTP Basic. Checks, in order: POST only (405), grant type
(missing: ``invalid_request``; other: ``unsupported_grant_type``), credentials present and right
(``invalid_client``, 401 with Basic), scope (missing, empty or none allowed: ``invalid_scope``).
The granted scope is the requested ∩ allowed set, in the requested order.

Legacy: the requested scope is ignored and the client's stored scopes are granted, reported
comma-separated (``scope`` omitted when the request had none); ``expires_in`` is a numeric
string; ``token_type`` is ``bearer``; the request is also accepted at the API root (``POST /``).

Engine auth (``store.engine_auth``): the real engine's one ``channel_management`` scope is granted
whatever was asked (nothing asked included), and its ``invalid_client`` answer carries the PHP
notice its logger prints after the JSON.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from urllib.parse import unquote_plus

from aiohttp import web

from worker.sandbox import envelope
from worker.sandbox.routes_base import Call, Endpoint
from worker.sandbox.store import ENGINE_SCOPE, ClientSpec

_NO_STORE = {"Cache-Control": "no-store", "Pragma": "no-cache"}
# What the real engine's logger prints after its invalid_client JSON (PHP 8.2).
PHP_DEPRECATION = (
    "<br />\n<b>Deprecated</b>:  DateTime::__construct(): Passing null to parameter #1 "
    "($datetime) of type string is deprecated in <b>/var/www/html/jomres/libraries/packages/"
    "vendor/monolog/monolog/src/Monolog/Logger.php</b> on line <b>324</b><br />\n"
)


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


def _granted(spec: ClientSpec, form: Mapping[str, str], call: Call) -> tuple[str, ...]:
    if call.store.engine_auth:
        return (ENGINE_SCOPE,)
    if call.legacy:
        return spec.scopes
    requested = dict.fromkeys(form.get("scope", "").split())
    return tuple(scope for scope in requested if scope in spec.scopes)


def _token_body(token: str, call: Call, granted: tuple[str, ...]) -> dict[str, object]:
    ttl = round(call.store.token_ttl_s)
    if call.store.engine_auth:
        return {"access_token": token, "expires_in": ttl, "token_type": "Bearer",
                "scope": " ".join(granted)}  # fmt: skip
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
        refused = oauth_error(401 if basic else 400, "invalid_client", description, **extra)
        return _with_notice(refused) if call.store.engine_auth else refused
    granted = _granted(spec, form, call)
    if not granted:
        return oauth_error(400, "invalid_scope", "An unsupported scope was requested")
    issued = call.store.issue_token(spec, granted)
    return web.json_response(_token_body(issued, call, granted), headers=_NO_STORE)


def _with_notice(response: web.Response) -> web.Response:
    """The same answer with the real engine's PHP notice after the JSON (no longer JSON)."""
    kept = {k: v for k, v in response.headers.items() if k in ("WWW-Authenticate", *_NO_STORE)}
    body = (response.text or "") + PHP_DEPRECATION
    return web.Response(status=response.status, text=body, content_type="application/json",
                        headers=kept)  # fmt: skip


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
