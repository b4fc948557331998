"""What each transcript example assumes about the site, built on a fresh sandbox.

One scenario per case id (``<transcript file stem>[<example index>]``, or ``[<file>]`` for a full
response body a transcript adds): it logs in, announces the example's channel, builds the
properties, rooms, tariffs, closures, bookings and content the real site had when the example was
captured (as far as the transcript and its neighbours show), and returns how the real ids map onto
the built ones. The real sites were built by the worker and by probes of the real engine, in the
orders their timestamps show; the scenarios follow those orders.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from tests.sandbox.replay_site import Case, IdMap, ReplaySite

Scenario = Callable[[ReplaySite, Case], Awaitable[IdMap]]
SCENARIOS: dict[str, Scenario] = {}
LIVE, PROBE = "live_ota", "content_probe"


def scenario(*case_ids: str) -> Callable[[Scenario], Scenario]:
    """Register a scenario for one or more case ids."""

    def register(build: Scenario) -> Scenario:
        for case_id in case_ids:
            assert case_id not in SCENARIOS, case_id
            SCENARIOS[case_id] = build
        return build

    return register


# properties as the real sites had them ---------------------------------------------------------


async def seaside(site: ReplaySite, *, base: bool = True) -> int:
    """The worker's first property on the live site: a GB hotel with two rooms."""
    uid = await site.prop("Seaside Hotel", "1001", "GB", 1113, 1)
    await site.room(uid, 1, "Sea view double", "1")
    await site.room(uid, 3, "Garden twin", "2")
    if base:
        await site.base(uid, "95.00", 4)
    return uid


async def alfama(site: ReplaySite) -> int:
    """An apartment: the engine's own room, then the worker's second one (room_uid 0)."""
    uid = await site.prop("Alfama Apartment", "2001", "PT", 3032, 7)
    await site.room(uid, 7, "Whole apartment", "1")
    return uid


async def probe_hotel(site: ReplaySite, *, rooms: bool = True, base: bool = True) -> int:
    """The content probe's hotel: two rooms (double, twin) and a base price of 95."""
    uid = await site.prop("Probe Hotel", "5001", "GB", 1113, 1)
    if rooms:
        await site.room(uid, 1, "Sea view", "1")
        await site.room(uid, 2, "Garden twin", "2")
    if base:
        await site.base(uid, "95.00", 2)
    return uid


async def complete(site: ReplaySite, uid: int) -> None:
    """Address and main image, then the review that marks the property complete."""
    await site.address(uid)
    await site.image(uid, "main-5001.jpg", "property")
    assert (await site.review(uid))["property_complete"] is True


# the live site (channel live_ota) --------------------------------------------------------------


@scenario("GET_cmf_channel_announce_channel_name[0]", "POST_oauth_token[0]",
          "POST_oauth_token[1]", "GET_cmf_properties_ids[1]",
          "GET_cmf_properties_change_logs[1]", "GET_cmf_properties_ids[2]")  # fmt: skip
async def logged_in(site: ReplaySite, case: Case) -> IdMap:
    await site.login()
    return IdMap()


@scenario("POST_cmf_channel_announce_channel_name_friendly_name[0]")
async def not_announced(site: ReplaySite, case: Case) -> IdMap:
    await site.login()
    return IdMap()


@scenario("GET_cmf_versions[0]", "GET_cmf_properties_ids[0]", "POST_cmf_property[0]",
          "GET_unknown_route[0]")  # fmt: skip
async def announced(site: ReplaySite, case: Case) -> IdMap:
    await site.login(LIVE)
    return IdMap()


@scenario("POST_cmf_property[1]")
async def remote_id_taken(site: ReplaySite, case: Case) -> IdMap:
    await site.login(LIVE)
    await site.prop("Seaside Hotel", "1001", "GB", 1113, 1)
    return IdMap()


@scenario("GET_cmf_property_property_uid[1]")
async def property_of_nobody(site: ReplaySite, case: Case) -> IdMap:
    await site.login(LIVE)
    return IdMap(property={"1": 999})


@scenario(
    "GET_cmf_property_property_uid[0]", "GET_cmf_property_rooms_property_uid[full_rooms_3.json]"
)
async def alfama_with_two_rooms(site: ReplaySite, case: Case) -> IdMap:
    await site.login(LIVE)
    await seaside(site, base=False)
    return IdMap(property={"3": await alfama(site)})


@scenario("GET_cmf_properties_change_logs[0]")
async def three_properties(site: ReplaySite, case: Case) -> IdMap:
    await site.login(LIVE)
    await seaside(site, base=False)
    await alfama(site)
    villa = await site.prop("Villa Mirador", "3001", "ES", 985, 6)
    await site.room(villa, 8, "Whole villa", "1")
    return IdMap()


@scenario("GET_cmf_property_rooms_property_uid[0]")
async def seaside_without_rooms(site: ReplaySite, case: Case) -> IdMap:
    await site.login(LIVE)
    return IdMap(property={"2": await site.prop("Seaside Hotel", "1001", "GB", 1113, 1)})


@scenario("PUT_cmf_property_room[0]")
async def alfama_before_its_room(site: ReplaySite, case: Case) -> IdMap:
    await site.login(LIVE)
    return IdMap(property={"3": await site.prop("Alfama Apartment", "2001", "PT", 3032, 7)})


@scenario("GET_cmf_property_calendar_property_uid_start_end[0]", "PUT_cmf_property_base_price[0]")
async def seaside_without_tariff(site: ReplaySite, case: Case) -> IdMap:
    await site.login(LIVE)
    return IdMap(property={"2": await seaside(site, base=False)})


@scenario("GET_cmf_property_calendar_property_uid_start_end[1]", "PUT_cmf_property_base_price[1]",
          "PUT_cmf_property_status_review[0]",
          "GET_cmf_property_list_blackbookings_property_uid[0]",
          "PUT_cmf_property_minstays[0]", "PUT_cmf_property_prices[0]",
          "PUT_cmf_property_blackbooking[0]",
          "GET_cmf_property_booking_link_property_uid_remote_reservation_id[0]",
          "PUT_cmf_reservations_add[0]", "PUT_cmf_reservations_add[1]")  # fmt: skip
async def seaside_priced(site: ReplaySite, case: Case) -> IdMap:
    await site.login(LIVE)
    return IdMap(property={"2": await seaside(site)})


@scenario("GET_cmf_property_property_uid[full_property_2.json]")
async def seaside_with_rates(site: ReplaySite, case: Case) -> IdMap:
    """The live inventory's rates and minimum stays, pushed as the worker pushed them."""
    await site.login(LIVE)
    uid = await seaside(site)
    await site.prices(uid, ("2026-12-01", "2026-12-31", "120.00"),
                      ("2027-01-01", "2027-05-31", "95.00"), ("2027-06-01", "2027-08-31", "150.00"),
                      ("2027-09-01", "2027-11-30", "110.00"))  # fmt: skip
    await site.minstays(uid, ("2026-12-01", "2026-12-19", 1), ("2026-12-20", "2027-01-02", 3),
                        ("2027-01-03", "2027-06-30", 1), ("2027-07-01", "2027-08-31", 2),
                        ("2027-09-01", "2027-11-30", 1))  # fmt: skip
    return IdMap(property={"2": uid})


@scenario("GET_cmf_property_list_bookings_property_uid[0]")
async def seaside_with_closures(site: ReplaySite, case: Case) -> IdMap:
    await site.login(LIVE)
    uid = await seaside(site)
    await site.closure(uid, "2027-01-10", "2027-01-12")
    await site.closure(uid, "2027-03-01", "2027-03-03")
    return IdMap(property={"2": uid})


@scenario("DELETE_cmf_property_blackbooking_property_uid_contract_id[0]")
async def seaside_closed(site: ReplaySite, case: Case) -> IdMap:
    await site.login(LIVE)
    uid = await seaside(site)
    return IdMap(
        property={"2": uid}, contract={"1": await site.closure(uid, "2027-01-10", "2027-01-12")}
    )


@scenario("GET_cmf_property_list_bookings_property_uid[full_list_bookings_2.json]")
async def seaside_after_a_day(site: ReplaySite, case: Case) -> IdMap:
    """Closures, a push cancelled, site bookings (one cancelled), a closure deleted."""
    await site.login(LIVE)
    uid = await seaside(site)
    first = await site.closure(uid, "2027-01-10", "2027-01-12")
    await site.closure(uid, "2027-03-01", "2027-03-03")
    await site.push(uid, "OTA-778812", "2026-12-05", "2026-12-07")
    site.book_on_site(uid, "2027-02-01", "2027-02-02")
    await site.cancel("OTA-778812")
    await site.cmf("DELETE", f"/cmf/property/blackbooking/{uid}/{first}")
    site.cancel_on_site(site.book_on_site(uid, "2027-02-10", "2027-02-11"))
    return IdMap(property={"2": uid})


@scenario("PUT_cmf_reservations_cancel[0]")
async def seaside_with_a_push(site: ReplaySite, case: Case) -> IdMap:
    await site.login(LIVE)
    uid = await seaside(site)
    await site.push(uid, "OTA-778812", "2026-12-05", "2026-12-07")
    return IdMap(property={"2": uid})


@scenario("PUT_cmf_reservations_cancel[1]")
async def seaside_push_cancelled(site: ReplaySite, case: Case) -> IdMap:
    """Once its only text-id push is cancelled, a text id finds nothing left to cancel."""
    ids = await seaside_with_a_push(site, case)
    await site.cancel("OTA-778812")
    return ids
