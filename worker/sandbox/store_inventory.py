"""Properties, their rooms, content and tariffs (spec §3.3–3.5), as plain domain objects.

A property belongs to the channel (owner id, channel name) that created it. A tariff starts with the
base price over today → +2 years, as one tariff set per room type the property had then (the real
engine prices room types, not properties); nightly prices and minimum stays set later override
single nights of every set. Money is kept as 2-decimal strings. Every change is written through to
the persistence. The content fields start as the real engine starts them (some ``None``).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from worker.sandbox import dictionaries as dicts
from worker.sandbox.forms import invalid, nights
from worker.sandbox.persistence import Ledger

TARIFF_YEARS = 2
TEXT_FIELDS = ("description", "checkin_times", "area_activities", "driving_directions",
               "airports", "othertransport", "terms", "permit_number")  # fmt: skip


@dataclass
class Room:
    """One bookable room of a property."""

    room_uid: int
    room_name: str
    room_number: str
    room_type_id: int
    max_people: int


@dataclass
class Property:
    """A property, the channel that owns it, and what the real engine keeps about it.

    ``room_snapshot`` is the engine's rooms cross-reference of the channel: every room of the
    property as ``[uid, type, max_people]`` when the channel last PUT a room (``None`` before);
    a single-unit property whose snapshot holds one room refuses further room PUTs.
    ``saved`` records that a full property save turned the engine's ``NULL`` columns into ``""``.
    """

    property_uid: int
    owner_id: int
    channel_name: str
    property_name: str
    remote_uid: str | int
    country: str
    region_id: int
    ptype_id: int
    published: bool = False
    rooms: list[Room] = field(default_factory=list)
    completed: bool = False
    room_snapshot: list[list[int]] | None = None
    street: str = ""
    town: str = ""
    postcode: str | None = None
    tel: str | None = None
    fax: str | None = None
    email: str = ""
    lat: str | None = None
    long: str | None = None
    texts: dict[str, str] = field(default_factory=dict)
    stars: int = 0
    superior: int = 0
    saved: bool = False
    images: dict[str, dict[str, list[str]]] = field(default_factory=dict)

    def room(self, room_uid: int) -> Room | None:
        return next((room for room in self.rooms if room.room_uid == room_uid), None)

    @property
    def channel_rooms(self) -> list[Room]:
        """The rooms the real engine books and prices for the channel: those of its rooms
        cross-reference (none before the channel PUT a room, none after it deleted one)."""
        linked = {uid for uid, _type, _people in self.room_snapshot or ()}
        return [room for room in self.rooms if room.room_uid in linked]

    @property
    def single_unit(self) -> bool:
        return dicts.is_single_unit(self.ptype_id)


@dataclass
class Tariff:
    """The base price over a window, plus per-night overrides; ``sets`` are the real engine's
    tariff sets, ``[tarifftype_id, room_type_id]`` each."""

    base_price: str
    max_people: int
    first_night: str
    last_night: str
    rates: dict[str, str] = field(default_factory=dict)
    minstays: dict[str, int] = field(default_factory=dict)
    sets: list[list[int]] = field(default_factory=list)

    def price(self, night: str) -> str:
        if night in self.rates:
            return self.rates[night]
        return self.base_price if self.first_night <= night <= self.last_night else "0.00"

    def covers(self, night: str) -> bool:
        return self.first_night <= night <= self.last_night

    def minstay(self, night: str) -> int:
        return self.minstays.get(night, 1)


def validate_location(country: str, region_id: int, ptype_id: int | None = None) -> None:
    """Country, region and property type must exist; like the real engine, the region is not
    checked against the country (region ids are site-wide)."""
    if country not in dicts.COUNTRY_NAMES:
        raise invalid("Country incorrect")
    if region_id not in dicts.REGIONS:
        raise invalid("Region id incorrect")
    if ptype_id is not None and ptype_id not in dicts.PROPERTY_TYPE_FLAGS:
        raise invalid("Property type id incorrect")


class Inventory:
    """Every property, room and tariff of the site.

    ``properties`` is read by the views and the tests; the per-channel index beside it is what
    keeps a channel's requests from scanning every other channel's properties. Both change only
    through ``save`` and ``delete``."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._db = ledger.persistence
        self.properties: dict[int, Property] = {}
        self._by_channel: dict[tuple[int, str], dict[int, Property]] = {}
        for row in self._db.load("property").values():
            self._index(_load_property(row))
        self.tariffs: dict[int, Tariff] = {
            int(k): Tariff(**v) for k, v in self._db.load("tariff").items()
        }

    def _index(self, prop: Property) -> None:
        uid = prop.property_uid
        old = self.properties.get(uid)
        if old is not None and _channel_of(old) != _channel_of(prop):
            self._unindex(old)
        self.properties[uid] = prop
        self._by_channel.setdefault(_channel_of(prop), {})[uid] = prop

    def _unindex(self, prop: Property) -> None:
        key = _channel_of(prop)
        owned = self._by_channel.get(key, {})
        owned.pop(prop.property_uid, None)
        if not owned:
            self._by_channel.pop(key, None)

    def save(self, prop: Property) -> None:
        self._index(prop)
        self._db.put("property", prop.property_uid, asdict(prop))

    def _save_tariff(self, uid: int, tariff: Tariff) -> None:
        self.tariffs[uid] = tariff
        self._db.put("tariff", uid, asdict(tariff))

    def of_channel(self, owner_id: int, channel_name: str) -> list[Property]:
        """The channel's properties, in the order they were created (or loaded)."""
        return list(self._by_channel.get((owner_id, channel_name), {}).values())

    def create(self, owner_id: int, channel_name: str, **fields: Any) -> Property:
        remote_uid = fields["remote_uid"]
        if any(p.remote_uid == remote_uid for p in self.of_channel(owner_id, channel_name)):
            raise invalid("That Remote ID already exists in the system.")
        uid = self._ledger.next_id("property")
        prop = Property(uid, owner_id, channel_name, **fields)
        self.save(prop)
        return prop

    def delete(self, uid: int) -> None:
        prop = self.properties.pop(uid, None)
        if prop is not None:
            self._unindex(prop)
        self.tariffs.pop(uid, None)
        self._db.delete("property", uid)
        self._db.delete("tariff", uid)

    def new_room(self, prop: Property, room: Room) -> Room:
        """Add ``room`` with a fresh uid."""
        room.room_uid = self._ledger.next_id("room")
        prop.rooms.append(room)
        self.save(prop)
        return room

    def put_room(self, prop: Property, room: Room) -> Room:
        """Create (``room_uid`` 0) or update a room; the room type must suit the property type."""
        if prop.ptype_id not in dicts.ROOM_TYPE_PTYPES.get(room.room_type_id, ()):
            raise invalid(f"Room type {room.room_type_id} cannot be used with this property type")
        if room.room_uid == 0:
            return self.new_room(prop, room)
        if prop.room(room.room_uid) is None:
            raise invalid(f"Room {room.room_uid} does not exist in property {prop.property_uid}")
        prop.rooms = [room if r.room_uid == room.room_uid else r for r in prop.rooms]
        self.save(prop)
        return room

    def delete_room(self, prop: Property, room_uid: int) -> None:
        if prop.room(room_uid) is None:
            raise invalid(f"Room {room_uid} does not exist in property {prop.property_uid}")
        prop.rooms = [r for r in prop.rooms if r.room_uid != room_uid]
        self.save(prop)

    def set_base_price(self, uid: int, base_price: Decimal, max_people: int, message: str) -> None:
        """The tariff, with one set per room type of the property's rooms (in room order)."""
        if uid in self.tariffs:
            raise invalid(message)
        types = list(dict.fromkeys(room.room_type_id for room in self.properties[uid].rooms))
        sets = [[self._ledger.next_id("tarifftype"), room_type] for room_type in types]
        today = self._ledger.today()
        last = _years_later(today, TARIFF_YEARS)
        tariff = Tariff(str(base_price), max_people, str(today), str(last), sets=sets)
        self._save_tariff(uid, tariff)

    def tariff(self, uid: int, message: str) -> Tariff:
        tariff = self.tariffs.get(uid)
        if tariff is None:
            raise invalid(message)
        return tariff

    def set_prices(
        self, tariff: Tariff, uid: int, entries: list[tuple[date, date, Decimal]], *, engine: bool
    ) -> None:
        """Apply entries in order: where ranges overlap the later entry wins. The real engine
        (``engine``) also stretches the tariff over priced nights outside it and resets their
        minimum stay to the tariff's default."""
        for first, last, rate in entries:
            priced = list(nights(first, last))
            tariff.rates.update(dict.fromkeys(priced, str(rate)))
            if engine:
                tariff.first_night = min(tariff.first_night, priced[0])
                tariff.last_night = max(tariff.last_night, priced[-1])
                for night in priced:
                    tariff.minstays.pop(night, None)
        self._save_tariff(uid, tariff)

    def set_minstays(
        self, tariff: Tariff, uid: int, entries: list[tuple[date, date, int]], *, engine: bool
    ) -> None:
        """The real engine (``engine``) only sets minimum stays of nights its tariff covers."""
        for first, last, minstay in entries:
            covered = [n for n in nights(first, last) if not engine or tariff.covers(n)]
            tariff.minstays.update(dict.fromkeys(covered, minstay))
        self._save_tariff(uid, tariff)


def _channel_of(prop: Property) -> tuple[int, str]:
    return prop.owner_id, prop.channel_name


def _load_property(row: dict[str, Any]) -> Property:
    rooms = [Room(**room) for room in row.pop("rooms")]
    return Property(**row, rooms=rooms)


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February has no twin in a common year
        return day.replace(year=day.year + years, day=28)
