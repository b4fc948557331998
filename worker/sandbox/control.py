"""The control surface: typed token/channel controls, and the ``/_sandbox/...`` HTTP routes.

In-process tests call ``sandbox.tokens``, ``sandbox.channels``, ``sandbox.faults`` directly. An
out-of-process test (or an operator poking a standalone sandbox) uses the same operations over
HTTP, JSON in and out, with ``Authorization: Bearer <admin token>``. The routes exist only when
the sandbox was built with ``control_routes=True``; the journal and the fault proxy ignore them.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from worker.errors import ApiError
from worker.logging import REDACTED, SENSITIVE_KEYS
from worker.sandbox.faults import FaultInjector
from worker.sandbox.journal import JournalEntry

if TYPE_CHECKING:
    from worker.sandbox.server import Sandbox
    from worker.sandbox.store import SandboxStore

CONTROL_ROOT = "/_sandbox"
HIDDEN_HEADERS = frozenset({"authorization", "proxy-authorization", "cookie"})
# The store raises these for unknown ids and bad values; the route answers 400 with the text.
_BAD_INPUT = (ApiError, LookupError, TypeError, ValueError)


class TokenControls:
    """Revoke or expire every issued token, or change the lifetime of tokens issued from now on."""

    def __init__(self, store: Callable[[], SandboxStore]) -> None:
        self._store = store

    def revoke_all(self) -> int:
        return self._store().revoke_all_tokens()

    def expire_all(self) -> int:
        return self._store().expire_all_tokens()

    def set_ttl(self, seconds: float) -> None:
        if seconds <= 0:
            raise ValueError("token ttl must be positive")
        self._store().token_ttl_s = seconds


class ChannelControls:
    """Lose the channel table, as a site restored from an old backup does."""

    def __init__(self, store: Callable[[], SandboxStore]) -> None:
        self._store = store

    def forget_all(self) -> None:
        self._store().forget_channels()


def apply_fault_spec(faults: FaultInjector, spec: Mapping[str, Any]) -> None:
    """``{"kind": "fail_next", "status": 503, "times": 2}`` → ``faults.fail_next(503, times=2)``."""
    actions: dict[str, Callable[..., None]] = {
        "fail_next": faults.fail_next,
        "rate_limit_next": faults.rate_limit_next,
        "random_failure": faults.set_random_failure,
        "latency": faults.set_latency,
        "reset_next": faults.reset_next,
        "truncate_next": faults.truncate_next,
        "invalid_json_next": faults.invalid_json_next,
    }
    params = dict(spec)
    action = actions.get(str(params.pop("kind", "")))
    if action is None:
        raise ValueError(f"kind must be one of {', '.join(sorted(actions))}")
    action(**params)


def entry_json(entry: JournalEntry) -> dict[str, Any]:
    """A journal entry for the wire: no credential header values, no secret form values."""
    return {
        "method": entry.method,
        "path": entry.path,
        "headers": {k: v for k, v in entry.headers.items() if k.lower() not in HIDDEN_HEADERS},
        "authorization": "Authorization" in entry.headers,
        "form": {k: REDACTED if k.lower() in SENSITIVE_KEYS else v for k, v in entry.form.items()},
        "token_state": entry.token_state,
        "status": entry.status,
        "at": entry.at,
    }


def property_state(store: SandboxStore, prop: Mapping[str, Any], start: str, end: str) -> Any:
    """One property with its rooms, closures, bookings and calendar: what invariants check."""
    uid = int(prop["property_uid"])
    return {
        **prop,
        "blackbookings": store.blackbookings(uid),
        "bookings": store.bookings(uid),
        "calendar": store.calendar(uid, start, end),
    }


def _admin_only(admin_token: str) -> Middleware:
    expected = f"Bearer {admin_token}".encode()

    @web.middleware
    async def admin_only(request: web.Request, handler: Handler) -> web.StreamResponse:
        given = request.headers.get("Authorization", "").encode()
        if not hmac.compare_digest(given, expected):
            return web.json_response({"error": "unauthorized"}, status=401)
        try:
            return await handler(request)
        except _BAD_INPUT as exc:
            return web.json_response({"error": str(exc)}, status=400)

    return admin_only


async def _json_body(request: web.Request) -> dict[str, Any]:
    if not request.can_read_body:
        return {}
    body = await request.json()
    if not isinstance(body, dict):
        raise ValueError("the body must be a JSON object")
    return body


class _Routes:
    """Handlers bound to one sandbox; each is a thin translation to its Python control."""

    def __init__(self, sandbox: Sandbox) -> None:
        self.sandbox = sandbox

    async def add_fault(self, request: web.Request) -> web.Response:
        apply_fault_spec(self.sandbox.faults, await _json_body(request))
        return web.json_response({"pending": self.sandbox.faults.pending})

    async def clear_faults(self, _: web.Request) -> web.Response:
        self.sandbox.faults.clear()
        return web.json_response({"pending": 0})

    async def revoke_tokens(self, _: web.Request) -> web.Response:
        return web.json_response({"revoked": self.sandbox.tokens.revoke_all()})

    async def expire_tokens(self, _: web.Request) -> web.Response:
        return web.json_response({"expired": self.sandbox.tokens.expire_all()})

    async def token_ttl(self, request: web.Request) -> web.Response:
        self.sandbox.tokens.set_ttl(float((await _json_body(request))["seconds"]))
        return web.json_response({"token_ttl_s": self.sandbox.store.token_ttl_s})

    async def forget_channels(self, _: web.Request) -> web.Response:
        self.sandbox.channels.forget_all()
        return web.json_response({"forgotten": True})

    async def legacy(self, request: web.Request) -> web.Response:
        self.sandbox.legacy = bool((await _json_body(request))["enabled"])
        return web.json_response({"legacy": self.sandbox.legacy})

    async def journal(self, request: web.Request) -> web.Response:
        query = request.query
        entries = self.sandbox.journal.matching(method=query.get("method"), path=query.get("path"))
        return web.json_response({"entries": [entry_json(entry) for entry in entries]})

    async def clear_journal(self, _: web.Request) -> web.Response:
        self.sandbox.journal.clear()
        return web.json_response({"entries": []})

    async def book(self, request: web.Request) -> web.Response:
        body = await _json_body(request)
        uid, date_from, date_to = (
            body.pop("property_uid"),
            body.pop("date_from"),
            body.pop("date_to"),
        )
        booking = self.sandbox.store.book_on_site(int(uid), date_from, date_to, **body)
        return web.json_response(booking)

    async def modify_booking(self, request: web.Request) -> web.Response:
        changes = await _json_body(request)
        booking_id = int(request.match_info["booking_id"])
        return web.json_response(self.sandbox.store.modify_site_booking(booking_id, **changes))

    async def cancel_booking(self, request: web.Request) -> web.Response:
        booking_id = int(request.match_info["booking_id"])
        return web.json_response(self.sandbox.store.cancel_site_booking(booking_id))

    async def state(self, request: web.Request) -> web.Response:
        """``?client=ID&channel=NAME&start=YYYY-MM-DD&end=YYYY-MM-DD`` (all required)."""
        query, store = request.query, self.sandbox.store
        client, channel = query["client"], query["channel"]
        start, end = query["start"], query["end"]
        props = [property_state(store, p, start, end) for p in store.properties_of(client, channel)]
        return web.json_response({"client": client, "channel": channel, "properties": props})


def create_control_app(sandbox: Sandbox, admin_token: str) -> web.Application:
    """The ``/_sandbox`` sub-application; every route needs the admin bearer token."""
    routes = _Routes(sandbox)
    app = web.Application(middlewares=[_admin_only(admin_token)])
    app.router.add_post("/faults", routes.add_fault)
    app.router.add_delete("/faults", routes.clear_faults)
    app.router.add_post("/tokens/revoke", routes.revoke_tokens)
    app.router.add_post("/tokens/expire", routes.expire_tokens)
    app.router.add_post("/tokens/ttl", routes.token_ttl)
    app.router.add_post("/channels/forget", routes.forget_channels)
    app.router.add_post("/legacy", routes.legacy)
    app.router.add_get("/journal", routes.journal)
    app.router.add_delete("/journal", routes.clear_journal)
    app.router.add_post("/bookings", routes.book)
    app.router.add_post("/bookings/{booking_id}/modify", routes.modify_booking)
    app.router.add_post("/bookings/{booking_id}/cancel", routes.cancel_booking)
    app.router.add_get("/state", routes.state)
    return app
