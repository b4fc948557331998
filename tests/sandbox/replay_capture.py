"""Scenarios of the transcripts ``tests/live/capture_transcripts.py`` captured into
``tests/fixtures/transcripts`` (the real endpoints ``../shared`` has no transcript of).

The capture makes a hotel (remote uid 9001: rooms double, single, double), an apartment (9002: the
engine's room taken over) and an annexe (9003: two doubles, one deleted), prices them, pushes two
reservations, closes the apartment and books it on the site, in that order, days counted from its
"today". Ids are read from each case's own request, so a new capture keeps working.
"""

from __future__ import annotations

import json
from datetime import timedelta

from tests.sandbox.replay_scenarios import scenario
from tests.sandbox.replay_site import Case, IdMap, ReplaySite

LIVE_PUSH, CANCELLED_PUSH, TEXT_PUSH = "900000000000001", "900000000000002", "BK-9000-0001"


def _day(case: Case, offset: int) -> str:
    return (case.today + timedelta(days=offset)).isoformat()


async def hotel(site: ReplaySite) -> tuple[int, list[int]]:
    uid = await site.prop("Capture Hotel", "9001", "GB", 1113, 1)
    rooms = [await _room(site, uid, t, n) for t, n in ((1, "Double"), (3, "Single"), (1, "Spare"))]
    await site.base(uid, "95.00", 2)
    return uid, rooms


async def _room(site: ReplaySite, uid: int, room_type: int, name: str, room_uid: int = 0) -> int:
    return int((await site.room(uid, room_type, name, "1", room_uid))["room_uid"])


async def flat(site: ReplaySite, *, taken_over: bool = True) -> tuple[int, int]:
    """The apartment and the engine's own room of it (taken over and priced)."""
    uid = await site.prop("Capture Apartment", "9002", "PT", 3032, 7)
    auto = (await site.rooms_of(uid))[0]
    if taken_over:
        await _room(site, uid, 7, "Whole flat", auto)
        await site.base(uid, "80.00", 2)
    return uid, auto


async def annexe(site: ReplaySite) -> tuple[int, list[int]]:
    uid = await site.prop("Capture Annexe", "9003", "GB", 1113, 1)
    rooms = [await _room(site, uid, 1, name) for name in ("Annexe double", "Annexe spare")]
    await site.base(uid, "70.00", 2)
    return uid, rooms


async def pushes(site: ReplaySite, case: Case, uid: int) -> None:
    await site.push(uid, LIVE_PUSH, _day(case, 20), _day(case, 21), room_type_id=3)
    await site.push(uid, CANCELLED_PUSH, _day(case, 30), _day(case, 31), room_type_id=1)


async def closed_and_booked(site: ReplaySite, case: Case, uid: int, *, booked: bool) -> int:
    contract = await site.closure(uid, _day(case, 40), _day(case, 42), "owner stay")
    if booked:
        site.book_on_site(uid, _day(case, 60), _day(case, 61))
    return contract


@scenario("GET_cmf_properties_ids_with_content[0]")
async def two_properties(site: ReplaySite, case: Case) -> IdMap:
    await site.login(case.channel)
    await site.prop("Capture Hotel", "9001", "GB", 1113, 1)
    await site.prop("Capture Apartment", "9002", "PT", 3032, 7)
    return IdMap()


@scenario("GET_cmf_list_countries[0]", "GET_cmf_list_regions[0]",
          "GET_cmf_list_countries_all[0]", "GET_cmf_list_regions_all[0]")  # fmt: skip
async def three_countries(site: ReplaySite, case: Case) -> IdMap:
    """The real site's properties were in GB, PT and ES (another channel's villa)."""
    await site.login(case.channel)
    await site.prop("Capture Hotel", "9001", "GB", 1113, 1)
    await site.prop("Capture Apartment", "9002", "PT", 3032, 7)
    await site.prop("Villa Mirador", "3001", "ES", 985, 6)
    return IdMap()


@scenario("PUT_cmf_property_room_srp_after_takeover[0]",
          "PUT_cmf_property_room_srp_after_takeover[1]",
          "PUT_cmf_property_room_srp_after_takeover[2]")  # fmt: skip
async def flat_takeover(site: ReplaySite, case: Case) -> IdMap:
    await site.login(case.channel)
    uid, auto = await flat(site, taken_over=False)
    if case.case_id.endswith(("[1]", "[2]")):
        await _room(site, uid, 7, "Whole flat", auto)
    real_room = case.form_value("room_uid")
    return IdMap(property={case.form_value("property_uid"): uid}, room={real_room: auto})


@scenario("DELETE_cmf_property_room_property_uid_room_uid[0]",
          "GET_cmf_property_calendar_property_uid_start_end_after_room_delete[0]",
          "PUT_cmf_reservations_add_after_room_delete[0]")  # fmt: skip
async def annexe_room_deleted(site: ReplaySite, case: Case) -> IdMap:
    """The annexe loses a room (its rooms link with it) before the calendar and the push."""
    await site.login(case.channel)
    uid, rooms = await annexe(site)
    if case.method != "DELETE":
        await site.cmf("DELETE", f"/cmf/property/room/{uid}/{rooms[1]}")
        real = case.path_id("property_uid") if case.method == "GET" else _pushed_property(case)
        return IdMap(property={real: uid})
    ids = IdMap(property={case.path_id("property_uid"): uid})
    ids.room[case.path_id("room_uid")] = rooms[1]
    return ids


def _pushed_property(case: Case) -> str:
    document = json.loads(case.form_value("reservations"))
    return str(document["reservations"][0]["stay_infos"][0]["property_id"])


@scenario("DELETE_cmf_property_room_property_uid_room_uid[1]")
async def hotel_room_with_bookings(site: ReplaySite, case: Case) -> IdMap:
    await site.login(case.channel)
    uid, _rooms = await hotel(site)
    await pushes(site, case, uid)
    return IdMap(property={case.path_id("property_uid"): uid})


@scenario("GET_cmf_property_calendar_property_uid_start_end_blocked_nights[0]",
          "GET_cmf_property_list_blackbookings_property_uid_with_closures[0]")  # fmt: skip
async def flat_closed(site: ReplaySite, case: Case) -> IdMap:
    await site.login(case.channel)
    uid, _auto = await flat(site)
    await closed_and_booked(site, case, uid, booked=False)
    return IdMap(property={case.path_id("property_uid"): uid})


@scenario("PUT_cmf_property_blackbooking_soft_failure[0]",
          "PUT_cmf_property_blackbooking_soft_failure[1]")  # fmt: skip
async def flat_to_close(site: ReplaySite, case: Case) -> IdMap:
    await site.login(case.channel)
    uid, _auto = await flat(site)
    if case.case_id.endswith("[1]"):
        await closed_and_booked(site, case, uid, booked=False)
    return IdMap(property={case.form_value("property_uid"): uid})


async def capture_site(site: ReplaySite, case: Case) -> tuple[int, int]:
    """Hotel with its two pushes, apartment closed and booked on the site."""
    await site.login(case.channel)
    hotel_uid, _rooms = await hotel(site)
    flat_uid, _auto = await flat(site)
    await pushes(site, case, hotel_uid)
    await closed_and_booked(site, case, flat_uid, booked=True)
    return hotel_uid, flat_uid


@scenario("GET_cmf_property_list_bookings_property_uid_site_booking_and_push[0]",
          "GET_cmf_property_list_bookings_property_uid_site_booking_and_push[1]",
          "GET_cmf_properties_change_logs_site_booking[0]")  # fmt: skip
async def captured(site: ReplaySite, case: Case) -> IdMap:
    hotel_uid, flat_uid = await capture_site(site, case)
    if "@property_uid" not in case.template:
        return IdMap()  # the change log is keyed by uid: compared as a map, in order
    named = {"Capture Hotel": hotel_uid, "Capture Apartment": flat_uid}
    name = json.loads(case.body)["meta"]["site"]["property_name"]
    return IdMap(property={case.path_id("property_uid"): named[name]})


@scenario(
    "GET_cmf_property_booking_link_property_uid_remote_reservation_id_cancelled_push[0]",
    "GET_cmf_property_booking_link_property_uid_remote_reservation_id_cancelled_push[1]",
)
async def hotel_push_cancelled(site: ReplaySite, case: Case) -> IdMap:
    await site.login(case.channel)
    uid, _rooms = await hotel(site)
    await pushes(site, case, uid)
    await site.cancel(CANCELLED_PUSH)
    return IdMap(property={case.path_id("property_uid"): uid})


@scenario("PUT_cmf_property_booking_link_text_id_to_numeric[0]")
async def hotel_text_push(site: ReplaySite, case: Case) -> IdMap:
    """A push under a text id (as an earlier worker made them), to be moved to a numeric id."""
    await site.login(case.channel)
    uid, _rooms = await hotel(site)
    await pushes(site, case, uid)
    added = await site.push(uid, TEXT_PUSH, _day(case, 40), _day(case, 41))
    contract = added["successful_bookings"][TEXT_PUSH]["link"]["contract_uid"]
    return IdMap(property={case.form_value("property_uid"): uid},
                 contract={case.form_value("local_booking_id"): contract})  # fmt: skip


@scenario("DELETE_cmf_property_local_property_uid[0]", "DELETE_cmf_property_local_property_uid[1]",
          "DELETE_cmf_property_local_property_uid[2]")  # fmt: skip
async def deletions(site: ReplaySite, case: Case) -> IdMap:
    """The capture deletes the apartment, the hotel, then the apartment again (gone by then)."""
    hotel_uid, flat_uid = await capture_site(site, case)
    target = hotel_uid if case.case_id.endswith("[1]") else flat_uid
    if case.case_id.endswith("[2]"):
        await site.cmf("DELETE", f"/cmf/property/local/{flat_uid}")
    return IdMap(property={case.path_id("property_uid"): target})
