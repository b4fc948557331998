"""Contract of persistence: a new store on the same SQLite file keeps every kind of state."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal
from pathlib import Path

from tests.sandbox.conftest import CHANNEL, DEMO, RIVAL, FakeWallClock
from worker.sandbox.store import SandboxStore
from worker.sandbox.store_bookings import BlackBooking
from worker.sandbox.store_inventory import Room


def _populate(store: SandboxStore) -> tuple[str, int]:
    """A token, a channel, a property with a room, tariff, closure, bookings and events."""
    token = store.issue_token(DEMO, ("read", "write"))
    owner = store.access.owner_of("demo")
    store.access.announce(owner, CHANNEL)
    channel = store.channel(owner, CHANNEL)
    uid = store.properties.create_property(channel, engine=True, property_name="P",
                                           remote_uid=1, country="GB", region_id=1113,
                                           ptype_id=7)  # fmt: skip
    prop = store.owned_property(channel, str(uid))
    store.properties.put_room(channel, prop, Room(0, "Double", "1", 7, 2))
    store.rates.set_base_price(channel, prop, Decimal("100"), 2, engine=True)
    store.rates.set_prices(channel, prop, [(date(2025, 3, 5), date(2025, 3, 6), Decimal(90))],
                           engine=True)  # fmt: skip
    black = BlackBooking(0, uid, "2025-03-10", "2025-03-11", [], text="paint")
    store.closures.add_black(channel, prop, black, engine=True)
    store.content.add_image(prop, "property", 0, "main.jpg")
    store.content.address(prop, {"street": "1 Quay", "town": "Exeter"}, "http://site")
    item = {"remote_reservation_id": "778812", "guest_info": {k: "v" for k in (
        "name", "surname", "email", "phone", "address", "post_code", "country_code",
        "language_id")}, "stay_infos": [{"property_id": uid, "date_from": "2025-04-01",
        "date_to": "2025-04-01", "room_type_id": 7, "room_type_name": "", "guest_number": 1,
        "client_price": 1, "channel_price": 1, "already_paid": 0}]}  # fmt: skip
    store.reservations.add_reservations(channel, [item], engine=True)
    store.book_on_site(uid, "2025-05-01", "2025-05-02")
    store.properties.review(prop)
    return token, uid


def _snapshot(store: SandboxStore, uid: int) -> str:
    owner = store.access.owner_of("demo")
    channel = store.channel(owner, CHANNEL)
    prop = store.owned_property(channel, str(uid))
    return json.dumps([
        store.properties_of("demo", CHANNEL), store.calendar(uid, "2025-03-01", "2025-03-12"),
        store.bookings(uid), store.blackbookings(uid),
        store.reservations.change_logs(channel, engine=True),
        store.reservations.list_bookings(channel, prop, engine=True),
        store.properties.engine_view(prop, site="http://site"), store.rates.list_prices(prop),
        store.properties.status(prop),
    ], sort_keys=True)  # fmt: skip


def test_new_store_on_same_file_keeps_everything(tmp_path: Path) -> None:
    """Properties, rooms, content, tariffs, closures, bookings, links, channels, log and tokens
    survive, in every view the API answers from."""
    clock = FakeWallClock()
    db = tmp_path / "sandbox.db"
    first = SandboxStore([DEMO, RIVAL], db_path=db, wall_clock=clock)
    token, uid = _populate(first)
    before = _snapshot(first, uid)
    first.close()
    second = SandboxStore([DEMO, RIVAL], db_path=db, wall_clock=clock)
    try:
        assert _snapshot(second, uid) == before
        assert second.token_state(f"Bearer {token}") == "valid"
        assert second.access.owner_of("rival") != second.access.owner_of("demo")
        new_uid = second.properties.create_property(
            second.channel(second.access.owner_of("demo"), CHANNEL), engine=True,
            property_name="Q", remote_uid=2, country="GB", region_id=1113, ptype_id=1,
        )  # fmt: skip
        assert new_uid == uid + 1  # id sequences continue, never reuse
    finally:
        second.close()


def test_forgotten_channels_and_revocations_persist(tmp_path: Path) -> None:
    """Losing the channel table and revoking tokens are durable too."""
    db = tmp_path / "sandbox.db"
    first = SandboxStore([DEMO], db_path=db)
    token = first.issue_token(DEMO, ("read",))
    first.access.announce(first.access.owner_of("demo"), CHANNEL)
    first.forget_channels()
    first.revoke_all_tokens()
    first.close()
    second = SandboxStore([DEMO], db_path=db)
    try:
        assert second.access.channel_id(second.access.owner_of("demo"), CHANNEL) == 0
        assert second.token_state(f"Bearer {token}") == "revoked"
    finally:
        second.close()
