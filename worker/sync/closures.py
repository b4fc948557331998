"""Closures of one property: vendor closures become black bookings, vanished ones are reopened.

``add_blackbooking`` is not idempotent, so each create writes an intent (a closure record without
contract id) first. An intent is resolved against the server's list (``list/blackbookings``): a
black booking with the intent's nights that no other record claims is adopted; none means the
request never landed and the closure is planned again. The list is read only when needed: for
intents, and at the ARI job's reconciliation (first run after a state loss, then daily), where
it also adopts black bookings that match a vendor closure (a lost state must not duplicate them)
and forgets records whose black booking someone deleted (so they are created again).

Matching uses the nights from today on (``clip_to_future``): the server lists a running closure
with its original first night, while the worker may have sent it clipped to the day it was made.
The list does not tell rooms apart, so nights alone decide. Black bookings the worker cannot tie
to a vendor closure are left alone: the hotel may have made them.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from worker.api.models import DateRange
from worker.errors import ClientRequestError, OperationFailed
from worker.inventory.models import Property as VendorProperty
from worker.logging import get_logger
from worker.state import ClosureRecord
from worker.sync.closure_plan import ClosureSpec, PushedClosure, clip_to_future, plan_closures
from worker.sync.context import SyncContext
from worker.sync.job import JobResult

log = get_logger(__name__)


def desired_closures(
    prop: VendorProperty, rooms: Mapping[str, int]
) -> tuple[dict[str, ClosureSpec], set[str]]:
    """Vendor closures with room uids resolved, and the ids whose rooms are not mapped yet."""
    desired: dict[str, ClosureSpec] = {}
    unresolved: set[str] = set()
    for closure in prop.closures:
        if not all(remote_id in rooms for remote_id in closure.room_remote_ids):
            unresolved.add(closure.id)
            continue
        room_uids = tuple(sorted(rooms[r] for r in closure.room_remote_ids))
        desired[closure.id] = ClosureSpec(closure.date_from, closure.date_to, room_uids)
    return desired, unresolved


def _same_nights(record: ClosureRecord | ClosureSpec, nights: DateRange, today: date) -> bool:
    mine = clip_to_future(ClosureSpec(record.date_from, record.date_to), today)
    theirs = clip_to_future(ClosureSpec(nights.date_from, nights.date_to), today)
    return mine is not None and mine == theirs


def _free_match(
    spec: ClosureRecord | ClosureSpec,
    server: Mapping[int, DateRange],
    claimed: set[int],
    today: date,
) -> int | None:
    for contract_id, nights in sorted(server.items()):
        if contract_id not in claimed and _same_nights(spec, nights, today):
            return contract_id
    return None


async def reconcile_closures(
    ctx: SyncContext,
    uid: int,
    records: dict[str, ClosureRecord],
    server: Mapping[int, DateRange],
    desired: Mapping[str, ClosureSpec],
    today: date,
) -> dict[str, ClosureRecord]:
    """Records made true to the server's list; see the module docstring."""
    claimed = {
        r.contract_id
        for r in records.values()
        if r.contract_id is not None and r.contract_id in server
    }
    kept: dict[str, ClosureRecord] = {}
    for closure_id, record in records.items():
        if record.contract_id is None or record.contract_id not in server:
            contract_id = _free_match(record, server, claimed, today)
            if contract_id is None:
                if record.date_to >= today:
                    log.info("closure.not_on_server", closure_id=closure_id)
                await ctx.state.forget_closure(uid, closure_id)
                continue
            record = ClosureRecord(
                closure_id, contract_id, record.date_from, record.date_to, record.room_uids
            )
            claimed.add(contract_id)
            await ctx.state.record_closure(uid, record)
            log.info("closure.adopted", closure_id=closure_id, contract_id=contract_id)
        kept[closure_id] = record
    for closure_id, spec in desired.items():
        contract_id = None if closure_id in kept else _free_match(spec, server, claimed, today)
        if contract_id is not None:
            nights = server[contract_id]
            record = ClosureRecord(
                closure_id, contract_id, nights.date_from, nights.date_to, spec.room_uids
            )
            claimed.add(contract_id)
            await ctx.state.record_closure(uid, record)
            kept[closure_id] = record
            log.info("closure.adopted", closure_id=closure_id, contract_id=contract_id)
    return kept


async def sync_closures(
    ctx: SyncContext,
    prop: VendorProperty,
    uid: int,
    server: Mapping[int, DateRange] | None,
    result: JobResult,
) -> None:
    """Create new closures, reopen vanished ones; ``server`` is the list when already read."""
    today = ctx.today()
    desired, unresolved = desired_closures(prop, await ctx.state.get_rooms(uid))
    records = await ctx.state.get_closures(uid)
    if server is None and any(r.contract_id is None for r in records.values()):
        server = await ctx.cmf.blackbookings(uid)
    if server is not None:
        records = await reconcile_closures(ctx, uid, records, server, desired, today)
    pushed = {
        closure_id: PushedClosure(r.contract_id, ClosureSpec(r.date_from, r.date_to, r.room_uids))
        for closure_id, r in records.items()
        if r.contract_id is not None and closure_id not in unresolved
    }
    plan = plan_closures(desired, pushed, today)
    for closure_id in plan.forget:
        await ctx.state.forget_closure(uid, closure_id)
    for closure_id, done in plan.reopen.items():
        await _reopen(ctx, uid, closure_id, done, result)
    for closure_id, spec in plan.create.items():
        await _create(ctx, uid, closure_id, spec, result)


async def _reopen(
    ctx: SyncContext, uid: int, closure_id: str, done: PushedClosure, result: JobResult
) -> None:
    try:
        await ctx.cmf.delete_blackbooking(uid, done.contract_id)
    except OperationFailed:
        raise
    except ClientRequestError as exc:  # already gone: someone removed it on the site
        log.info("closure.already_gone", closure_id=closure_id, message=exc.message)
    await ctx.state.forget_closure(uid, closure_id)
    result.counts["reopened"] += 1
    log.info("closure.reopened", closure_id=closure_id, contract_id=done.contract_id)


async def _create(
    ctx: SyncContext, uid: int, closure_id: str, spec: ClosureSpec, result: JobResult
) -> None:
    intent = ClosureRecord(closure_id, None, spec.date_from, spec.date_to, spec.room_uids)
    await ctx.state.record_closure(uid, intent)
    nights = DateRange(date_from=spec.date_from, date_to=spec.date_to)
    try:
        contract_id = await ctx.cmf.add_blackbooking(uid, nights, room_ids=spec.room_uids)
    except OperationFailed as exc:  # the nights are booked: nothing was created
        await ctx.state.forget_closure(uid, closure_id)
        result.counts["rejected"] += 1
        log.warning("closure.rejected", closure_id=closure_id, message=exc.message)
        return
    await ctx.state.record_closure(
        uid, ClosureRecord(closure_id, contract_id, spec.date_from, spec.date_to, spec.room_uids)
    )
    result.counts["closed"] += 1
    log.info("closure.created", closure_id=closure_id, contract_id=contract_id)
