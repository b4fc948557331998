"""Typed CMF operations: one coroutine per endpoint of the spec (§3), returning pydantic models.

Idempotency decides what the client may retry after an unclear failure (a timeout or a lost
response): a call is marked idempotent only when sending it twice leaves the site as sending it
once. Each docstring says which. Every call names our channel in ``X-BOOKYFLOW-channel-name``
(announce included: harmless), and any call that names a property passes the ``owned`` guard
first, so a property outside our own list is never touched, not even by a read.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from datetime import date
from decimal import Decimal
from typing import Any
from urllib.parse import quote

from pydantic import TypeAdapter
from pydantic_core import to_json

from worker.api.client import BookyFlowClient
from worker.api.cmf_content import ContentEndpoints
from worker.api.models import (
    BlackBookingRef,
    BlackBookings,
    Booking,
    BookingLinks,
    CalendarDay,
    Cancellation,
    ChangeLogEvent,
    Country,
    DateRange,
    MinStayRange,
    OwnedProperty,
    Property,
    PropertyType,
    PublishResult,
    RateRange,
    Region,
    Reservation,
    ReservationsResult,
    Review,
    Room,
    RoomRef,
    RoomType,
    TariffNight,
    TariffSets,
    keyed_list,
    parse_as,
    php_dict,
    versions_of,
)
from worker.errors import ChannelError, ClientRequestError, OwnershipError
from worker.logging import get_logger

__all__ = ["Cmf"]

log = get_logger(__name__)


def _segment(value: str | int) -> str:
    """One URL path segment, percent-encoded (slashes included)."""
    return quote(str(value), safe="")


_NO_CALENDAR = ("no tariffs", "no rooms for this property")

_RANGE_LISTS: dict[type[DateRange], TypeAdapter[list[Any]]] = {}


def _json_list(ranges: Sequence[DateRange]) -> str:
    """The ranges as one compact JSON list, serialised by pydantic-core in one call.

    A third of the cost of ``model_dump`` per range plus ``json.dumps`` on the hot write path,
    and no spaces after separators: fewer bytes to form-encode and to send.
    """
    if not ranges:
        return "[]"
    kind = type(ranges[0])
    adapter = _RANGE_LISTS.get(kind)
    if adapter is None:
        adapter = _RANGE_LISTS[kind] = TypeAdapter(list[kind])  # type: ignore[valid-type]
    return adapter.dump_json(list(ranges)).decode()


class Cmf(ContentEndpoints):
    """The CMF endpoints over one ``BookyFlowClient``; ``owned(uid)`` guards property access.

    The content endpoints (§3.3a) come from ``ContentEndpoints``.
    """

    def __init__(self, client: BookyFlowClient, owned: Callable[[int], bool] | None = None) -> None:
        self.client = client
        self.owned = owned
        self._announced = False  # re-announcing is for channels we announced and the site lost

    def _guard(self, *property_uids: int) -> None:
        for uid in property_uids:
            if self.owned is not None and not self.owned(uid):
                raise OwnershipError(
                    f"property {uid} is not one this channel created", property_uid=uid
                )

    async def _get(self, path: str) -> Any:
        return await self._call("GET", path)

    async def _put(self, path: str, form: Mapping[str, str], *, idempotent: bool) -> Any:
        return await self._call("PUT", path, form=form, idempotent=idempotent)

    async def _call(
        self,
        method: str,
        path: str,
        *,
        form: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one CMF call; "does not have access to this channel" → re-announce, replay once.

        A site restored from backup forgets its channels; announcing again is always safe, and
        the refused request was not applied, so replaying it cannot duplicate a write.
        """
        try:
            return await self.client.request(method, path, form=form, idempotent=idempotent)
        except ChannelError as exc:
            if not (exc.not_announced and self._announced):
                raise
            log.warning("channel.reannounce", path=path, error=str(exc))
            await self.announce()
            return await self.client.request(method, path, form=form, idempotent=idempotent)

    # --- 3.1 channel ---------------------------------------------------------------------

    async def announced_channel_id(self) -> int:
        """GET announce: our channel's id, ``0`` when not announced. Idempotent."""
        name = _segment(self.client.settings.channel_name)
        channel_id = parse_as(int, await self._get(f"cmf/channel/announce/{name}"), what="announce")
        self._announced = self._announced or channel_id > 0
        return channel_id

    async def announce(self, params: Mapping[str, Any] | None = None) -> int:
        """POST announce: create (or confirm) our channel; returns its id.

        Idempotent by the spec ("announcing again is always safe"), so it may be retried.
        """
        settings = self.client.settings
        names = f"{_segment(settings.channel_name)}/{_segment(settings.friendly_name)}"
        path = f"cmf/channel/announce/{names}"
        form = {"params": json.dumps(dict(params or {}))}
        payload = await self.client.request("POST", path, form=form, idempotent=True)
        channel_id = parse_as(int, payload, what="announce")
        self._announced = True
        return channel_id

    async def versions(self) -> dict[str, str]:
        """GET versions: the "connected and announced" probe (informational keys). Idempotent."""
        return versions_of(await self._get("cmf/versions"))

    # --- 3.2 dictionaries ----------------------------------------------------------------

    async def property_types(self) -> list[PropertyType]:
        """GET the property types (``flag`` 1 = multi-room). Idempotent."""
        payload = keyed_list(await self._get("cmf/list/property/types"))
        return parse_as(list[PropertyType], payload, what="property types")

    async def room_types(self) -> list[RoomType]:
        """GET the room types with the property types each fits. Idempotent."""
        payload = keyed_list(await self._get("cmf/list/room/types"))
        return parse_as(list[RoomType], payload, what="room types")

    async def countries(self) -> list[Country]:
        """GET the countries (keyed by ISO code on the wire). Idempotent."""
        payload = keyed_list(await self._get("cmf/list/countries"))
        return parse_as(list[Country], payload, what="countries")

    async def regions(self) -> list[Region]:
        """GET the regions (keyed by id on the wire). Idempotent."""
        payload = keyed_list(await self._get("cmf/list/regions"))
        return parse_as(list[Region], payload, what="regions")

    # --- 3.3 properties ------------------------------------------------------------------

    async def property_ids(self) -> list[OwnedProperty]:
        """GET every property this channel owns with its remote uid. Idempotent."""
        payload = keyed_list(await self._get("cmf/properties/ids"))
        return parse_as(list[OwnedProperty], payload, what="property ids")

    async def create_property(
        self, *, name: str, remote_uid: str, country: str, region_id: int, ptype_id: int
    ) -> int:
        """POST a new property; returns its uid.

        NOT idempotent: after a lost response, look for ``remote_uid`` in ``property_ids()``.
        """
        form = {
            "property_name": name,
            "remote_uid": remote_uid,
            "country": country,
            "region_id": str(region_id),
            "ptype_id": str(ptype_id),
        }
        payload = await self._call("POST", "cmf/property", form=form, idempotent=False)
        return parse_as(int, payload, what="new property uid")

    async def get_property(self, property_uid: int) -> Property:
        """GET one property with its rooms. Idempotent."""
        self._guard(property_uid)
        return parse_as(Property, await self._get(f"cmf/property/{property_uid}"), what="property")

    async def delete_property(self, property_uid: int) -> None:
        """DELETE a property. Idempotent in effect (a repeat finds nothing left to delete)."""
        self._guard(property_uid)
        await self._call("DELETE", f"cmf/property/local/{property_uid}")

    async def review_property(self, property_uid: int) -> Review:
        """PUT status/review: is the property complete (rooms + base price)? Idempotent."""
        self._guard(property_uid)
        form = {"property_uid": str(property_uid)}
        payload = await self._put("cmf/property/status/review", form, idempotent=True)
        return parse_as(Review, payload, what="review")

    async def publish_property(self, property_uid: int) -> bool:
        """PUT publish (only a complete property is published). Idempotent."""
        self._guard(property_uid)
        form = {"property_uid": str(property_uid)}
        payload = await self._put("cmf/property/publish", form, idempotent=True)
        return parse_as(PublishResult, payload, what="publish").published

    # --- 3.4 rooms -----------------------------------------------------------------------

    async def rooms(self, property_uid: int) -> list[Room]:
        """GET the rooms of a property. Idempotent."""
        self._guard(property_uid)
        payload = keyed_list(await self._get(f"cmf/property/rooms/{property_uid}"))
        return parse_as(list[Room], payload, what="rooms")

    async def put_room(
        self,
        property_uid: int,
        *,
        room_type_id: int,
        max_people: int,
        room_name: str,
        room_number: str,
        room_uid: int = 0,
    ) -> int:
        """PUT a room; ``room_uid=0`` creates one. Returns the room uid.

        Idempotent only as an update (``room_uid`` given); a create is NOT (it would add a twin).
        """
        self._guard(property_uid)
        form = {
            "property_uid": str(property_uid),
            "room_type_id": str(room_type_id),
            "room_uid": str(room_uid),
            "max_people": str(max_people),
            "room_name": room_name,
            "room_number": room_number,
        }
        payload = await self._put("cmf/property/room", form, idempotent=room_uid != 0)
        return parse_as(RoomRef, payload, what="room").room_uid

    async def delete_room(self, property_uid: int, room_uid: int) -> None:
        """DELETE a room (``OperationFailed`` when it has bookings). Idempotent in effect."""
        self._guard(property_uid)
        await self._call("DELETE", f"cmf/property/room/{property_uid}/{room_uid}")

    # --- 3.5 prices and minimum stays ----------------------------------------------------

    async def set_base_price(self, property_uid: int, base_price: Decimal, max_people: int) -> None:
        """PUT the base price (creates the tariff).

        NOT idempotent: a repeat is answered "tariff already exists", which would hide success.
        """
        self._guard(property_uid)
        form = {
            "property_uid": str(property_uid),
            "base_price": str(base_price),
            "max_people": str(max_people),
        }
        await self._put("cmf/property/base/price", form, idempotent=False)

    async def set_prices(self, property_uid: int, ranges: Sequence[RateRange]) -> None:
        """PUT nightly rates by range (later entries win). Idempotent: it sets, never adds."""
        self._guard(property_uid)
        form = {"property_uid": str(property_uid), "ratepernight": _json_list(ranges)}
        await self._put("cmf/property/prices", form, idempotent=True)

    async def set_minstays(self, property_uid: int, ranges: Sequence[MinStayRange]) -> None:
        """PUT minimum stays by range (later entries win). Idempotent: it sets, never adds."""
        self._guard(property_uid)
        form = {"property_uid": str(property_uid), "minstays": _json_list(ranges)}
        await self._put("cmf/property/minstays", form, idempotent=True)

    async def calendar(self, property_uid: int, start: date, end: date) -> dict[date, CalendarDay]:
        """GET price, minimum stay and closure per night from ``start`` to ``end``. Idempotent.

        A property without a tariff has no calendar: the real engine answers 200 with
        ``data.calendar = {"success": false, "error": "There are no tariffs ..."}``, which means
        "no base price yet", not a failure — it is returned as no nights at all. So is its 400
        "There are no rooms for this property." (no room the channel put, e.g. after one was
        deleted on the site): there is no calendar to read until the rooms are back. The real
        engine's nights carry no ``price``; ``tariffs`` has them.
        """
        self._guard(property_uid)
        path = f"cmf/property/calendar/{property_uid}/{start.isoformat()}/{end.isoformat()}"
        try:
            payload = await self._get(path)
        except ClientRequestError as exc:
            if not any(reason in exc.message.lower() for reason in _NO_CALENDAR):
                raise
            return {}
        days = parse_as(dict[date, CalendarDay], php_dict(payload), what="calendar")
        return dict(sorted(days.items()))

    async def tariffs(self, property_uid: int) -> dict[str, list[TariffNight]]:
        """GET list/prices: the tariff entries (price, minimum stay, nights) per tariff.

        Idempotent. Where the calendar has no prices (the real engine), this is how the
        per-night prices are read back (``worker.sync.ari_plan.nights_from_tariffs``).
        """
        self._guard(property_uid)
        payload = php_dict(await self._get(f"cmf/property/list/prices/{property_uid}"))
        return parse_as(TariffSets, payload, what="tariffs").tariff_sets

    # --- 3.6 availability (black bookings) -----------------------------------------------

    async def add_blackbooking(
        self,
        property_uid: int,
        nights: DateRange,
        *,
        room_ids: Iterable[int] = (),
        remote_booking_id: str | None = None,
        text: str | None = None,
    ) -> int:
        """PUT a closure; returns its contract id (``OperationFailed`` if the dates are booked).

        NOT idempotent: every call creates a new contract.
        """
        self._guard(property_uid)
        form = {
            "property_uid": str(property_uid),
            "availability": json.dumps(nights.model_dump(mode="json")),
            "room_ids": json.dumps(list(room_ids)),
        }
        if remote_booking_id is not None:
            form["remote_booking_id"] = remote_booking_id
        if text is not None:
            form["text"] = text
        payload = await self._put("cmf/property/blackbooking", form, idempotent=False)
        return parse_as(BlackBookingRef, payload, what="black booking").contract_id

    async def delete_blackbooking(self, property_uid: int, contract_id: int) -> None:
        """DELETE a closure. Idempotent in effect."""
        self._guard(property_uid)
        await self._call("DELETE", f"cmf/property/blackbooking/{property_uid}/{contract_id}")

    async def blackbookings(self, property_uid: int) -> dict[int, DateRange]:
        """GET future closures by contract id (``[]`` on the wire when none). Idempotent."""
        self._guard(property_uid)
        payload = await self._get(f"cmf/property/list/blackbookings/{property_uid}")
        return parse_as(BlackBookings, php_dict(payload), what="black bookings").blackbookings

    # --- 3.7 reservations and bookings ---------------------------------------------------

    async def add_reservations(self, reservations: Sequence[Reservation]) -> ReservationsResult:
        """PUT reservations. NOT idempotent: a re-send duplicates (check ``booking_link`` first)."""
        self._guard(*{stay.property_id for r in reservations for stay in r.stay_infos})
        body = {"reservations": [r.model_dump(mode="json") for r in reservations]}
        form = {"reservations": json.dumps(body)}
        payload = await self._put("cmf/reservations/add", form, idempotent=False)
        return parse_as(ReservationsResult, php_dict(payload), what="reservations")

    async def cancel_reservations(self, remote_reservation_ids: Sequence[str]) -> Cancellation:
        """PUT cancellations (``OperationFailed`` "No reservations found"). Idempotent in effect."""
        form = {"reservation_ids": json.dumps(list(remote_reservation_ids))}
        payload = await self._put("cmf/reservations/cancel", form, idempotent=True)
        return parse_as(Cancellation, payload, what="cancellation")

    async def booking_link(self, property_uid: int, remote_reservation_id: str) -> list[int]:
        """GET the local booking ids made for a remote reservation id (may be empty). Idempotent."""
        self._guard(property_uid)
        path = f"cmf/property/booking/link/{property_uid}/{_segment(remote_reservation_id)}"
        links = parse_as(BookingLinks, php_dict(await self._get(path)), what="booking link")
        return [link.local_booking_id for link in links.local_bookings]

    async def link_booking(
        self, property_uid: int, remote_booking_id: str, local_booking_id: int
    ) -> None:
        """PUT booking/link: the site's booking ``local_booking_id`` now answers to
        ``remote_booking_id`` (the real engine updates the booking's one link row). Idempotent.

        This is how a push made under a text id is moved to a numeric one before it is
        cancelled (``reservations/cancel`` cannot tell text ids apart on the real engine).
        """
        self._guard(property_uid)
        form = {
            "property_uid": str(property_uid),
            "remote_booking_id": remote_booking_id,
            "local_booking_id": str(local_booking_id),
        }
        await self._put("cmf/property/booking/link", form, idempotent=True)

    async def bookings(self, property_uid: int) -> list[Booking]:
        """GET every booking of a property, ordered by ``last_modified``. Idempotent."""
        self._guard(property_uid)
        payload = keyed_list(await self._get(f"cmf/property/list/bookings/{property_uid}"))
        return parse_as(list[Booking], payload, what="bookings")

    async def change_logs(self) -> dict[int, list[ChangeLogEvent]]:
        """GET the last 14 days of events per property uid. Idempotent."""
        return _change_logs(await self._get("cmf/properties/change/logs"))

    async def change_logs_unless(
        self, known: bytes | None
    ) -> tuple[bytes, dict[int, list[ChangeLogEvent]] | None]:
        """GET the change logs: their digest, and their events — None when the digest is
        ``known``, the answer the caller parsed last time (not parsed again). Idempotent.

        The digest is of the decoded answer (pydantic-core's JSON of it, in one call): a third
        of the cost of validating ~150 events, and equal answers parse to equal events.
        """
        payload = await self._get("cmf/properties/change/logs")
        encoded = to_json(payload, inf_nan_mode="constants")
        digest = hashlib.blake2b(encoded, digest_size=16).digest()
        return digest, None if digest == known else _change_logs(payload)


def _change_logs(payload: Any) -> dict[int, list[ChangeLogEvent]]:
    payload = php_dict(payload)
    if isinstance(payload, dict):
        payload = {uid: keyed_list(events) for uid, events in payload.items()}
    return parse_as(dict[int, list[ChangeLogEvent]], payload, what="change logs")
