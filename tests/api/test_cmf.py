"""Typed CMF operations end to end against the sandbox, in modern and legacy mode."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from datetime import date, timedelta
from decimal import Decimal

import pytest

from tests.api.client_support import make_settings
from worker.api.client import BookyFlowClient
from worker.api.cmf import Cmf
from worker.api.models import (
    DateRange,
    GuestInfo,
    MinStayRange,
    RateRange,
    Reservation,
    StayInfo,
)
from worker.errors import ChannelError, OperationFailed, OwnershipError, ServerError
from worker.sandbox import Sandbox
from worker.sandbox.image_host import ImageHost
from worker.sync.ari_plan import nights_from_tariffs

START = date.today() + timedelta(days=10)


@pytest.fixture
async def cmf(any_sandbox: Sandbox) -> AsyncIterator[Cmf]:
    async with BookyFlowClient(make_settings(any_sandbox.api_url)) as client:
        yield Cmf(client)


async def _new_property(cmf: Cmf, remote_uid: str = "101") -> int:
    """A hotel (rooms in a property) in Devon; region ids are the site's global ones."""
    types = await cmf.property_types()
    hotel = next(t for t in types if not t.single_unit)
    return await cmf.create_property(
        name="Sea View", remote_uid=remote_uid, country="GB", region_id=1113,
        ptype_id=hotel.property_type_id,
    )  # fmt: skip


async def _prices(cmf: Cmf, uid: int, first: date, last: date) -> dict[date, Decimal]:
    """Per-night prices: the calendar's, or the tariffs' where the calendar has none."""
    days = await cmf.calendar(uid, first, last)
    if all(day.price is not None for day in days.values()):
        return {night: day.price for night, day in days.items() if day.price is not None}
    return nights_from_tariffs(await cmf.tariffs(uid), first, last + timedelta(days=1))


async def test_announce_is_needed_and_idempotent(cmf: Cmf) -> None:
    """Unannounced: id 0 and CMF calls fail with not_announced; announcing twice is one id."""
    assert await cmf.announced_channel_id() == 0
    with pytest.raises(ChannelError) as info:
        await cmf.versions()
    assert info.value.not_announced
    first = await cmf.announce()
    assert first > 0
    assert await cmf.announce() == first
    assert await cmf.announced_channel_id() == first
    assert await cmf.versions()


async def test_lost_channel_table_is_reannounced_and_the_call_replayed(
    any_sandbox: Sandbox, cmf: Cmf
) -> None:
    """After the site forgets its channels, one CMF call re-announces and succeeds."""
    await cmf.announce()
    any_sandbox.channels.forget_all()
    any_sandbox.journal.clear()
    assert await cmf.versions()
    sent = [
        (e.method, e.path.rsplit("/api/", 1)[1].split("/")[1]) for e in any_sandbox.journal.entries
    ]
    assert sent == [("GET", "versions"), ("POST", "channel"), ("GET", "versions")]


async def test_channel_found_by_get_is_also_reannounced(any_sandbox: Sandbox, cmf: Cmf) -> None:
    """A restart finds the channel with GET announce; a later table loss still re-announces."""
    await cmf.announce()
    restarted = Cmf(cmf.client)
    assert await restarted.announced_channel_id() > 0
    any_sandbox.channels.forget_all()
    assert await restarted.versions()


async def test_dictionaries_parse(cmf: Cmf) -> None:
    """Property types, room types, countries and regions parse into typed lists."""
    await cmf.announce()
    assert await cmf.property_types()
    assert all(isinstance(t.room_classes_uid, int) for t in await cmf.room_types())
    await _new_property(cmf)  # the real engine lists only countries and regions in use
    assert any(c.countrycode == "GB" for c in await cmf.countries())
    assert all(isinstance(r.id, int) for r in await cmf.regions())


async def test_property_lifecycle_with_rooms_prices_and_publish(
    any_sandbox: Sandbox, cmf: Cmf
) -> None:
    """Create → room → base price → rates/minstays → calendar → review → publish → delete.

    Remote uids are numeric: old servers cast them to integers.
    """
    await cmf.announce()
    uid = await _new_property(cmf)
    owned = await cmf.property_ids()
    assert [(p.local_property_uid, p.remote_property_uid) for p in owned] == [(uid, "101")]
    room_types = await cmf.room_types()
    prop = await cmf.get_property(uid)
    fits = next(rt for rt in room_types if prop.ptype_id in rt.ptype_xref)
    room = await cmf.put_room(
        uid, room_type_id=fits.room_classes_uid, max_people=2, room_name="Double", room_number="1"
    )
    assert [r.room_uid for r in await cmf.rooms(uid)] == [room]
    assert not (await cmf.review_property(uid)).property_complete
    await cmf.set_base_price(uid, Decimal("100.00"), 2)
    nights = DateRange(date_from=START, date_to=START + timedelta(days=2))
    await cmf.set_prices(uid, [RateRange(**nights.model_dump(), ratepernight=Decimal("120.50"))])
    await cmf.set_minstays(uid, [MinStayRange(**nights.model_dump(), minstay=2)])
    days = await cmf.calendar(uid, START, START + timedelta(days=3))
    prices = await _prices(cmf, uid, START, START + timedelta(days=3))
    assert prices[START] == Decimal("120.50")
    assert days[START].minstay == 2
    assert prices[START + timedelta(days=3)] == Decimal("100.00")
    if not any_sandbox.legacy:  # the real engine also wants a street, a town and a main image
        assert not (await cmf.review_property(uid)).property_complete
        await cmf.set_address(uid, street="1 Quay", town="Exeter", postcode="")
        async with ImageHost() as images:
            with contextlib.suppress(ServerError):  # the engine's 500 after storing it
                await cmf.upload_image(uid, images.url("main.jpg"), resource_type="property",
                                       resource_id=0)  # fmt: skip
        assert [i.file_name for i in await cmf.images(uid)] == ["main.jpg"]
    assert (await cmf.review_property(uid)).property_complete
    assert await cmf.publish_property(uid)
    assert (await cmf.get_property(uid)).published
    await cmf.delete_property(uid)
    assert await cmf.property_ids() == []


async def test_closures_can_be_added_listed_and_removed(cmf: Cmf) -> None:
    """A black booking returns its contract id, is listed, and can be deleted."""
    await cmf.announce()
    uid = await _new_property(cmf)
    nights = DateRange(date_from=START, date_to=START + timedelta(days=1))
    await cmf.put_room(uid, room_type_id=1, max_people=2, room_name="Double", room_number="1")
    contract = await cmf.add_blackbooking(uid, nights, text="maintenance")
    assert (await cmf.blackbookings(uid)) == {contract: nights}
    await cmf.set_base_price(uid, Decimal("100.00"), 2)  # the engine's calendar needs a tariff
    assert (await cmf.calendar(uid, START, START))[START].is_blocked
    await cmf.delete_blackbooking(uid, contract)
    assert await cmf.blackbookings(uid) == {}


async def _ready_property(cmf: Cmf) -> tuple[int, int]:
    uid = await _new_property(cmf, "102")
    prop = await cmf.get_property(uid)
    fits = next(rt for rt in await cmf.room_types() if prop.ptype_id in rt.ptype_xref)
    await cmf.put_room(
        uid, room_type_id=fits.room_classes_uid, max_people=2, room_name="Double", room_number="1"
    )
    await cmf.set_base_price(uid, Decimal("100.00"), 2)
    return uid, fits.room_classes_uid


def _reservation(uid: int, room_type: int, remote_id: str) -> Reservation:
    guest = GuestInfo(
        name="Ada",
        surname="Lovelace",
        email="ada@example.org",
        phone="123",
        address="1 Street",
        post_code="1000",
        country_code="GB",
    )
    stay = StayInfo(
        property_id=uid,
        date_from=START,
        date_to=START + timedelta(days=1),
        room_type_id=room_type,
        guest_number=2,
        client_price=Decimal("200.00"),
        channel_price=Decimal("180.00"),
        already_paid=Decimal("0.00"),
    )
    return Reservation(
        remote_reservation_id=remote_id, referrer="acme", guest_info=guest, stay_infos=[stay]
    )


async def test_reservations_round_trip(cmf: Cmf) -> None:
    """Push a reservation, find it by link and in bookings and logs, then cancel it."""
    await cmf.announce()
    uid, room_type = await _ready_property(cmf)
    result = await cmf.add_reservations([_reservation(uid, room_type, "4001")])
    assert "4001" in result.successful_bookings, result
    assert result.unsuccessful_bookings == {}
    links = await cmf.booking_link(uid, "4001")  # numeric: the real engine finds no other
    assert len(links) == 1
    bookings = await cmf.bookings(uid)
    assert [b.booking_id for b in bookings] == links
    assert bookings[0].mapping is not None
    assert bookings[0].mapping.remote_booking_id == "4001"
    assert uid in await cmf.change_logs()
    assert (await cmf.cancel_reservations(["4001"])).success
    assert (await cmf.bookings(uid))[0].status.status_code == 6
    assert await cmf.booking_link(uid, "4999") == []


async def test_write_failure_inside_success_is_operation_failed(cmf: Cmf) -> None:
    """Cancelling unknown reservations reports ``success: false``: ``OperationFailed``."""
    await cmf.announce()
    with pytest.raises(OperationFailed):
        await cmf.cancel_reservations(["never-pushed"])


async def test_ownership_guard_blocks_before_sending(any_sandbox: Sandbox) -> None:
    """A property outside the owned set raises ``OwnershipError`` and nothing is sent."""
    async with BookyFlowClient(make_settings(any_sandbox.api_url)) as client:
        guarded = Cmf(client, owned=lambda uid: uid == 1)
        any_sandbox.journal.clear()
        with pytest.raises(OwnershipError) as info:
            await guarded.calendar(2, START, START)
        with pytest.raises(OwnershipError):
            await guarded.add_reservations([_reservation(2, 1, "R-9")])
    assert info.value.property_uid == 2
    assert not any("cmf/" in entry.path for entry in any_sandbox.journal.entries)


async def test_foreign_property_is_ownership_error_from_the_site(cmf: Cmf) -> None:
    """The site's own ownership answer maps to ``OwnershipError`` with the uid."""
    await cmf.announce()
    with pytest.raises(OwnershipError) as info:
        await cmf.get_property(987654)
    assert info.value.property_uid == 987654
