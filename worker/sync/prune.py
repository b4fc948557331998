"""Safe pruning of properties (``BOOKYFLOW_PRUNE``): the I/O around ``prune_plan``.

Owned properties the vendor's document no longer lists are deleted from the site only when the
document was read cleanly (no problem, nothing held: a bad entry could be any property), and then
only as ``prune_plan`` allows: never on an empty document, never more than
``BOOKYFLOW_PRUNE_MAX_FRACTION`` of the owned properties in one cycle, never a property holding
an active pushed reservation, the last two unless ``BOOKYFLOW_PRUNE_FORCE``.

Live reservations are known from state first (no request: a pushed, not cancelled reservation
whose last night is not past), then, for the few properties about to be deleted, from the site's
bookings (``live_on_site``): a lost or restored state directory must not cost a guest's booking.
The share is judged before the site is asked, so a refused mass removal costs no request.

Log events: ``property.prune_skipped`` (the document has problems), ``property.prune_refused``
(the cycle deletes nothing: ``reason`` ``empty_document`` or ``max_fraction``, with ``leaving``,
``owned``, ``allowed``, ``max_fraction``), ``property.prune_kept`` (one property kept for its live
reservations), ``property.deleted``. A refused cycle counts ``prune_refused`` and, as ``held``, the
properties it left in place, so ``sync --once`` exits 1 and the held-items gauge shows them.
"""

from __future__ import annotations

from collections.abc import Iterable

from worker.errors import BookyFlowError
from worker.inventory.document import InventorySnapshot
from worker.logging import get_logger
from worker.sync.context import SyncContext
from worker.sync.job import JobResult
from worker.sync.prune_plan import PrunePlan, plan_prune, reservation_active
from worker.sync.reservation_plan import is_active, read_pushed

__all__ = ["active_reservations", "live_on_site", "prune_properties"]

log = get_logger("worker.sync.properties")


async def prune_properties(
    ctx: SyncContext,
    snapshot: InventorySnapshot,
    server: list[tuple[int, str]],
    kept: set[int | None],
    result: JobResult,
) -> None:
    """Delete what the rules allow of the owned properties (``server``) not in ``kept``."""
    if not snapshot.fresh or snapshot.problems or snapshot.held:
        log.info("property.prune_skipped", reason="inventory has problems")
        return
    by_state = {r.property_uid: r.remote_uid for r in await ctx.state.list_properties()}
    remote_of = {uid: by_state.get(uid, remote) for uid, remote in server}
    listed = snapshot.by_remote_uid().keys()  # one the document names is never pruned
    leaving = [uid for uid, _ in server if uid not in kept and remote_of[uid] not in listed]
    settings = ctx.settings

    def plan(active: set[int]) -> PrunePlan:
        return plan_prune(
            leaving,
            owned=len(server),
            document_properties=len(snapshot.properties),
            active=active,
            max_fraction=settings.prune_max_fraction,
            force=settings.prune_force,
        )

    known = await active_reservations(ctx, leaving)
    verdict = plan(known)
    if verdict.delete and not settings.prune_force:
        # State may be lost or behind: the site's bookings decide, for the few about to go.
        verdict = plan(known | await live_on_site(ctx, verdict.delete))
    _report(verdict, remote_of, settings.prune_max_fraction, result)
    for uid in verdict.delete:
        await _delete(ctx, uid, remote_of[uid], result)


async def active_reservations(ctx: SyncContext, uids: Iterable[int]) -> set[int]:
    """The properties among ``uids`` holding a reservation the worker pushed that is live."""
    today = ctx.today()
    active = set()
    for uid in uids:
        for record in await ctx.state.reservations_of(uid):
            pushed = read_pushed(record.push_record)
            last_night = pushed.last_night if pushed else None
            if reservation_active(record.status, last_night, today):
                active.add(uid)
                break
    return active


async def live_on_site(ctx: SyncContext, uids: Iterable[int]) -> set[int]:
    """The properties among ``uids`` whose site bookings hold a live push of the channel.

    A push of the channel carries its link (``mapping``); a cancelled one loses it. A property
    whose bookings cannot be read now counts as live: unsure means keep.
    """
    today = ctx.today()
    live = set()
    for uid in uids:
        try:
            bookings = await ctx.cmf.bookings(uid)
        except BookyFlowError as exc:
            log.warning("property.prune_kept", uid=uid, reason="bookings_unread", error=str(exc))
            live.add(uid)
            continue
        if any(b.mapping is not None and is_active(b) and b.date_to >= today for b in bookings):
            live.add(uid)
    return live


def _report(
    plan: PrunePlan, remote_of: dict[int, str], max_fraction: float, result: JobResult
) -> None:
    for uid in plan.kept:
        result.counts["prune_kept"] += 1
        log.warning(
            "property.prune_kept",
            uid=uid,
            remote_uid=remote_of.get(uid),
            reason="active_reservation",
            note="it holds a live reservation pushed by the worker; BOOKYFLOW_PRUNE_FORCE=true",
        )
    if plan.refused is None:
        return
    result.counts["prune_refused"] += 1
    result.counts["held"] += plan.figures["leaving"] - len(plan.kept)
    log.warning(
        "property.prune_refused",
        reason=plan.refused,
        max_fraction=max_fraction,
        **plan.figures,
        note=_REFUSAL_NOTE[plan.refused],
    )


_REFUSAL_NOTE = {
    "empty_document": "the inventory lists no property: nothing is deleted on its account",
    "max_fraction": (
        "more properties would leave than BOOKYFLOW_PRUNE_MAX_FRACTION allows in one cycle; "
        "none was deleted (BOOKYFLOW_PRUNE_FORCE=true for one run if the removal is real)"
    ),
}


async def _delete(ctx: SyncContext, uid: int, remote_uid: str, result: JobResult) -> None:
    try:
        async with ctx.gates.writing(uid):
            await ctx.cmf.delete_property(uid)
    except Exception as exc:  # one property's failure must not stop the others
        result.fail(f"property {uid}", exc)
        return
    ctx.owned.discard(uid)
    await ctx.state.forget_property(remote_uid)
    result.counts["deleted"] += 1
    log.info("property.deleted", uid=uid, remote_uid=remote_uid)
