"""The change log (spec §3.7 ``properties/change/logs``): events of the last 14 days.

``ChangeLog`` is the part of ``Bookings`` that records events and answers which ones are recent;
``record_booking`` and ``record_cancellation`` log what the real engine logs around a booking (its
invoice, the property's state) so that a change log reads as long as a real one.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from worker.sandbox.persistence import Ledger, Persistence


class LoggedBooking(Protocol):
    """What the change log reads of a booking (``store_bookings.Booking`` has it)."""

    property_uid: int
    invoice_id: int
    booking_id: int


LOG_DAYS = 14
STAMP = "%Y-%m-%d %H:%M:%S"


@dataclass
class Event:
    """One change-log entry; ``data`` holds what the real engine adds (room or contract uid)."""

    event_id: int
    property_uid: int
    action: str
    date: str
    channel_name: str
    at: float
    channel_id: int = 0
    user_id: int = 0
    data: dict[str, Any] = field(default_factory=dict)

    def spec_view(self) -> dict[str, Any]:
        return {
            "event_id": self.event_id,
            "property_uid": self.property_uid,
            "action": self.action,
            "date": self.date,
            "channel_data": {"channel_name": self.channel_name},
        }


class ChangeLog:
    """Events in id (= time) order, written through to the persistence.

    ``events`` holds them all; the per-property index beside it (the same events, in the same
    order) is what a channel's change log reads, so its cost is that of its own properties'
    events, however many other channels the site has. Both change only in ``record``."""

    _ledger: Ledger
    _db: Persistence
    events: dict[int, Event]
    _events_of: dict[int, dict[int, Event]]

    def _load_events(self) -> None:
        events = (Event(**row) for row in self._db.load("event").values())
        self.events = {e.event_id: e for e in sorted(events, key=lambda e: e.event_id)}
        self._events_of = {}
        for event in self.events.values():
            self._events_of.setdefault(event.property_uid, {})[event.event_id] = event

    def event_count(self, uid: int) -> int:
        """How many events of the property the log holds."""
        return len(self._events_of.get(uid, ()))

    def _stamp(self) -> str:
        return self._ledger.now().strftime(STAMP)

    def record(
        self,
        uid: int,
        action: str,
        channel_name: str,
        *,
        channel_id: int = 0,
        user_id: int = 0,
        **data: Any,
    ) -> None:
        """Log an event and drop the ones older than the log keeps.

        An empty ``channel_name`` marks an event from the hotel's own site (no channel)."""
        event_id = self._ledger.next_id("event")
        now = self._ledger.wall_clock()
        event = Event(event_id, uid, action, self._stamp(), channel_name, now, channel_id,
                      user_id, data)  # fmt: skip
        self.events[event_id] = event
        self._events_of.setdefault(uid, {})[event_id] = event
        self._db.put("event", event_id, asdict(event))
        # Events are kept in id (= time) order, so the expired ones are at the front.
        while self.events:
            old = next(iter(self.events.values()))
            if old.at >= now - LOG_DAYS * 86400:
                break
            self._drop(old)

    def _drop(self, event: Event) -> None:
        del self.events[event.event_id]
        same_property = self._events_of[event.property_uid]
        del same_property[event.event_id]
        if not same_property:
            del self._events_of[event.property_uid]
        self._db.delete("event", event.event_id)

    def record_booking(self, booking: LoggedBooking, who: dict[str, Any], *, engine: bool) -> None:
        """``booking_added``; the real engine logs the invoice and the property around it."""
        uid, invoice = booking.property_uid, booking.invoice_id
        if engine and invoice:
            self.record(uid, "property_settings_updated", **who)
            self.record(uid, "invoice_created", **who, invoice_uid=invoice)
            self.record(uid, "invoice_updated", **who, invoice_uid=invoice)
            self.record(uid, "invoice_updated", **who, invoice_uid=invoice, task=False)
        self.record(uid, "booking_added", **who, contract_uid=booking.booking_id)
        if engine and invoice:
            self.record(uid, "property_state_change", **who)

    def record_cancellation(self, booking: LoggedBooking, who: dict[str, Any]) -> None:
        """``booking_cancelled``, after the invoice's cancellation when there is one."""
        if booking.invoice_id:
            self.record(booking.property_uid, "invoice_updated", **who,
                        invoice_uid=booking.invoice_id)  # fmt: skip
            self.record(booking.property_uid, "invoice_cancelled", **who,
                        invoice_uid=booking.invoice_id)  # fmt: skip
        self.record(booking.property_uid, "booking_cancelled", **who,
                    contract_uid=booking.booking_id)  # fmt: skip

    def log_since(self) -> float:
        """When the window of the log starts now (epoch seconds)."""
        return self._ledger.wall_clock() - LOG_DAYS * 86400

    def log_mark(self, uid: int) -> tuple[int, int]:
        """``(last event id, event count)`` of the property: it changes with any of its events."""
        events = self._events_of.get(uid)
        return (next(reversed(events)), len(events)) if events else (0, 0)

    def recent_events(self, uids: set[int], since: float | None = None) -> dict[int, list[Event]]:
        """The events of those properties since ``since`` (the log's window by default), in id
        order, grouped by property; the groups in the order of their first event (as one pass
        over the whole log orders them)."""
        since = self.log_since() if since is None else since
        groups = []
        for uid in uids:
            recent = [e for e in self._events_of.get(uid, {}).values() if e.at >= since]
            if recent:
                groups.append((recent[0].event_id, uid, recent))
        groups.sort(key=lambda group: group[0])
        return {uid: recent for _first, uid, recent in groups}
