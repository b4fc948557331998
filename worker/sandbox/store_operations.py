"""CMF operations on a channel's properties: content, rooms, rates and calendar (spec §3.3–3.5).

Each method is called after the caller's channel and property ownership were checked, and returns
the modern ``data.response`` payload as plain JSON values. Legacy shaping happens in the envelope.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from worker.sandbox.forms import invalid, nights
from worker.sandbox.store_bookings import Bookings
from worker.sandbox.store_inventory import Inventory, Property, Room, validate_location

MAX_CALENDAR_NIGHTS = 3 * 366


@dataclass(frozen=True)
class ChannelRef:
    """The channel a request acts for: (owner of the API client, channel name) and its id."""

    owner_id: int
    name: str
    channel_id: int

    @property
    def key(self) -> str:
        return f"{self.owner_id}:{self.name}"


def remote_uid_value(raw: str, *, legacy: bool) -> str | int:
    """Old servers cast ``remote_uid`` to an integer: a non-numeric remote id becomes ``0``."""
    if not legacy:
        return raw
    return int(raw) if raw.isdigit() else 0


class PropertyOperations:
    """Properties, rooms and rates of one site, seen through a channel."""

    def __init__(self, inventory: Inventory, bookings: Bookings) -> None:
        self._inventory = inventory
        self._bookings = bookings

    def property_ids(self, channel: ChannelRef) -> dict[str, Any]:
        owned = self._inventory.of_channel(channel.owner_id, channel.name)
        return {
            str(p.property_uid): {
                "local_property_uid": p.property_uid,
                "remote_property_uid": p.remote_uid,
            }
            for p in sorted(owned, key=lambda p: p.property_uid)
        }

    def create_property(self, channel: ChannelRef, **fields: Any) -> int:
        validate_location(fields["country"], fields["region_id"], fields["ptype_id"])
        prop = self._inventory.create(channel.owner_id, channel.name, **fields)
        self._bookings.record(prop.property_uid, "property_added", channel.name)
        return prop.property_uid

    @staticmethod
    def property_view(prop: Property) -> dict[str, Any]:
        body = asdict(prop)
        del body["owner_id"], body["channel_name"]
        return body

    def delete_property(self, prop: Property) -> bool:
        self._inventory.delete(prop.property_uid)
        self._bookings.forget_property(prop.property_uid)
        return True

    def review(self, prop: Property) -> dict[str, Any]:
        warnings = []
        if not prop.rooms:
            warnings.append("The property has no rooms")
        if prop.property_uid not in self._inventory.tariffs:
            warnings.append("The property has no base price")
        return {"property_complete": not warnings, "warnings": warnings}

    def publish(self, prop: Property) -> dict[str, Any]:
        if self.review(prop)["property_complete"]:
            prop.published = True
            self._inventory.save(prop)
        return {"published": prop.published}

    @staticmethod
    def rooms_view(prop: Property) -> list[dict[str, Any]]:
        return [asdict(room) for room in prop.rooms]

    def put_room(self, prop: Property, room: Room) -> dict[str, Any]:
        return {"room_uid": self._inventory.put_room(prop, room).room_uid}

    def delete_room(self, prop: Property, room_uid: int) -> Any:
        if any(b.room_uid == room_uid for b in self._bookings.of_property(prop.property_uid)):
            return {"success": False, "message": "The room has bookings and cannot be deleted"}
        self._inventory.delete_room(prop, room_uid)
        return True

    def set_base_price(
        self, channel: ChannelRef, prop: Property, price: Decimal, people: int
    ) -> bool:
        self._inventory.set_base_price(prop.property_uid, price, people)
        self._bookings.record(prop.property_uid, "tariffs_updated", channel.name)
        return True

    def set_prices(
        self, channel: ChannelRef, prop: Property, entries: list[tuple[date, date, Decimal]]
    ) -> bool:
        self._inventory.set_prices(prop.property_uid, entries)
        self._bookings.record(prop.property_uid, "tariffs_updated", channel.name)
        return True

    def set_minstays(
        self, channel: ChannelRef, prop: Property, entries: list[tuple[date, date, int]]
    ) -> bool:
        self._inventory.set_minstays(prop.property_uid, entries)
        self._bookings.record(prop.property_uid, "minstays_updated", channel.name)
        return True

    def calendar(self, uid: int, first: date, last: date) -> dict[str, dict[str, Any]]:
        """Price, minimum stay and closure of every night from ``first`` to ``last``."""
        if (last - first).days >= MAX_CALENDAR_NIGHTS:
            raise invalid("The date range is too long")
        tariff = self._inventory.tariffs.get(uid)
        blocked: set[str] = set()
        for black in self._bookings.blacks_of(uid):
            if black.date_from <= last.isoformat() and first.isoformat() <= black.date_to:
                blocked.update(nights(date.fromisoformat(black.date_from),
                                      date.fromisoformat(black.date_to)))  # fmt: skip
        return {
            night: {
                "price": tariff.price(night) if tariff else "0.00",
                "minstay": tariff.minstays.get(night, 1) if tariff else 1,
                "is_blocked": night in blocked,
            }
            for night in nights(first, last)
        }
