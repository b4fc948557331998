"""Base price, nightly prices, minimum stays, the calendar and the price list (spec §3.5).

The real engine (``engine``) keeps one tariff set per room type; it has a calendar only for a
property whose rooms the channel PUT (``Property.channel_rooms``); its calendar nights carry only
``minstay`` (inside the tariff) and ``is_blocked``, plus every night of every live booking or
closure outside the asked range; a property without tariffs answers ``data.calendar`` with
``success: false``; per-night prices are read from ``GET list/prices``. Older servers (legacy)
answer prices in the calendar. ``calendar`` (the spec's shape) is also the sandbox's own read view.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from worker.sandbox.engine_views import segments
from worker.sandbox.forms import invalid, nights
from worker.sandbox.payloads import Keyed
from worker.sandbox.php import php_array, php_number
from worker.sandbox.store_bookings import Bookings
from worker.sandbox.store_inventory import Inventory, Property, Tariff
from worker.sandbox.store_operations import ChannelRef

MAX_CALENDAR_NIGHTS = 3 * 366
VAT = 1.2  # the real site's default tax rate: prices are shown excluding 20 % VAT
TARIFFS_EXIST = (
    "Tariffs already exist for this property, use the Property Minstays and Property Prices "
    "endpoints to set prices for different periods"
)
NO_TARIFF_YET = (
    "Tariffs don't yet exist for this property. First set the Base rate, then you can use this "
    "feature to fine-tune things."
)
NO_TARIFF_CALENDAR = "There are no tariffs for this property, cannot return the completed calendar"
NO_TARIFF_PRICES = "There are no tariffs for this property, cannot return the base price"


class RateOperations:
    """Tariffs and the nights they price, of one site."""

    def __init__(self, inventory: Inventory, bookings: Bookings) -> None:
        self._inventory = inventory
        self._bookings = bookings

    def set_base_price(
        self, channel: ChannelRef, prop: Property, price: Decimal, people: int, *, engine: bool
    ) -> bool:
        """The real engine answers ``true`` for a property without rooms and prices nothing."""
        if engine and not prop.rooms and prop.property_uid not in self._inventory.tariffs:
            return True
        message = TARIFFS_EXIST if engine else "A tariff already exists for this property"
        self._inventory.set_base_price(prop.property_uid, price, people, message)
        sets = len(self._inventory.tariffs[prop.property_uid].sets) if engine else 1
        for index in range(max(sets, 1)):  # the real engine logs each set, only the first
            self._bookings.record(  # with its "task"
                prop.property_uid, "tariffs_updated", **channel.log_fields(), task=index == 0
            )
        return True

    def _tariff(self, prop: Property, *, engine: bool) -> Tariff:
        message = NO_TARIFF_YET if engine else "First set the Base rate"
        return self._inventory.tariff(prop.property_uid, message)

    def set_prices(
        self,
        channel: ChannelRef,
        prop: Property,
        entries: list[tuple[date, date, Decimal]],
        *,
        engine: bool,
    ) -> bool:
        tariff = self._tariff(prop, engine=engine)
        self._inventory.set_prices(tariff, prop.property_uid, entries, engine=engine)
        self._bookings.record(prop.property_uid, "tariffs_updated", **channel.log_fields())
        return True

    def set_minstays(
        self, channel: ChannelRef, prop: Property, entries: list[tuple[date, date, int]], *,
        engine: bool,
    ) -> bool:  # fmt: skip
        tariff = self._tariff(prop, engine=engine)
        self._inventory.set_minstays(tariff, prop.property_uid, entries, engine=engine)
        self._bookings.record(prop.property_uid, "tariffs_updated", **channel.log_fields())
        return True

    def _blocked(self, uid: int, first: date, last: date) -> set[str]:
        blocked: set[str] = set()
        for black in self._bookings.blacks_of(uid):
            if black.overlaps(first.isoformat(), last.isoformat()):
                blocked.update(nights(date.fromisoformat(black.date_from),
                                      date.fromisoformat(black.date_to)))  # fmt: skip
        return blocked

    def calendar(self, uid: int, first: date, last: date) -> dict[str, dict[str, Any]]:
        """Price, minimum stay and closure of every night from ``first`` to ``last``."""
        if (last - first).days >= MAX_CALENDAR_NIGHTS:
            raise invalid("The date range is too long")
        tariff = self._inventory.tariffs.get(uid)
        blocked = self._blocked(uid, first, last)
        return {
            night: {
                "price": tariff.price(night) if tariff else "0.00",
                "minstay": tariff.minstay(night) if tariff else 1,
                "is_blocked": night in blocked,
            }
            for night in nights(first, last)
        }

    def engine_calendar(self, prop: Property, first: date, last: date) -> Any:
        """The real engine's calendar (see the module docstring)."""
        if not prop.channel_rooms:
            raise invalid("There are no rooms for this property.")
        tariff = self._inventory.tariffs.get(prop.property_uid)
        if tariff is None or not tariff.sets:
            return Keyed("calendar", {"success": False, "error": NO_TARIFF_CALENDAR})
        if (last - first).days >= MAX_CALENDAR_NIGHTS:
            raise invalid("The date range is too long")
        blocked = self._blocked(prop.property_uid, first, last)
        answer: dict[str, dict[str, Any]] = {}
        for night in nights(first, last):
            cell = {"minstay": tariff.minstay(night)} if tariff.covers(night) else {}
            answer[night] = {**cell, "is_blocked": night in blocked}
        for night, is_blocked in sorted(self._booked_nights(prop.property_uid).items()):
            if not first.isoformat() <= night <= last.isoformat():
                answer[night] = {"is_blocked": is_blocked}
        return answer

    def _booked_nights(self, uid: int) -> dict[str, bool]:
        """Every night of every live booking (False) or closure (True) of the property."""
        booked: dict[str, bool] = {}
        for booking in self._bookings.of_property(uid):
            if booking.active:
                for night in _nights(booking.date_from, booking.date_to):
                    booked.setdefault(night, False)
        for black in self._bookings.blacks_of(uid):
            booked.update(dict.fromkeys(_nights(black.date_from, black.date_to), True))
        return booked

    def list_prices(self, prop: Property) -> Any:
        """``GET list/prices``: each tariff set as runs of nights with one price and minstay."""
        tariff = self._inventory.tariffs.get(prop.property_uid)
        if tariff is None or not tariff.sets:
            return Keyed("calendar", {"success": False, "error": NO_TARIFF_PRICES})
        runs = list(segments(tariff))
        return {"tariff_sets": php_array({
            tarifftype: [_price_set(tariff, tarifftype, room_type, run) for run in runs]
            for tarifftype, room_type in tariff.sets
        })}  # fmt: skip


def _nights(first: str, last: str) -> list[str]:
    return list(nights(date.fromisoformat(first), date.fromisoformat(last)))


def _price_set(
    tariff: Tariff, tarifftype: int, room_type: int, run: tuple[str, str, str, int]
) -> dict[str, Any]:
    first, last, price, minstay = run
    dates = _nights(first, last)
    including = float(price)
    excluding = including / VAT
    return {
        "rate_title": "Tariff",
        "rate_per_night": {
            "display_price": f"{excluding:.2f}€", "price_excluding_vat": php_number(excluding),
            "price_including_vat": php_number(including), "currency_code": "EUR",
        },
        "min_days": minstay, "max_days": 365, "minpeople": 1, "maxpeople": tariff.max_people,
        "tarifftype_id": tarifftype, "dayofweek": 7, "ignore_pppn": 0, "allow_we": 1,
        "weekendonly": 0, "room_type_id": room_type, "per_person_per_night": False,
        "number_of_days": len(dates), "date_range": {"start": first, "end": last}, "dates": dates,
    }  # fmt: skip
