"""Room sync for one property: apply a ``RoomPlan`` and keep the room map in state.

Creating a room is not idempotent (a replay adds a twin), so every created room is recorded in
state right after its answer; if that answer is lost, the next run adopts the new room by its
``(room_name, room_number)`` instead of creating another (``property_plan.plan_rooms``).

The server's rooms are read only when something may have changed: a property whose rooms were
brought in line today, with the same vendor rooms and room map since (``rooms_fingerprint``,
kept in ``state.rooms_synced(uid)`` with the day), is skipped without a request.
Edits made on the site itself are caught by the first run of each day.

Rooms no vendor room claims are deleted only with ``BOOKYFLOW_PRUNE``, and not at all while the
property's entry lists no room, unless ``BOOKYFLOW_PRUNE_FORCE`` (``room.prune_refused``).
"""

from __future__ import annotations

from worker.errors import OperationFailed
from worker.inventory.models import Property as VendorProperty
from worker.inventory.models import Room as VendorRoom
from worker.logging import get_logger
from worker.sync.context import SyncContext
from worker.sync.property_plan import RoomPlan, plan_rooms, room_digest, rooms_fingerprint
from worker.sync.prune_plan import EMPTY_DOCUMENT

log = get_logger(__name__)


async def sync_rooms(ctx: SyncContext, prop: VendorProperty, uid: int) -> int:
    """Bring the property's rooms in line with the vendor's; returns the number of room writes."""
    mapped = await ctx.state.get_rooms(uid)
    today = ctx.today()
    if await ctx.state.rooms_synced(uid) == (today, rooms_fingerprint(prop.rooms, mapped)):
        return 0  # in line today and nothing changed since: no need to ask the site
    writes = await _apply(ctx, prop, uid, mapped)
    synced = rooms_fingerprint(prop.rooms, await ctx.state.get_rooms(uid))
    await ctx.state.mark_rooms_synced(uid, today, synced)
    return writes


async def _apply(ctx: SyncContext, prop: VendorProperty, uid: int, mapped: dict[str, int]) -> int:
    sent = await ctx.state.get_room_digests(uid)
    plan = plan_rooms(prop.rooms, mapped, await ctx.cmf.rooms(uid), sent)
    for remote_id in plan.stale:
        await ctx.state.forget_room(uid, remote_id)
    await _record_known(ctx, uid, prop, plan, mapped, sent)
    for room, room_uid in plan.update:
        await _update(ctx, uid, room, room_uid)
    for room in plan.create:
        room_uid = await _put(ctx, uid, room, 0)
        await ctx.state.record_room(uid, room.remote_id, room_uid, sent=room_digest(room))
        log.info("room.created", room_remote_id=room.remote_id, room_uid=room_uid)
    if ctx.settings.prune and await _prune(ctx, uid, plan):
        await _restore_room_map(ctx, prop, uid)
    return plan.writes


async def _record_known(
    ctx: SyncContext,
    uid: int,
    prop: VendorProperty,
    plan: RoomPlan,
    mapped: dict[str, int],
    sent: dict[str, str],
) -> None:
    """Record adopted rooms, and the vendor's room as sent where the server is in line."""
    updates = {room.remote_id for room, _ in plan.update}
    for room in prop.rooms:
        room_uid = plan.known.get(room.remote_id)
        if room_uid is None:
            continue
        adopted = mapped.get(room.remote_id) != room_uid
        if adopted:
            log.info("room.adopted", room_remote_id=room.remote_id, room_uid=room_uid)
        if room.remote_id in updates:
            if adopted:  # the map first; ``_update`` records what it sent
                await ctx.state.record_room(uid, room.remote_id, room_uid)
        elif adopted or room.remote_id not in sent:
            await ctx.state.record_room(uid, room.remote_id, room_uid, sent=room_digest(room))


async def _update(ctx: SyncContext, uid: int, room: VendorRoom, room_uid: int) -> None:
    """PUT an existing room; a refusal is reported once and not repeated until the room changes.

    The real engine refuses every PUT on a single-unit property once its unit was taken over
    ("Cannot add more than one room to an SRP"): re-sending it each cycle cannot help.
    """
    try:
        await _put(ctx, uid, room, room_uid)
    except OperationFailed as exc:
        log.warning("room.update_refused", room_remote_id=room.remote_id, message=exc.message)
    else:
        log.info("room.updated", room_remote_id=room.remote_id, room_uid=room_uid)
    await ctx.state.record_room(uid, room.remote_id, room_uid, sent=room_digest(room))


async def _put(ctx: SyncContext, uid: int, room: VendorRoom, room_uid: int) -> int:
    return await ctx.cmf.put_room(
        uid,
        room_type_id=room.room_type_id,
        max_people=room.max_people,
        room_name=room.name,
        room_number=room.number,
        room_uid=room_uid,
    )


async def _prune(ctx: SyncContext, uid: int, plan: RoomPlan) -> int:
    """Remove server rooms no vendor room claims; a room with bookings stays (and says so).

    Returns how many were deleted. Never every room because the entry lists none, unless
    forced (safe prune, ``worker.sync.prune_plan``): an empty list is what a broken export gives.
    """
    if _lists_no_room(plan) and plan.unclaimed and not ctx.settings.prune_force:
        log.warning("room.prune_refused", reason=EMPTY_DOCUMENT, rooms=len(plan.unclaimed))
        return 0
    deleted = 0
    for room_uid in plan.unclaimed:
        try:
            await ctx.cmf.delete_room(uid, room_uid)
        except OperationFailed as exc:
            log.warning("room.delete_refused", room_uid=room_uid, message=exc.message)
            continue
        deleted += 1
        log.info("room.deleted", room_uid=room_uid)
    return deleted


def _lists_no_room(plan: RoomPlan) -> bool:
    """Whether the vendor's entry lists no room: every vendor room is known or to be created."""
    return not plan.known and not plan.create


async def _restore_room_map(ctx: SyncContext, prop: VendorProperty, uid: int) -> None:
    """The real engine drops the channel's map of the property's rooms with any room it deletes
    (every reservation is then refused and the calendar answers "There are no rooms"); any
    ``PUT room`` rebuilds it from all the rooms, so one kept room is sent again."""
    mapped = await ctx.state.get_rooms(uid)
    kept = next((room for room in prop.rooms if room.remote_id in mapped), None)
    if kept is None:
        return
    try:
        await _put(ctx, uid, kept, mapped[kept.remote_id])
    except OperationFailed as exc:  # a single-unit property refuses every later PUT room
        log.warning("room.map_restore_refused", message=exc.message)
        return
    log.info("room.map_restored", room_remote_id=kept.remote_id)
