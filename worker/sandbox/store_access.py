"""Who may call: API clients and their owners, issued tokens, announced channels (spec §2, §3).

Tokens are opaque random strings; only their SHA-256 digest is kept (in memory and in SQLite), so a
restart keeps them valid and nothing that could be replayed is ever stored or shown. Expiry is read
from the injected wall clock. A channel is the pair (owner of the client, channel name).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import asdict, dataclass, replace
from typing import Any

from worker.sandbox.persistence import Ledger

_BEARER = "bearer "


@dataclass(frozen=True)
class ClientSpec:
    """An API client the sandbox knows."""

    client_id: str
    secret: str
    scopes: tuple[str, ...]  # scopes this client is allowed, e.g. ("read", "write", "delete")
    owner_id: int | None = None  # user id of the owner; None = this client is its own owner

    def __repr__(self) -> str:  # the secret never appears in a repr
        return f"ClientSpec(client_id={self.client_id!r}, scopes={self.scopes!r})"


@dataclass(frozen=True)
class Grant:
    """What one issued token allows."""

    client_id: str
    owner_id: int
    scopes: tuple[str, ...]
    expires_at: float
    revoked: bool = False


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def bearer_token(authorization: str | None) -> str | None:
    """The token of a ``Bearer`` Authorization header; None when absent or malformed."""
    if not authorization or authorization[: len(_BEARER)].lower() != _BEARER:
        return None
    token = authorization[len(_BEARER) :].strip()
    return token or None


class AccessControl:
    """Clients, owners, tokens and channels."""

    def __init__(self, ledger: Ledger, clients: Sequence[ClientSpec]) -> None:
        self._ledger = ledger
        self._db = ledger.persistence
        self.clients: dict[str, ClientSpec] = {}
        self._owners: dict[str, int] = {k: int(v) for k, v in self._db.load("owner").items()}
        self._grants = {k: _load_grant(v) for k, v in self._db.load("token").items()}
        self._channels: dict[str, int] = {k: int(v) for k, v in self._db.load("channel").items()}
        for spec in clients:
            self.add_client(spec)

    def add_client(self, spec: ClientSpec) -> None:
        self.clients[spec.client_id] = spec
        if spec.owner_id is not None:
            self._ledger.reserve("owner", spec.owner_id)
            owner = spec.owner_id
        else:
            owner = self._owners.get(spec.client_id) or self._ledger.next_id("owner")
        self._owners[spec.client_id] = owner
        self._db.put("owner", spec.client_id, owner)

    def owner_of(self, client_id: str) -> int:
        return self._owners[client_id]

    def authenticate(self, client_id: str, secret: str) -> ClientSpec | None:
        """The client when ``secret`` is right (constant-time comparison), else None."""
        spec = self.clients.get(client_id)
        if spec is None or not hmac.compare_digest(spec.secret.encode(), secret.encode()):
            return None
        return spec

    def issue(self, spec: ClientSpec, scopes: tuple[str, ...], ttl_s: float) -> str:
        token = secrets.token_urlsafe(32)
        expires_at = self._ledger.wall_clock() + ttl_s
        grant = Grant(spec.client_id, self.owner_of(spec.client_id), scopes, expires_at)
        self._save(_digest(token), grant)
        return token

    def _save(self, key: str, grant: Grant) -> None:
        self._grants[key] = grant
        self._db.put("token", key, asdict(grant))

    def lookup(self, authorization: str | None) -> tuple[str, Grant | None]:
        """``(state, grant)``; state is valid | expired | revoked | unknown | missing."""
        if not authorization or not authorization.strip():
            return "missing", None
        token = bearer_token(authorization)
        grant = self._grants.get(_digest(token)) if token else None
        if grant is None:
            return "unknown", None
        if grant.revoked:
            return "revoked", grant
        if grant.expires_at <= self._ledger.wall_clock():
            return "expired", grant
        return "valid", grant

    def revoke_all(self) -> int:
        return self._change_live(revoked=True)

    def expire_all(self) -> int:
        return self._change_live(expires_at=self._ledger.wall_clock())

    def _change_live(self, **changes: object) -> int:
        now = self._ledger.wall_clock()
        live = [k for k, g in self._grants.items() if not g.revoked and g.expires_at > now]
        with self._db.batch():
            for key in live:
                self._save(key, replace(self._grants[key], **changes))  # type: ignore[arg-type]
        return len(live)

    # channels -------------------------------------------------------------------------------

    def channel_id(self, owner_id: int, name: str) -> int:
        """The channel's id, ``0`` when this owner never announced it."""
        return self._channels.get(f"{owner_id}:{name}", 0)

    def announce(self, owner_id: int, name: str) -> int:
        """Idempotent: announcing again returns the same id."""
        key = f"{owner_id}:{name}"
        if key not in self._channels:
            self._channels[key] = self._ledger.next_id("channel")
            self._db.put("channel", key, self._channels[key])
        return self._channels[key]

    def forget_channels(self) -> None:
        self._channels.clear()
        self._db.clear("channel")


def _load_grant(row: dict[str, Any]) -> Grant:
    return Grant(**{**row, "scopes": tuple(row["scopes"])})
