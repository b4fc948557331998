"""State for one property written through every writer of the store, and read back through every
reader: the add-a-column and forget-a-property tests compare these views."""

from __future__ import annotations

import inspect
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import Any, cast

from worker.state import ClosureRecord, PushedCell, StateStore
from worker.testing import FakeClock

NOW = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
T0 = NOW.timestamp()
D1, D2, D3 = date(2026, 12, 1), date(2026, 12, 2), date(2026, 12, 3)
# Not table queries: the lifecycle, and what the forget test itself exercises.
NOT_QUERIES = {"open", "close", "schema_version", "forget_property"}


def fixed_clock() -> FakeClock:
    """A clock whose wall reads ``NOW`` until advanced."""
    return FakeClock(wall_start=T0)


def store_queries() -> set[str]:
    """The names of the store's public coroutine methods that run SQL on the tables."""
    names = {n for n in dir(StateStore) if not n.startswith("_")}
    methods = {n for n in names if inspect.iscoroutinefunction(getattr(StateStore, n))}
    return methods - NOT_QUERIES


class Recorder:
    """Stands in for a store and notes the name of every method called through it."""

    def __init__(self, store: StateStore) -> None:
        self._store = store
        self.called: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        self.called.add(name)
        return getattr(self._store, name)

    def as_store(self) -> StateStore:
        return cast(StateStore, self)


def _booking(uid: int, n: int) -> int:
    return uid * 1000 + n


async def populate(store: StateStore, remote: str, uid: int) -> None:
    """Rows for the property in every table, through every writer."""
    await _properties_and_rooms(store, remote, uid)
    await _ari(store, uid)
    await _progress(store, uid)
    await _reservations(store, uid)
    await _bookings_and_outbox(store, uid)
    await store.record_content(uid, "texts", {"name": f"hotel {uid}"})
    await store.record_content(uid, "images", {"sent": ["a.jpg"]})
    await store.forget_content(uid, "images")
    await store.record_job_outcome(uid, "ari", None)
    await store.record_job_outcome(uid, "ari", "ServerError: HTTP 503")


async def _properties_and_rooms(store: StateStore, remote: str, uid: int) -> None:
    await store.record_property_intent(remote)
    await store.record_property_created(remote, uid)
    await store.record_property_published(remote)
    await store.record_property_unpublished(remote)
    await store.record_property_published(remote)
    await store.record_room(uid, "A", uid * 10, sent="digest-A")
    await store.record_room(uid, "B", uid * 10 + 1)
    await store.forget_room(uid, "B")


async def _ari(store: StateStore, uid: int) -> None:
    cell = PushedCell(Decimal("120.50"), 2)
    await store.record_pushed(uid, {D1: cell, D2: cell, D3: PushedCell(Decimal("99"), 1)})
    await store.forget_pushed(uid, before=D2)
    await store.record_closure(uid, ClosureRecord("maint", None, D1, D3, (uid * 10,)))
    await store.record_closure(uid, ClosureRecord("maint", 555, D1, D3, (uid * 10,)))
    await store.record_closure(uid, ClosureRecord("gone", None, D2, D3))
    await store.forget_closure(uid, "gone")


async def _progress(store: StateStore, uid: int) -> None:
    await store.mark_reconciled(uid, D1)
    await store.mark_base_price(uid)
    await store.mark_rooms_synced(uid, D1, f"fingerprint-{uid}")
    await store.mark_bookings_read(uid, 12, D1)
    await store.mark_drift(uid, 9, reconcile=False, rooms=False)


async def _reservations(store: StateStore, uid: int) -> None:
    pushed, refused = f"OTA-{uid}-1", f"OTA-{uid}-2"
    await store.record_reservation(pushed, uid, "intent", site_id=f"9{uid}")
    await store.record_reservation(pushed, uid, "pushed", booking_ids=(_booking(uid, 1),))
    await store.remember_push(pushed, '{"fields": {}, "last_night": "2026-12-05"}')
    await store.record_reservation(refused, uid, "failed", message="no", rejected_digest="d")


async def _bookings_and_outbox(store: StateStore, uid: int) -> None:
    await store.record_booking_delivered(uid, _booking(uid, 1), "r1")
    await store.record_booking_parked(uid, _booking(uid, 2), "r2", "unexpected shape")
    await store.record_booking_delivered(uid, _booking(uid, 3), "r3")
    await store.retain_booking_revisions(uid, [_booking(uid, 1), _booking(uid, 2)])
    for n in (1, 2, 3):
        revision = f"{uid}:{n}"
        body = revision.encode()
        await store.enqueue_webhook(
            revision, body, property_uid=uid, booking_id=_booking(uid, 1), now=T0 + n
        )
    await store.webhook_delivered(f"{uid}:3")
    await store.webhook_failed(f"{uid}:1", "HTTP 503", next_at=T0 + 60)
    await store.dead_letter_webhooks(queued_before=T0 + 2, now=T0 + 5, revision=f"{uid}:2")
    await store.redrive_webhooks(f"{uid}:none", now=T0 + 5)  # nothing dead by that name


async def property_view(store: StateStore, remote: str, uid: int) -> dict[str, Any]:
    """Everything the store says about one property, through every per-property reader."""
    return {
        "property": await store.get_property(remote),
        "rooms": await store.get_rooms(uid),
        "room_digests": await store.get_room_digests(uid),
        "pushed": await store.get_pushed(uid),
        "closures": await store.get_closures(uid),
        "reconciled_on": await store.reconciled_on(uid),
        "base_price": await store.has_base_price(uid),
        "rooms_synced": await store.rooms_synced(uid),
        "bookings_read": await store.bookings_read(uid),
        "drift_seen": await store.drift_seen(uid),
        # The batch readers, for this property (``tests/test_state_batch.py`` compares them).
        "bookings_read_all": (await store.bookings_read_all([uid]))[uid],
        "drift_seen_all": (await store.drift_seen_all([uid]))[uid],
        "ari_progress_all": (await store.ari_progress_all([uid]))[uid],
        "pushed_digest": (await store.pushed_digests([uid])).get(uid),
        "reservations_by_id": await store.reservations_by_id([f"OTA-{uid}-1", f"OTA-{uid}-2"]),
        "reservation": await store.get_reservation(f"OTA-{uid}-1"),
        "reservations": await store.reservations_of(uid),
        "booking_ids": await store.pushed_booking_ids(uid),
        "revisions": await store.booking_revisions(uid),
        "content": await store.get_content(uid),
        "outcomes": await store.job_outcomes(uid),
    }


async def overview(store: StateStore) -> dict[str, Any]:
    """What the store says across properties, through every global reader."""
    return {
        "properties": await store.list_properties(),
        "published": await store.list_properties("published"),
        "failed": await store.list_reservations("failed", "intent"),
        "held": await store.held_reservations(),
        "parked": await store.parked_booking_count(),
        "due": await store.due_webhooks(T0 + 100, limit=10, stepped_s=3600),
        "next_at": await store.next_webhook_at(),
        "counts": await store.outbox_counts(),
        "dead": await store.dead_letters(),
    }
