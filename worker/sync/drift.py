"""Pure decisions on drift from the site's side: which change-log events are edits made on the
site that may have undone what this channel sent, and what to redo for them.

The bookings job reads the change log anyway (``/cmf/properties/change/logs``, 14 days); an
event on one of our properties that this channel did not cause (the hotel on its own site, or
another channel) and whose action touches what we send is *drift*:

- prices, minimum stays and closures (``tariffs_updated``, ``blackbooking_created``,
  ``blackbooking_deleted``, and ``booking_cancelled``, which is how the real engine logs a
  deleted closure): the property's reconciled day is forgotten, so the next ARI run re-reads
  its calendar and closures and the diff sends back only what differs from the inventory;
- rooms (``room_added``, ``room_updated``, ``room_deleted``): the rooms' synced day is
  forgotten, so the next properties run re-reads the site's rooms.

Each event is acted on once: state keeps the newest drift event acted on per property
(``state.drift_seen``), and only newer ones count. An edit the inventory agrees with costs one
re-read and no write, so the worker never fights it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

from worker.api.models import ChangeLogEvent

Redo = Literal["ari_reconcile", "rooms_check"]

REDO_OF_ACTION: dict[str, Redo] = {
    "tariffs_updated": "ari_reconcile",
    "blackbooking_created": "ari_reconcile",
    "blackbooking_added": "ari_reconcile",
    "blackbooking_deleted": "ari_reconcile",
    "booking_cancelled": "ari_reconcile",
    "room_added": "rooms_check",
    "room_updated": "rooms_check",
    "room_deleted": "rooms_check",
}


@dataclass(frozen=True, slots=True)
class Drift:
    """New site edits of one property: the newest event's id, the actions, what to redo."""

    newest_event: int
    actions: tuple[str, ...]
    redo: tuple[Redo, ...]

    @property
    def reconcile(self) -> bool:
        return "ari_reconcile" in self.redo

    @property
    def rooms(self) -> bool:
        return "rooms_check" in self.redo


def is_drift(event: ChangeLogEvent, channel: str) -> bool:
    """An edit this channel did not make, of something this channel sends."""
    return event.channel_name != channel and event.action in REDO_OF_ACTION


def site_drift(events: Iterable[ChangeLogEvent], channel: str, seen: int) -> Drift | None:
    """The drift among a property's events newer than ``seen``; None when there is none."""
    new = [e for e in events if e.event_id > seen and is_drift(e, channel)]
    if not new:
        return None
    actions = tuple(sorted({e.action for e in new}))
    redo = tuple(sorted({REDO_OF_ACTION[action] for action in actions}))
    return Drift(max(e.event_id for e in new), actions, redo)
