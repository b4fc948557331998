"""Properties, their rooms and their tariffs (spec §3.3–3.5), as plain domain objects.

A property belongs to the channel (owner id, channel name) that created it. A tariff starts with the
base price over today → +2 years; nightly prices and minimum stays set later override single
nights. Money is kept as 2-decimal strings. Every change is written through to the persistence.
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
    """A property and the channel that owns it."""

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

    def room(self, room_uid: int) -> Room | None:
        return next((room for room in self.rooms if room.room_uid == room_uid), None)


@dataclass
class Tariff:
    """The base price over a window, plus per-night overrides."""

    base_price: str
    max_people: int
    first_night: str
    last_night: str
    rates: dict[str, str] = field(default_factory=dict)
    minstays: dict[str, int] = field(default_factory=dict)

    def price(self, night: str) -> str:
        if night in self.rates:
            return self.rates[night]
        return self.base_price if self.first_night <= night <= self.last_night else "0.00"


def validate_location(country: str, region_id: int, ptype_id: int) -> None:
    """Country, region and property type must exist, and the region must lie in the country."""
    if country not in dicts.COUNTRY_NAMES:
        raise invalid(f"Country {country} does not exist")
    region = dicts.REGIONS.get(region_id)
    if region is None or region.countrycode != country:
        raise invalid(f"Region {region_id} does not exist in country {country}")
    if ptype_id not in dicts.PROPERTY_TYPE_FLAGS:
        raise invalid(f"Property type {ptype_id} does not exist")


class Inventory:
    """Every property, room and tariff of the site."""

    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger
        self._db = ledger.persistence
        self.properties: dict[int, Property] = {
            int(k): _load_property(v) for k, v in self._db.load("property").items()
        }
        self.tariffs: dict[int, Tariff] = {
            int(k): Tariff(**v) for k, v in self._db.load("tariff").items()
        }

    def save(self, prop: Property) -> None:
        self.properties[prop.property_uid] = prop
        self._db.put("property", prop.property_uid, asdict(prop))

    def _save_tariff(self, uid: int, tariff: Tariff) -> None:
        self.tariffs[uid] = tariff
        self._db.put("tariff", uid, asdict(tariff))

    def of_channel(self, owner_id: int, channel_name: str) -> list[Property]:
        return [
            p
            for p in self.properties.values()
            if p.owner_id == owner_id and p.channel_name == channel_name
        ]

    def create(self, owner_id: int, channel_name: str, **fields: Any) -> Property:
        remote_uid = fields["remote_uid"]
        if any(p.remote_uid == remote_uid for p in self.of_channel(owner_id, channel_name)):
            raise invalid("That Remote ID already exists in the system.")
        uid = self._ledger.next_id("property")
        prop = Property(uid, owner_id, channel_name, **fields)
        self.save(prop)
        return prop

    def delete(self, uid: int) -> None:
        self.properties.pop(uid, None)
        self.tariffs.pop(uid, None)
        self._db.delete("property", uid)
        self._db.delete("tariff", uid)

    def put_room(self, prop: Property, room: Room) -> Room:
        """Create (``room_uid`` 0) or update a room; the room type must suit the property type."""
        if prop.ptype_id not in dicts.ROOM_TYPE_PTYPES.get(room.room_type_id, ()):
            raise invalid(f"Room type {room.room_type_id} cannot be used with this property type")
        if room.room_uid == 0:
            room.room_uid = self._ledger.next_id("room")
            prop.rooms.append(room)
        elif prop.room(room.room_uid) is None:
            raise invalid(f"Room {room.room_uid} does not exist in property {prop.property_uid}")
        else:
            prop.rooms = [room if r.room_uid == room.room_uid else r for r in prop.rooms]
        self.save(prop)
        return room

    def delete_room(self, prop: Property, room_uid: int) -> None:
        if prop.room(room_uid) is None:
            raise invalid(f"Room {room_uid} does not exist in property {prop.property_uid}")
        prop.rooms = [r for r in prop.rooms if r.room_uid != room_uid]
        self.save(prop)

    def set_base_price(self, uid: int, base_price: Decimal, max_people: int) -> None:
        if uid in self.tariffs:
            raise invalid("A tariff already exists for this property")
        today = self._ledger.today()
        last = _years_later(today, TARIFF_YEARS)
        self._save_tariff(uid, Tariff(str(base_price), max_people, str(today), str(last)))

    def _tariff(self, uid: int) -> Tariff:
        tariff = self.tariffs.get(uid)
        if tariff is None:
            raise invalid("First set the Base rate")
        return tariff

    def set_prices(self, uid: int, entries: list[tuple[date, date, Decimal]]) -> None:
        """Apply entries in order: where ranges overlap the later entry wins."""
        tariff = self._tariff(uid)
        for first, last, rate in entries:
            tariff.rates.update(dict.fromkeys(nights(first, last), str(rate)))
        self._save_tariff(uid, tariff)

    def set_minstays(self, uid: int, entries: list[tuple[date, date, int]]) -> None:
        tariff = self._tariff(uid)
        for first, last, minstay in entries:
            tariff.minstays.update(dict.fromkeys(nights(first, last), minstay))
        self._save_tariff(uid, tariff)


def _load_property(row: dict[str, Any]) -> Property:
    rooms = [Room(**room) for room in row.pop("rooms")]
    return Property(**row, rooms=rooms)


def _years_later(day: date, years: int) -> date:
    try:
        return day.replace(year=day.year + years)
    except ValueError:  # 29 February has no twin in a common year
        return day.replace(year=day.year + years, day=28)
