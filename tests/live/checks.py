"""End-state checks of the live suite, each read back from the engine with ``EngineReader``.

Each check collects every difference before failing, so one run names all that is wrong.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from datetime import date, timedelta
from typing import Any

from tests.live.conftest import HORIZON_DAYS, LiveSite
from tests.live.inventory import (
    expected_closures,
    expected_minstays,
    expected_prices,
    nights,
    reservations,
)

__all__ = [
    "CANCELLED",
    "assert_end_state",
    "assert_reservations",
    "pushes",
]

CANCELLED = 6
REFERRER = "LiveOTA"  # inventory.live_inventory's OTA: the referrer of every push
MAX_SHOWN = 6


def _first(items: Iterable[Any]) -> list[Any]:
    return list(items)[:MAX_SHOWN]


def _room_key(name: Any, number: Any, room_type_id: Any) -> tuple[str, str, int]:
    return str(name), str(number), int(room_type_id)


async def _room_problems(site: LiveSite, uid: int, prop: dict[str, Any]) -> list[str]:
    got = sorted(
        _room_key(r["room_name"], r["room_number"], r["room_type_id"])
        for r in await site.reader.rooms(uid)
    )
    want = sorted(_room_key(r["name"], r["number"], r["room_type_id"]) for r in prop["rooms"])
    return [] if got == want else [f"{prop['remote_uid']}: rooms {got}, want {want}"]


async def _price_problems(site: LiveSite, uid: int, prop: dict[str, Any]) -> list[str]:
    prices = await site.reader.night_prices(uid)
    expected = expected_prices(prop, site.today, HORIZON_DAYS)
    problems = []
    for room_type in sorted({int(r["room_type_id"]) for r in prop["rooms"]}):
        have = prices.get(room_type, {})
        wrong = [
            (night.isoformat(), sorted(map(str, have.get(night, ()))), str(want))
            for night, want in expected.items()
            if have.get(night) != {want}
        ]
        if wrong:
            problems.append(
                f"{prop['remote_uid']} room type {room_type}: {len(wrong)} nights priced wrong "
                f"(night, engine, inventory): {_first(wrong)}"
            )
    return problems


async def _calendar_problems(site: LiveSite, uid: int, prop: dict[str, Any]) -> list[str]:
    """Minimum stays per night, and the nights of closures on every room blocked."""
    start = site.today
    calendar = await site.reader.calendar(uid, start, start + timedelta(days=HORIZON_DAYS - 1))
    expected = expected_minstays(prop, start, HORIZON_DAYS)
    wrong = [
        (night.isoformat(), (calendar.get(night) or {}).get("minstay"), want)
        for night, want in expected.items()
        if int((calendar.get(night) or {}).get("minstay", -1)) != want
    ]
    problems = []
    if wrong:
        problems.append(
            f"{prop['remote_uid']}: {len(wrong)} nights with a wrong minimum stay "
            f"(night, engine, inventory): {_first(wrong)}"
        )
    whole = [c for c in prop.get("closures", []) if not c["room_remote_ids"]]
    for closure in whole:
        first = date.fromisoformat(closure["date_from"])
        last = date.fromisoformat(closure["date_to"])
        inside = nights(first, (last - first).days + 1)
        unblocked = [n.isoformat() for n in inside if not (calendar.get(n) or {}).get("is_blocked")]
        around = [first - timedelta(days=1), last + timedelta(days=1)]
        blocked = [n.isoformat() for n in around if (calendar.get(n) or {}).get("is_blocked")]
        if unblocked or blocked:
            problems.append(
                f"{prop['remote_uid']} closure {closure['id']}: nights not blocked {unblocked}, "
                f"blocked next to it {blocked}"
            )
    return problems


async def _closure_problems(site: LiveSite, uid: int, prop: dict[str, Any]) -> list[str]:
    got = await site.reader.blackbookings(uid)
    want = expected_closures(prop)
    if got == want:
        return []
    shown = [(str(a), str(b)) for a, b in got]
    wanted = [(str(a), str(b)) for a, b in want]
    return [f"{prop['remote_uid']}: black bookings {shown}, want {wanted}"]


async def assert_end_state(site: LiveSite) -> dict[str, int]:
    """Properties by remote uid, rooms, prices and minimum stays per night, closures.

    Returns remote uid → property uid.
    """
    owned = await site.owned()
    want = sorted(p["remote_uid"] for p in site.document["properties"])
    assert sorted(owned) == want, f"owned {owned}, want {want}"
    problems: list[str] = []
    for prop in site.document["properties"]:
        uid = owned[prop["remote_uid"]]
        problems += await _room_problems(site, uid, prop)
        problems += await _price_problems(site, uid, prop)
        problems += await _calendar_problems(site, uid, prop)
        problems += await _closure_problems(site, uid, prop)
    assert not problems, "\n".join(problems)
    return owned


def _surname(booking: dict[str, Any]) -> str:
    guest = booking.get("guest_data") or {}
    return str(guest.get("enc_surname") or guest.get("surname") or "")


async def pushes(site: LiveSite, owned: dict[str, int]) -> dict[str, list[dict[str, Any]]]:
    """The channel's pushed bookings on the engine, by property remote uid (by their referrer)."""
    found: dict[str, list[dict[str, Any]]] = {}
    for remote, uid in owned.items():
        found[remote] = [b for b in await site.reader.bookings(uid) if b["referrer"] == REFERRER]
    return found


async def assert_reservations(
    site: LiveSite, owned: dict[str, int], *, cancelled_after_push: Collection[str] = ()
) -> int:
    """Every confirmed reservation booked once and live; each cancelled one cancelled, if pushed.

    Bookings are matched to reservations by property, nights and guest, which does not depend on
    the remote id the worker chose; every push must match one reservation. Returns the count.
    """
    found = await pushes(site, owned)
    problems: list[str] = []
    matched = 0
    for remote, reservation in reservations(site.document):
        same = [
            b
            for b in found[remote]
            if b["date_from"] == reservation["date_from"]
            and b["date_to"] == reservation["date_to"]
            and _surname(b) == reservation["guest"]["surname"]
        ]
        matched += len(same)
        statuses = [int(b["status"]["status_code"]) for b in same]
        rid = reservation["id"]
        if reservation["status"] == "confirmed" and (len(same) != 1 or CANCELLED in statuses):
            problems.append(f"{rid} confirmed: {len(same)} bookings, statuses {statuses}")
        if reservation["status"] == "cancelled":
            want = [CANCELLED] if rid in cancelled_after_push else []
            if statuses != want:
                problems.append(f"{rid} cancelled: bookings with statuses {statuses}, want {want}")
    total = sum(len(bookings) for bookings in found.values())
    if total != matched:
        problems.append(f"{total - matched} pushed bookings match no reservation: {found}")
    assert not problems, "\n".join(problems)
    return total
