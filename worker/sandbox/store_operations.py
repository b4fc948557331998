"""CMF operations on a channel's properties and rooms (spec §3.3–3.4), in both modes.

Each method is called after the caller's channel and property ownership were checked, and returns
the ``data.response`` payload as plain JSON values (or a ``Keyed`` one, answered under another
``data`` key). ``engine`` selects the real engine's behaviour; without it the method behaves as the
older servers of the spec do (legacy mode). Legacy shaping of the values happens in the envelope.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from worker.sandbox import dictionaries as dicts
from worker.sandbox import engine_views as views
from worker.sandbox.forms import invalid
from worker.sandbox.payloads import Keyed
from worker.sandbox.php import intval
from worker.sandbox.store_bookings import Bookings
from worker.sandbox.store_inventory import Inventory, Property, Room, validate_location

ENGINE_MAX_PEOPLE = 2  # the real engine stores every room as 2 guests, whatever is sent
SRP_REFUSAL = {"success": 0, "message": "Cannot add more than one room to an SRP"}
ROOM_HAS_BOOKINGS = (
    "There are bookings for this property, you must delete all bookings before attempting to "
    "delete rooms"
)
STATUS_TEXT = {"1": "Published", "2": "Approved (but not published)",
               "5": "Approved (but incomplete)"}  # fmt: skip


@dataclass(frozen=True)
class ChannelRef:
    """The channel a request acts for: (owner of the API client, channel name) and its id."""

    owner_id: int
    name: str
    channel_id: int

    @property
    def key(self) -> str:
        return f"{self.owner_id}:{self.name}"

    def log_fields(self) -> dict[str, Any]:
        """What a change-log event records about the channel that caused it."""
        return {"channel_name": self.name, "channel_id": self.channel_id, "user_id": self.owner_id}


def remote_uid_value(raw: str) -> int:
    """The engine casts ``remote_uid`` to an integer: ``"77abc"`` is 77, ``"OTA-1"`` is 0."""
    return intval(raw)


def status_code(prop: Property) -> str:
    """The real engine's property status: 1 published, 2 complete, 5 approved but incomplete."""
    return "1" if prop.published else "2" if prop.completed else "5"


class PropertyOperations:
    """Properties and rooms of one site, seen through a channel."""

    def __init__(self, inventory: Inventory, bookings: Bookings) -> None:
        self._inventory = inventory
        self._bookings = bookings

    def property_ids(self, channel: ChannelRef) -> dict[str, Any]:
        owned = self._inventory.of_channel(channel.owner_id, channel.name)
        return {
            str(p.property_uid): {"local_property_uid": p.property_uid,
                                  "remote_property_uid": p.remote_uid}
            for p in sorted(owned, key=lambda p: p.property_uid)
        }  # fmt: skip

    def create_property(self, channel: ChannelRef, *, engine: bool, **fields: Any) -> int:
        """A single-unit property gets its one room from the real engine right away."""
        validate_location(fields["country"], fields["region_id"], fields["ptype_id"])
        prop = self._inventory.create(channel.owner_id, channel.name, **fields)
        self._bookings.record(prop.property_uid, "property_created", **channel.log_fields())
        auto_type = dicts.AUTO_ROOM_TYPE.get(prop.ptype_id)
        if engine and auto_type is not None:
            room = Room(0, "", "", auto_type, dicts.AUTO_ROOM_MAX_PEOPLE)
            self._inventory.new_room(prop, room)
        return prop.property_uid

    @staticmethod
    def spec_view(prop: Property) -> dict[str, Any]:
        """The spec's property object (legacy mode, and the sandbox's own read-only views)."""
        return {
            "property_uid": prop.property_uid, "property_name": prop.property_name,
            "remote_uid": prop.remote_uid, "country": prop.country,
            "region_id": prop.region_id, "ptype_id": prop.ptype_id,
            "published": prop.published, "rooms": [asdict(room) for room in prop.rooms],
        }  # fmt: skip

    def engine_view(self, prop: Property, *, site: str) -> dict[str, Any]:
        """``GET /cmf/property/@uid`` as the real engine answers it."""
        events = self._bookings.event_count(prop.property_uid)
        tariff = self._inventory.tariffs.get(prop.property_uid)
        return views.property_object(prop, tariff, site=site, changelog_items=events)

    def delete_property(self, prop: Property) -> bool:
        self._inventory.delete(prop.property_uid)
        self._bookings.forget_property(prop.property_uid)
        return True

    def spec_review(self, prop: Property) -> dict[str, Any]:
        warnings = []
        if not prop.rooms:
            warnings.append("The property has no rooms")
        if prop.property_uid not in self._inventory.tariffs:
            warnings.append("The property has no base price")
        return {"property_complete": not warnings, "warnings": warnings}

    def review(self, prop: Property) -> dict[str, Any]:
        """The real engine's review; a passing one is what marks the property complete."""
        has_tariff = prop.property_uid in self._inventory.tariffs
        warnings = views.review_warnings(prop, has_tariff=has_tariff)
        if not warnings and not prop.completed:
            prop.completed = True
            self._inventory.save(prop)
        return {"property_complete": not warnings, "warnings": warnings}

    def spec_publish(self, prop: Property) -> dict[str, Any]:
        if self.spec_review(prop)["property_complete"]:
            prop.published = True
            self._inventory.save(prop)
        return {"published": prop.published}

    def publish(self, prop: Property) -> dict[str, Any]:
        """Only a complete property publishes; the answer carries the status from before."""
        code = status_code(prop)
        if code == "2":
            prop.published = True
            self._inventory.save(prop)
        return {"published": code != "5", "property_status_response_code": code,
                "property_status_response_text": STATUS_TEXT[code]}  # fmt: skip

    def unpublish(self, prop: Property) -> bool:
        if not prop.published:
            return False
        prop.published = False
        self._inventory.save(prop)
        return True

    @staticmethod
    def status(prop: Property) -> dict[str, str]:
        code = status_code(prop)
        return {"status_code": code, "status_text": STATUS_TEXT[code]}

    @staticmethod
    def rooms_view(prop: Property, *, engine: bool) -> list[dict[str, Any]]:
        if not engine:
            return [asdict(room) for room in prop.rooms]
        return [views.room_object(room) for room in prop.rooms]

    def spec_put_room(self, channel: ChannelRef, prop: Property, room: Room) -> dict[str, Any]:
        created = room.room_uid == 0
        stored = self._inventory.put_room(prop, room)
        self._log_room(channel, prop, stored.room_uid, created=created)
        return {"room_uid": stored.room_uid}

    def put_room(self, channel: ChannelRef, prop: Property, room: Room) -> Any:
        """The real engine's ``PUT room``: room type checks, the single-unit refusal, 2 guests,
        and an unknown ``room_uid`` "updated" without effect; then the rooms snapshot."""
        if room.room_type_id == 0:
            raise invalid("Room type not set ")
        if prop.ptype_id not in dicts.ROOM_TYPE_PTYPES.get(room.room_type_id, ()):
            raise invalid("Room type not valid for this property type")
        if prop.single_unit and prop.room_snapshot is not None and len(prop.room_snapshot) == 1:
            return Keyed("property", dict(SRP_REFUSAL))
        room.max_people = ENGINE_MAX_PEOPLE
        created = room.room_uid == 0
        if created:
            self._inventory.new_room(prop, room)
        elif prop.room(room.room_uid) is not None:
            prop.rooms = [room if r.room_uid == room.room_uid else r for r in prop.rooms]
        prop.room_snapshot = [[r.room_uid, r.room_type_id, r.max_people] for r in prop.rooms]
        self._inventory.save(prop)
        self._log_room(channel, prop, room.room_uid, created=created)
        return {"room_uid": room.room_uid}

    def _log_room(
        self, channel: ChannelRef, prop: Property, room_uid: int, *, created: bool
    ) -> None:
        action = "room_added" if created else "room_updated"
        self._bookings.record(prop.property_uid, action, **channel.log_fields(), room_uid=room_uid)

    def delete_room(self, prop: Property, room_uid: int) -> Any:
        if any(b.room_uid == room_uid for b in self._bookings.of_property(prop.property_uid)):
            return {"success": False, "message": "The room has bookings and cannot be deleted"}
        self._inventory.delete_room(prop, room_uid)
        return True

    def engine_delete_room(self, prop: Property, room_uid: int) -> Any:
        """Any live booking or closure of the property refuses it; a deletion also drops the
        channel's rooms cross-reference, so the property has no bookable room until the next
        ``PUT room`` (the real engine then answers no calendar and no reservation)."""
        uid = prop.property_uid
        if any(b.active for b in self._bookings.of_property(uid)) or self._bookings.blacks_of(uid):
            return Keyed("delete_tariffs", {"success": False, "error": ROOM_HAS_BOOKINGS})
        self._inventory.delete_room(prop, room_uid)
        prop.room_snapshot = None
        self._inventory.save(prop)
        return True
