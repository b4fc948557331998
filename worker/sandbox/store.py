"""``SandboxStore``: the whole state of one embedded BookyFlow site, as pure domain (no HTTP).

It composes the parts that each own one concern — ``AccessControl`` (clients, tokens, channels),
``Inventory`` (properties, rooms, tariffs, content), ``Bookings`` (bookings, closures, change log)
— and the operations the API performs on them (``properties``, ``rates``, ``content``,
``closures``, ``reservations``). State lives in memory; with ``db_path`` every change is also
written to SQLite, so a new store on the same file keeps it all, issued tokens included.

Modes, read per request and changeable at run time: by default the API answers as the real engine
does, with the seed's authentication; ``legacy`` serves the older servers of the spec instead;
``engine_auth`` serves the real engine's own authentication (its one ``channel_management`` scope
granted whatever was asked, its 401 bodies, one-year tokens unless ``token_ttl_s`` says otherwise).
Time comes from the injected ``wall_clock`` (epoch seconds): token expiry, "today", timestamps.

The read-only views at the end (``properties_of``, ``calendar``, ``bookings``, ``blackbookings``)
are the sandbox's ground truth in the spec's terms, whatever the mode: what tests check end states
against (a per-night price, the remote id of every push even after it was cancelled).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

from worker.errors import ChannelError, OwnershipError
from worker.sandbox.changelog_answers import ChangeLogAnswers
from worker.sandbox.forms import invalid, parse_money, parse_range
from worker.sandbox.persistence import Ledger, open_persistence
from worker.sandbox.store_access import AccessControl, ClientSpec, Grant
from worker.sandbox.store_bookings import Booking, Bookings
from worker.sandbox.store_closures import ClosureOperations
from worker.sandbox.store_content import ContentOperations
from worker.sandbox.store_inventory import Inventory, Property
from worker.sandbox.store_operations import ChannelRef, PropertyOperations
from worker.sandbox.store_rates import RateOperations
from worker.sandbox.store_reservations import BookingOperations

SITE = ChannelRef(owner_id=0, name="", channel_id=0)  # the hotel on its own site, no channel

__all__ = ["ENGINE_SCOPE", "ENGINE_TOKEN_TTL_S", "ChannelRef", "ClientSpec", "Grant",
           "SandboxStore"]  # fmt: skip

SEED_TOKEN_TTL_S = 3600.0
ENGINE_TOKEN_TTL_S = 31_536_000.0  # the real engine's tokens last a year
ENGINE_SCOPE = "channel_management"


class SandboxStore:
    """Every client, token, channel, property, rate, closure, booking and event of one site."""

    def __init__(
        self,
        clients: Sequence[ClientSpec],
        *,
        token_ttl_s: float | None = None,
        legacy: bool = False,
        engine_auth: bool = False,
        db_path: str | Path | None = None,
        wall_clock: Callable[[], float] = time.time,
    ) -> None:
        self.legacy = legacy
        self.engine_auth = engine_auth
        default_ttl = ENGINE_TOKEN_TTL_S if engine_auth else SEED_TOKEN_TTL_S
        self.token_ttl_s = default_ttl if token_ttl_s is None else token_ttl_s
        self._db = open_persistence(db_path)
        self._ledger = Ledger(self._db, wall_clock)
        with self._db.batch():
            self.access = AccessControl(self._ledger, clients)
        self.inventory = Inventory(self._ledger)
        self.records = Bookings(self._ledger)
        self.properties = PropertyOperations(self.inventory, self.records)
        self.rates = RateOperations(self.inventory, self.records)
        self.content = ContentOperations(self.inventory, self.records)
        self.closures = ClosureOperations(self.records)
        self.reservations = BookingOperations(self.inventory, self.records)
        self.change_log_answers = ChangeLogAnswers(self.inventory, self.records)

    @property
    def engine(self) -> bool:
        """Whether the API answers as the real engine (the default) rather than legacy."""
        return not self.legacy

    def batch(self) -> AbstractContextManager[Any]:
        """Group the writes of one request into one SQLite transaction."""
        return self._db.batch()  # type: ignore[no-any-return]

    def today(self) -> date:
        return self._ledger.today()

    def close(self) -> None:
        self._db.close()

    # clients and tokens -----------------------------------------------------------------------

    def add_client(self, spec: ClientSpec) -> None:
        with self.batch():
            self.access.add_client(spec)

    def authenticate_client(self, client_id: str, secret: str) -> ClientSpec | None:
        return self.access.authenticate(client_id, secret)

    def issue_token(self, spec: ClientSpec, scopes: tuple[str, ...]) -> str:
        return self.access.issue(spec, scopes, self.token_ttl_s)

    def scope_allows(self, grant: Grant, scope: str) -> bool:
        """A method's scope, or the real engine's one scope that covers every endpoint."""
        return scope in grant.scopes or ENGINE_SCOPE in grant.scopes

    def token_state(self, authorization: str | None) -> str:
        """'valid' | 'expired' | 'revoked' | 'unknown' | 'missing' for an Authorization header."""
        return self.access.lookup(authorization)[0]

    def valid_grant(self, authorization: str | None) -> Grant | None:
        state, grant = self.access.lookup(authorization)
        return grant if state == "valid" else None

    def revoke_all_tokens(self) -> int:
        return self.access.revoke_all()

    def expire_all_tokens(self) -> int:
        return self.access.expire_all()

    # channels and ownership -------------------------------------------------------------------

    def forget_channels(self) -> None:
        """The channel table is lost (a restore from backup); announcing again is safe."""
        self.access.forget_channels()

    def channel(self, owner_id: int, name: str) -> ChannelRef:
        channel_id = self.access.channel_id(owner_id, name)
        if not channel_id:
            message = f"User {owner_id} does not have access to this channel {name}"
            raise ChannelError(message, status=400, code=400, not_announced=True)
        return ChannelRef(owner_id, name, channel_id)

    def owned_property(self, channel: ChannelRef, raw_uid: str) -> Property:
        """The property when this channel created it; anything else is an ``OwnershipError``."""
        prop = self.inventory.properties.get(int(raw_uid)) if raw_uid.isdigit() else None
        if prop is None or (prop.owner_id, prop.channel_name) != (channel.owner_id, channel.name):
            gap = " " if self.engine else ""  # sic: the real text has a space before the comma
            message = (
                f"Manager {channel.owner_id} does not have access to property {raw_uid} "
                f"on channel {channel.channel_id}{gap}, or the property does not exist."
            )
            raise OwnershipError(message, status=400, code=400, property_uid=None)
        return prop

    def used_locations(self) -> tuple[set[str], set[int]]:
        """The countries and regions properties of the site use (every channel's)."""
        props = self.inventory.properties.values()
        return {p.country for p in props}, {p.region_id for p in props}

    def published_properties(self) -> list[dict[str, Any]]:
        return [
            {"property_uid": p.property_uid, "property_name": p.property_name}
            for p in sorted(self.inventory.properties.values(), key=lambda p: p.property_uid)
            if p.published
        ]

    # guests booking on the hotel site ---------------------------------------------------------

    def book_on_site(
        self,
        property_uid: int,
        date_from: str,
        date_to: str,
        *,
        firstname: str = "Guest",
        surname: str = "Example",
        email: str = "guest@example.org",
        adults: int = 2,
        total: str = "200.00",
    ) -> dict[str, Any]:
        """A guest books on the hotel's own site; returns the booking object (spec §3.7).

        The real engine (default mode) gives it a random 8-digit booking number."""
        prop = self._property(property_uid)
        first, last = parse_range(date_from, date_to)
        amount = str(parse_money(total, "total", minimum=Decimal(0)))
        with self.batch():
            booking = self.reservations.book_on_site(
                prop, first, last, engine=self.engine, firstname=firstname, surname=surname,
                email=email, adults=adults, booking_total=amount,
            )  # fmt: skip
        return booking.spec_view(None)

    def modify_site_booking(self, booking_id: int, **changes: Any) -> dict[str, Any]:
        """Change fields of a booking (bumps ``last_modified``, logs ``booking_modified``)."""
        booking = self._booking(booking_id)
        if "total" in changes:
            changes["booking_total"] = str(parse_money(changes.pop("total"), "total"))
        if {"date_from", "date_to"} & changes.keys():
            parse_range(changes.get("date_from", booking.date_from),
                        changes.get("date_to", booking.date_to))  # fmt: skip
        with self.batch():
            return self.reservations.modify_site_booking(booking, changes).spec_view(None)

    def cancel_site_booking(self, booking_id: int) -> dict[str, Any]:
        """The guest cancels: status 6, ``last_modified`` bumped, ``booking_cancelled`` logged."""
        with self.batch():
            booking = self._booking(booking_id)
            return self.reservations.cancel(booking, None, engine=self.engine).spec_view(None)

    def hotel_set_price(self, property_uid: int, date_from: str, date_to: str, price: str) -> None:
        """The hotel prices nights on its own site (``tariffs_updated`` under no channel)."""
        prop = self._property(property_uid)
        first, last = parse_range(date_from, date_to)
        amount = parse_money(price, "price", minimum=Decimal(0))
        with self.batch():
            self.rates.set_prices(SITE, prop, [(first, last, amount)], engine=self.engine)

    def _property(self, uid: int) -> Property:
        prop = self.inventory.properties.get(uid)
        if prop is None:
            raise invalid(f"Property {uid} does not exist")
        return prop

    def _booking(self, booking_id: int) -> Booking:
        booking = self.records.bookings.get(booking_id)
        if booking is None:
            raise invalid(f"Booking {booking_id} does not exist")
        return booking

    # read-only views for tests and invariant checks ------------------------------------------

    def properties_of(self, client_id: str, channel_name: str) -> list[dict[str, Any]]:
        """Every property of that channel, rooms included."""
        owned = self.inventory.of_channel(self.access.owner_of(client_id), channel_name)
        return [self.properties.spec_view(p) for p in sorted(owned, key=_uid)]

    def calendar(self, property_uid: int, start: str, end: str) -> dict[str, dict[str, Any]]:
        """Price, minimum stay and closure of each night from ``start`` to ``end`` (the spec's
        calendar, which is what legacy mode answers)."""
        return self.rates.calendar(property_uid, *parse_range(start, end))

    def bookings(self, property_uid: int) -> list[dict[str, Any]]:
        """Every booking (not closure) of the property; ``mapping.remote_booking_id`` for each
        push, cancelled ones included."""
        return [b.spec_view(b.channel) for b in self.records.of_property(property_uid)]

    def blackbookings(self, property_uid: int) -> dict[str, dict[str, str]]:
        return {
            str(b.contract_id): {"date_from": b.date_from, "date_to": b.date_to}
            for b in self.records.blacks_of(property_uid)
        }


def _uid(prop: Property) -> int:
    return prop.property_uid
