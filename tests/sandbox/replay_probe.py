"""Scenarios of the content probe's transcripts in ``../shared`` (channel ``content_probe``).

The probe built a hotel with two rooms and a base price, wrote its content, uploaded images,
published and unpublished it, made apartments (the engine's own room, a second room, a takeover)
and pushed reservations under text and numeric ids; each scenario rebuilds the state one example
saw. See ``replay_scenarios`` for the registry.
"""

from __future__ import annotations

from tests.sandbox.replay_scenarios import (
    PROBE,
    Scenario,
    complete,
    probe_hotel,
    scenario,
)
from tests.sandbox.replay_site import Case, IdMap, ReplaySite


@scenario("GET_cmf_list_image_types[0]", "GET_cmf_list_property_features[0]",
          "GET_cmf_list_property_types[0]", "GET_cmf_list_room_types[0]")  # fmt: skip
async def probe_announced(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    return IdMap()


@scenario("GET_cmf_property_rooms_property_uid_srp_auto_room[0]",
          "PUT_cmf_property_room_srp_second_room[0]")  # fmt: skip
async def probe_hotel_bare(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    return IdMap(property={"2": await probe_hotel(site, rooms=False, base=False)})


@scenario("PUT_cmf_property_room_srp_second_room[1]")
async def probe_hotel_one_room(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    uid = await probe_hotel(site, rooms=False, base=False)
    await site.room(uid, 1, "Sea view", "1")
    return IdMap(property={"2": uid})


@scenario("GET_cmf_property_status_property_uid[0]", "PUT_cmf_property_publish[0]",
          "PUT_cmf_property_status_review_before_after_content[0]", "PUT_cmf_property_address[0]",
          "PUT_cmf_property_image[0]", "PUT_cmf_property_image[1]",
          "GET_cmf_property_list_prices_property_uid[0]",
          "PUT_cmf_reservations_add_text_ids_guests[0]",
          "PUT_cmf_reservations_add_text_ids_guests[4]")  # fmt: skip
async def probe_hotel_priced(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    return IdMap(property={"2": await probe_hotel(site)})


@scenario("PUT_cmf_property_status_review_before_after_content[1]")
async def probe_hotel_with_address(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    uid = await probe_hotel(site)
    await site.address(uid)
    return IdMap(property={"2": uid})


@scenario("PUT_cmf_property_status_review_before_after_content[2]", "PUT_cmf_property_publish[1]",
          "GET_cmf_property_status_property_uid[1]")  # fmt: skip
async def probe_hotel_complete(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    uid = await probe_hotel(site)
    await site.address(uid)
    await site.image(uid, "main-5001.jpg", "property")
    return IdMap(property={"2": uid})


@scenario("PUT_cmf_property_publish[2]", "GET_cmf_property_status_property_uid[2]",
          "PUT_cmf_property_unpublish[0]")  # fmt: skip
async def probe_hotel_published(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    uid = await probe_hotel(site)
    await complete(site, uid)
    await site.cmf("PUT", "/cmf/property/publish", {"property_uid": str(uid)})
    return IdMap(property={"2": uid})


@scenario("GET_cmf_property_list_prices_property_uid[list_prices_after.json]")
async def probe_hotel_repriced(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    uid = await probe_hotel(site)
    await site.prices(uid, ("2026-12-11", "2026-12-15", "120.00"),
                      ("2026-12-16", "2026-12-26", "140.00"))  # fmt: skip
    await site.minstays(uid, ("2026-12-13", "2026-12-19", 3))
    return IdMap(property={"2": uid})


_CONTENT_STEPS = (
    ("address", {"street": "1 Harbour Road", "town": "St Ives", "postcode": "TR26 1AA"}),
    ("location", {"country_code": "GB", "region_id": "1113", "lat": "50.2139", "long": "-5.4804"}),
    ("contacts", {"telephone": "+44 1736 000000", "fax": "", "email": "stay@probe.example"}),
    ("text", {"description": "A quiet hotel on the harbour.", "checkin_times": "From 15:00",
              "terms": "Free cancellation."}),
    ("text/fr-FR", {"description": "Un hotel calme.", "checkin_times": "Des 15h",
                    "terms": "Annulation gratuite."}),
    ("stars", {"stars": "4", "superior": "0"}),
    ("features", {"features": "4,6,9"}),
)  # fmt: skip


def _content_case(step: str) -> Scenario:
    """The probe hotel with every content write made before ``step`` (they change the answer)."""

    async def build(site: ReplaySite, case: Case) -> IdMap:
        await site.login(PROBE)
        uid = await probe_hotel(site)
        for name, form in _CONTENT_STEPS[: [s for s, _ in _CONTENT_STEPS].index(step)]:
            await site.cmf("PUT", f"/cmf/property/{name}", {"property_uid": str(uid), **form})
        return IdMap(property={"2": uid})

    return build


# The address case (the first step) is ``probe_hotel_priced``'s.
for _step, _stem in (
    ("location", "PUT_cmf_property_location"),
    ("contacts", "PUT_cmf_property_contacts"),
    ("text", "PUT_cmf_property_text"),
    ("text/fr-FR", "PUT_cmf_property_text_language"),
    ("stars", "PUT_cmf_property_stars"),
    ("features", "PUT_cmf_property_features"),
):
    scenario(f"{_stem}[0]")(_content_case(_step))


async def probe_hotel_with_images(site: ReplaySite) -> tuple[int, int]:
    uid = await probe_hotel(site)
    room = (await site.rooms_of(uid))[0]
    await site.image(uid, "main-5001.jpg", "property")
    await site.image(uid, "room-5001.jpg", "rooms", room)
    await site.image(uid, "pool-5001.jpg", "slideshow")
    return uid, room


@scenario(
    "GET_cmf_property_images_property_uid[0]",
    "DELETE_cmf_property_image_property_uid_file_name_resource_type_resource_id[0]",
)
async def probe_images(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    uid, room = await probe_hotel_with_images(site)
    return IdMap(property={"2": uid}, room={"3": room})


@scenario("GET_cmf_property_images_property_uid[1]")
async def probe_images_after_delete(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    uid, room = await probe_hotel_with_images(site)
    await site.cmf("DELETE", f"/cmf/property/image/{uid}/pool-5001.jpg/slideshow/0")
    return IdMap(property={"2": uid}, room={"3": room})


async def probe_apartment(site: ReplaySite) -> int:
    return await site.prop("Probe Apartment", "5002", "PT", 3032, 7)


@scenario("GET_cmf_property_rooms_property_uid_srp_auto_room[1]",
          "PUT_cmf_property_room_srp_second_room[2]",
          "PUT_cmf_property_status_review_before_after_content[3]")  # fmt: skip
async def probe_apartment_new(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    return IdMap(property={"3": await probe_apartment(site)})


@scenario("GET_cmf_property_rooms_property_uid_srp_auto_room[2]")
async def probe_apartment_two_rooms(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    uid = await probe_apartment(site)
    await site.room(uid, 5, "Flat", "A")
    return IdMap(property={"3": uid})


async def probe_flat(site: ReplaySite) -> tuple[int, int]:
    uid = await site.prop("Probe Flat", "5003", "PT", 3032, 7)
    return uid, (await site.rooms_of(uid))[0]


@scenario("GET_cmf_property_rooms_property_uid_srp_auto_room[3]",
          "PUT_cmf_property_room_srp_second_room[3]")  # fmt: skip
async def probe_flat_new(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    uid, room = await probe_flat(site)
    return IdMap(property={"4": uid}, room={"7": room})


@scenario("GET_cmf_property_rooms_property_uid_srp_auto_room[4]",
          "PUT_cmf_property_room_srp_second_room[4]")  # fmt: skip
async def probe_flat_taken_over(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    uid, room = await probe_flat(site)
    await site.room(uid, 5, "Flat", "F1", room_uid=room)
    return IdMap(property={"4": uid}, room={"7": room})


async def probe_pushes(site: ReplaySite, uid: int, *remote_ids: str) -> None:
    dates = {"BK-2027-0001": ("2027-01-20", "2027-01-22"),
             "778812": ("2027-01-30", "2027-01-31"),
             "BK-2027-0003": ("2027-02-19", "2027-02-20"),
             "BK-2027-0004": ("2027-03-01", "2027-03-02")}  # fmt: skip
    for remote_id in remote_ids:
        await site.push(uid, remote_id, *dates[remote_id], room_quantity=1)


@scenario("PUT_cmf_reservations_add_text_ids_guests[1]")
async def probe_first_push(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    uid = await probe_hotel(site)
    await probe_pushes(site, uid, "BK-2027-0001")
    return IdMap(property={"2": uid})


@scenario("GET_cmf_property_booking_link_property_uid_numeric_and_text_id[0]",
          "GET_cmf_property_booking_link_property_uid_numeric_and_text_id[1]",
          "PUT_cmf_reservations_add_text_ids_guests[2]", "PUT_cmf_reservations_cancel_text_id[0]",
          "GET_cmf_property_list_bookings_property_uid_closure_push_cancel[0]")  # fmt: skip
async def probe_two_pushes(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    uid = await probe_hotel(site)
    await site.closure(uid, "2027-01-10", "2027-01-12", "maint")
    await probe_pushes(site, uid, "BK-2027-0001", "778812")
    return IdMap(property={"2": uid})


@scenario("GET_cmf_property_list_bookings_property_uid_closure_push_cancel[list_bookings_after_cancel.json]",
          "PUT_cmf_reservations_add_text_ids_guests[3]")  # fmt: skip
async def probe_push_cancelled(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    uid = await probe_hotel(site)
    await site.closure(uid, "2027-01-10", "2027-01-12", "maint")
    await probe_pushes(site, uid, "BK-2027-0001", "778812")
    await site.cancel("BK-2027-0001")
    return IdMap(property={"2": uid})


@scenario("PUT_cmf_reservations_cancel_text_id[1]")
async def probe_two_text_ids_live(site: ReplaySite, case: Case) -> IdMap:
    await site.login(PROBE)
    uid = await probe_hotel(site)
    await probe_pushes(site, uid, "BK-2027-0001", "778812")
    await site.cancel("BK-2027-0001")
    await probe_pushes(site, uid, "BK-2027-0003", "BK-2027-0004")
    return IdMap(property={"2": uid})


@scenario(
    "GET_cmf_property_list_bookings_property_uid_closure_push_cancel[list_bookings_after_over_cancel.json]"
)
async def probe_over_cancelled(site: ReplaySite, case: Case) -> IdMap:
    """Cancelling BK-2027-0004 cancelled BK-2027-0003 too (the integer cast)."""
    ids = await probe_push_cancelled(site, case)
    uid = ids.property["2"]
    await probe_pushes(site, uid, "BK-2027-0003", "BK-2027-0004")
    await site.cancel("BK-2027-0004")
    return ids
