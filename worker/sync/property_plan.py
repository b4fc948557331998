"""Pure planning for the properties job: recognising our properties and rooms on the server.

Remote uids. The server lists our properties with the ``remote_uid`` they were created with, but
legacy servers cast it to an integer (``"0042"`` → ``"42"``, ``"abc"`` → ``"0"``). A vendor
property is found on the server by its exact remote uid first, then by that legacy form (a
"mangled" match, which the job logs). Uids already claimed by another vendor property are never
matched twice. Several candidates (only possible with mangled uids) are ambiguous and resolved by
the caller (by name) or left alone.

A property state knows but ``properties/ids`` omits (a flaky or restored site) is asked for by
uid before anything else; ``still_ours`` judges the answer: the same uid, and the remote uid we
created it with when the site tells one (exactly or in the legacy cast; the real engine's
property object has none, and its ownership check already refused anything not ours).

Rooms. The vendor room ``remote_id`` maps to a BookyFlow ``room_uid`` in state. A mapped room that
still exists on the server is kept; an unmapped one (first run, state lost, or a create whose
answer was lost) adopts an unclaimed server room with the same ``(room_name, room_number)``, or
else an unclaimed room with neither name nor number: the unit the site created itself with a
single-unit property (a villa, an apartment), which is taken over rather than joined by a second
room. Anything else is created. A kept or adopted room is updated when its name, number or type
differ from the server's, or when the vendor's room changed since it was last sent
(``room_digest``, kept in state). Capacity is compared only that way: the real engine stores its
own ``max_people`` whatever is sent, so comparing with the server's would re-send the room every
cycle. Server rooms no vendor room claims are only removed when pruning is enabled.

Politeness. ``rooms_fingerprint`` digests the vendor's rooms together with the room map in state;
once a property's rooms were brought in line, the job records it and does not read the server's
rooms again until the fingerprint changes (a vendor edit, a lost or edited room map) or the day
does (a daily reconciliation catches edits made on the site).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from worker.api.models import Property as ServerProperty
from worker.api.models import Room as ServerRoom
from worker.inventory.models import Room as VendorRoom


def legacy_remote_uid(remote_uid: str) -> str:
    """What a legacy server stores for ``remote_uid`` (an integer cast)."""
    if remote_uid.isascii() and remote_uid.isdigit():
        return str(int(remote_uid))
    return "0"


@dataclass(frozen=True, slots=True)
class RemoteMatch:
    """A server property that carries a vendor property's remote uid."""

    uid: int
    mangled: bool  # matched only through the legacy integer cast


def find_on_server(
    remote_uid: str, server: Iterable[tuple[int, str]], claimed: Iterable[int] = ()
) -> list[RemoteMatch]:
    """Server properties (``(uid, remote)`` pairs) that may be ``remote_uid``, exact ones first."""
    taken = set(claimed)
    pairs = [(uid, remote) for uid, remote in server if uid not in taken]
    exact = [RemoteMatch(uid, False) for uid, remote in pairs if remote == remote_uid]
    if exact:
        return exact
    legacy = legacy_remote_uid(remote_uid)
    return [RemoteMatch(uid, True) for uid, remote in pairs if remote == legacy]


def still_ours(remote_uid: str, uid: int, server: ServerProperty) -> bool:
    """Whether ``GET property/<uid>`` shows the property created as ``remote_uid`` (see above)."""
    if server.property_uid != uid:
        return False
    return server.remote_uid in (None, "", remote_uid, legacy_remote_uid(remote_uid))


def rooms_fingerprint(vendor: Sequence[VendorRoom], mapped: Mapping[str, int]) -> str:
    """A short digest of the vendor's rooms and the state's room map; equal means unchanged."""
    rooms = sorted(
        (r.remote_id, r.name, r.number, r.room_type_id, r.max_people, mapped.get(r.remote_id))
        for r in vendor
    )
    text = repr((rooms, sorted(mapped.items())))
    return hashlib.blake2b(text.encode(), digest_size=12).hexdigest()


@dataclass(frozen=True)
class RoomPlan:
    """What to do with the rooms of one property."""

    known: dict[str, int] = field(default_factory=dict)  # remote_id → room_uid found on server
    create: list[VendorRoom] = field(default_factory=list)
    update: list[tuple[VendorRoom, int]] = field(default_factory=list)
    stale: list[str] = field(default_factory=list)  # state entries to forget
    unclaimed: list[int] = field(default_factory=list)  # server rooms of no vendor room

    @property
    def writes(self) -> int:
        return len(self.create) + len(self.update)


def room_digest(room: VendorRoom) -> str:
    """A short digest of what is sent for a vendor room; equal means nothing to send."""
    text = repr((room.name, room.number, room.room_type_id, room.max_people))
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def _differs(vendor: VendorRoom, server: ServerRoom, sent: str | None) -> bool:
    seen = (server.room_name, server.room_number, server.room_type_id)
    if (vendor.name, vendor.number, vendor.room_type_id) != seen:
        return True
    return sent is not None and sent != room_digest(vendor)


def _exact(room: VendorRoom) -> tuple[str, str]:
    return room.name, room.number


def _unnamed(room: VendorRoom) -> tuple[str, str]:
    return "", ""


def _adopt(
    pending: Sequence[VendorRoom], server: Mapping[int, ServerRoom], claimed: set[int]
) -> tuple[dict[str, int], list[VendorRoom]]:
    """Unmapped vendor rooms take unclaimed server rooms: first those with the same name and
    number, then the nameless, numberless unit a single-unit property was created with."""
    adopted: dict[str, int] = {}
    for wanted in (_exact, _unnamed):
        for room in pending:
            if room.remote_id in adopted:
                continue
            match = next(
                (
                    uid
                    for uid, seen in server.items()
                    if uid not in claimed and (seen.room_name, seen.room_number) == wanted(room)
                ),
                None,
            )
            if match is not None:
                adopted[room.remote_id] = match
                claimed.add(match)
    return adopted, [room for room in pending if room.remote_id not in adopted]


def plan_rooms(
    vendor: Sequence[VendorRoom],
    mapped: Mapping[str, int],
    server: Sequence[ServerRoom],
    sent: Mapping[str, str] | None = None,
) -> RoomPlan:
    """Keep, adopt, create or update each vendor room; see the module docstring.

    ``sent`` maps vendor room ids to the ``room_digest`` last sent for them.
    """
    sent = sent or {}
    by_uid = {room.room_uid: room for room in server}
    claimed: set[int] = set()
    known: dict[str, int] = {}
    pending: list[VendorRoom] = []
    for room in vendor:
        uid = mapped.get(room.remote_id)
        if uid is not None and uid in by_uid and uid not in claimed:
            known[room.remote_id] = uid
            claimed.add(uid)
        else:
            pending.append(room)
    adopted, create = _adopt(pending, by_uid, claimed)
    known.update(adopted)
    update = [(r, known[r.remote_id]) for r in vendor if r.remote_id in known]
    return RoomPlan(
        known=known,
        create=create,
        update=[(r, uid) for r, uid in update if _differs(r, by_uid[uid], sent.get(r.remote_id))],
        stale=[remote_id for remote_id, uid in mapped.items() if known.get(remote_id) != uid],
        unclaimed=sorted(set(by_uid) - claimed),
    )
