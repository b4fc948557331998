"""The real engine's change-log answer of each channel, encoded once and served until it changes.

A site polls ``GET /cmf/properties/change/logs`` every few seconds, and on an ordinary day
nothing in it changes; encoding the same few hundred events again for every poll was most of a
busy sandbox's work. ``ChangeLogAnswers`` keeps each channel's last encoded answer with what it
was made from: the channel's properties with the last event id and the event count of each, and
the 14-day window's bounds. The answer is served again only while all of that still holds, so it
is byte for byte the one a fresh encoding would make; the check costs one look per property.
One entry per channel: it grows with the channels, never with the requests.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass

from worker.sandbox.payloads import Encoded
from worker.sandbox.store_bookings import Bookings
from worker.sandbox.store_inventory import Inventory
from worker.sandbox.store_operations import ChannelRef
from worker.sandbox.store_reservations import BookingOperations

Marks = tuple[tuple[int, int, int], ...]  # (property uid, last event id, event count) each


@dataclass(frozen=True)
class _Answer:
    marks: Marks
    since: float  # the window's start when it was encoded: older events were left out
    oldest: float  # the oldest event in it: the window may not start after it
    payload: Encoded


class ChangeLogAnswers:
    """Encoded change-log answers (engine mode), one per channel."""

    def __init__(self, inventory: Inventory, bookings: Bookings) -> None:
        self._inventory = inventory
        self._bookings = bookings
        self._answers: dict[str, _Answer] = {}

    def encoded(self, channel: ChannelRef) -> Encoded:
        """What ``BookingOperations.change_logs(channel, engine=True)`` encodes to, now."""
        owned = self._inventory.of_channel(channel.owner_id, channel.name)
        marks = tuple((p.property_uid, *self._bookings.log_mark(p.property_uid)) for p in owned)
        since = self._bookings.log_since()
        kept = self._answers.get(channel.key)
        if kept is not None and kept.marks == marks and kept.since <= since <= kept.oldest:
            return kept.payload
        grouped = self._bookings.recent_events({uid for uid, _, _ in marks}, since=since)
        answer = BookingOperations.change_log_view(grouped, engine=True)
        oldest = min((e.at for events in grouped.values() for e in events), default=math.inf)
        payload = Encoded(json.dumps(answer))
        self._answers[channel.key] = _Answer(marks, since, oldest, payload)
        return payload
