"""Remote-uid matching (legacy integer casts) and room planning."""

from __future__ import annotations

from worker.api.models import Room as ServerRoom
from worker.inventory.models import Room as VendorRoom
from worker.sync.property_plan import (
    RemoteMatch,
    find_on_server,
    legacy_remote_uid,
    plan_rooms,
    room_digest,
)


def _vendor(remote_id: str, name: str, number: str, max_people: int = 2) -> VendorRoom:
    return VendorRoom(
        remote_id=remote_id, room_type_id=1, name=name, number=number, max_people=max_people
    )


def _server(uid: int, name: str, number: str, max_people: int = 2) -> ServerRoom:
    return ServerRoom(
        room_uid=uid, room_name=name, room_number=number, room_type_id=1, max_people=max_people
    )


def test_legacy_remote_uid_casts_like_an_old_server() -> None:
    """Digits lose leading zeros; anything else becomes "0"."""
    assert legacy_remote_uid("0042") == "42"
    assert legacy_remote_uid("abc") == "0"
    assert legacy_remote_uid("١٢") == "0"  # non-ASCII digits are not PHP integers


def test_find_on_server_prefers_exact_and_skips_claimed() -> None:
    """An exact remote uid wins over a mangled one; claimed uids are never matched again."""
    server = [(1, "42"), (2, "0042")]
    assert find_on_server("0042", server) == [RemoteMatch(2, False)]
    assert find_on_server("0042", server, claimed={2}) == [RemoteMatch(1, True)]
    assert find_on_server("7", server) == []


def test_plan_rooms_keeps_adopts_creates_and_updates() -> None:
    """Mapped rooms kept, lost ones adopted by name/number, changed ones updated, new created."""
    vendor = [_vendor("A", "Sea", "1"), _vendor("B", "Garden", "2", 3), _vendor("C", "Attic", "3")]
    server = [_server(10, "Sea", "1"), _server(11, "Garden", "2"), _server(12, "Old", "9")]
    sent = {"B": room_digest(_vendor("B", "Garden", "2", 2))}  # capacity changed since sent
    plan = plan_rooms(vendor, {"A": 10, "Z": 99}, server, sent)
    assert plan.known == {"A": 10, "B": 11}
    assert [r.remote_id for r in plan.create] == ["C"]
    assert [(r.remote_id, uid) for r, uid in plan.update] == [("B", 11)]
    assert plan.stale == ["Z"]
    assert plan.unclaimed == [12]
    assert plan.writes == 2


def test_capacity_the_server_rewrites_is_not_sent_again() -> None:
    """The real engine stores its own max_people: a room sent once is not re-sent for that."""
    vendor = [_vendor("A", "Sea", "1", 4)]
    server = [_server(10, "Sea", "1", 2)]
    assert plan_rooms(vendor, {"A": 10}, server, {"A": room_digest(vendor[0])}).update == []
    assert plan_rooms(vendor, {"A": 10}, server).update == []  # nothing known: in line by name


def test_the_unit_of_a_single_unit_property_is_taken_over() -> None:
    """An unnamed, unnumbered server room (made by the site with the villa) is adopted and
    updated instead of a second room being created; an exact name still wins over it."""
    vendor = [_vendor("V", "Whole villa", "1")]
    plan = plan_rooms(vendor, {}, [_server(5, "", "")])
    assert plan.known == {"V": 5}
    assert plan.create == []
    assert [(r.remote_id, uid) for r, uid in plan.update] == [("V", 5)]
    both = plan_rooms(vendor, {}, [_server(5, "", ""), _server(6, "Whole villa", "1")])
    assert both.known == {"V": 6}
    assert both.unclaimed == [5]
