"""The reservations job: push confirmed OTA reservations once, cancel cancelled ones once.

Crash and state-loss safety (``reservation_plan`` has the decision table):

- Before every ``reservations/add`` the job asks ``booking/link`` for the reservation id (one
  cheap GET, even when state has no record: a lost state directory must not duplicate). A
  reservation the site already has is adopted as ``pushed``.
- The intent is written before the PUT and the outcome after it. A crash or a lost answer in
  between leaves the intent, which the next run resolves through ``booking/link``.
- One reservation per call, so each outcome is unambiguous. ``unsuccessful_bookings`` marks the
  reservation ``failed`` (``reservation.rejected``); it is sent again only when its content
  changes (a digest is kept in ``meta["reservation.rejected:<id>"]``).
- A cancelled reservation is cancelled once if it was ever pushed (state, or ``booking/link``
  when state does not know); one never pushed is remembered as cancelled without a request.
"""

from __future__ import annotations

import structlog

from worker.errors import OperationFailed
from worker.inventory.models import Property as VendorProperty
from worker.inventory.models import Reservation as VendorReservation
from worker.logging import get_logger
from worker.state import ReservationRecord
from worker.sync.context import JobResult, SyncContext
from worker.sync.each import for_each_property, known_uid
from worker.sync.reservation_plan import Step, content_digest, next_step, to_api

log = get_logger(__name__)
NEVER_PUSHED = "never pushed"


def _rejected_key(remote_id: str) -> str:
    return f"reservation.rejected:{remote_id}"


class ReservationsJob:
    """Push and cancel the vendor's OTA reservations, never twice."""

    name = "reservations"
    scopes: tuple[str, ...] = ("read", "write")

    async def run(self, ctx: SyncContext) -> JobResult:
        result = JobResult(self.name)
        snapshot = await ctx.source.load()
        targets: dict[int, VendorProperty] = {}
        for prop in snapshot.properties:
            uid = await known_uid(ctx, prop.remote_uid)
            if prop.remote_uid in snapshot.held:
                result.counts["held"] += 1
            elif uid is None:
                result.counts["not_created"] += len(prop.reservations)
            elif prop.reservations:
                targets[uid] = prop

        async def sync(uid: int) -> None:
            for reservation in targets[uid].reservations:
                with structlog.contextvars.bound_contextvars(reservation_id=reservation.id):
                    await self._one(ctx, uid, reservation, result)

        await for_each_property(ctx, result, targets, sync)
        return result

    async def _one(
        self, ctx: SyncContext, uid: int, reservation: VendorReservation, result: JobResult
    ) -> None:
        record = await ctx.state.get_reservation(reservation.id)
        status = record.status if record else None
        digest = content_digest(to_api(uid, reservation))
        rejected = (
            await ctx.state.get_meta(_rejected_key(reservation.id)) if status == "failed" else None
        )
        step = next_step(reservation.status, status, digest=digest, rejected_digest=rejected)
        if step is Step.PUSH:
            await self._push(ctx, uid, reservation, digest, result)
        elif step is Step.CANCEL and record is not None:
            await self._cancel(ctx, record, result)
        elif step is Step.CHECK_THEN_CANCEL:
            await self._check_then_cancel(ctx, uid, reservation.id, result)
        elif step is Step.NEVER_PUSHED:
            await self._never_pushed(ctx, uid, reservation.id, result)

    async def _push(
        self,
        ctx: SyncContext,
        uid: int,
        reservation: VendorReservation,
        digest: str,
        result: JobResult,
    ) -> None:
        links = await ctx.cmf.booking_link(uid, reservation.id)
        if links:
            await ctx.state.record_reservation(
                reservation.id, uid, "pushed", booking_ids=tuple(links)
            )
            result.counts["adopted"] += 1
            log.info("reservation.adopted", booking_ids=links)
            return
        await ctx.state.record_reservation(reservation.id, uid, "intent")
        outcome = await ctx.cmf.add_reservations([to_api(uid, reservation)])
        done = outcome.successful_bookings.get(reservation.id)
        if done is not None and done.success:
            booking_ids = (done.link.contract_uid,) if done.link else ()
            await ctx.state.record_reservation(
                reservation.id, uid, "pushed", booking_ids=booking_ids
            )
            result.counts["pushed"] += 1
            log.info("reservation.pushed", booking_ids=list(booking_ids))
            return
        refused = outcome.unsuccessful_bookings.get(reservation.id)
        message = (refused.message if refused else None) or "the site booked nothing"
        await ctx.state.record_reservation(reservation.id, uid, "failed", message=message)
        await ctx.state.set_meta(_rejected_key(reservation.id), digest)
        result.counts["rejected"] += 1
        log.warning("reservation.rejected", message=message)

    async def _cancel(self, ctx: SyncContext, record: ReservationRecord, result: JobResult) -> None:
        remote_id, uid, booking_ids = record.remote_id, record.property_uid, record.booking_ids
        await ctx.state.record_reservation(remote_id, uid, "cancel_intent", booking_ids=booking_ids)
        message = None
        try:
            await ctx.cmf.cancel_reservations([remote_id])
        except OperationFailed as exc:  # "No reservations found": nothing left to cancel
            message = exc.message
            log.warning("reservation.cancel_not_found", message=message)
        await ctx.state.record_reservation(
            remote_id, uid, "cancelled", booking_ids=booking_ids, message=message
        )
        result.counts["cancelled"] += 1
        log.info("reservation.cancelled", booking_ids=list(booking_ids))

    async def _check_then_cancel(
        self, ctx: SyncContext, uid: int, remote_id: str, result: JobResult
    ) -> None:
        links = await ctx.cmf.booking_link(uid, remote_id)
        if not links:
            await self._never_pushed(ctx, uid, remote_id, result)
            return
        await ctx.state.record_reservation(remote_id, uid, "pushed", booking_ids=tuple(links))
        record = await ctx.state.get_reservation(remote_id)
        if record is not None:
            await self._cancel(ctx, record, result)

    async def _never_pushed(
        self, ctx: SyncContext, uid: int, remote_id: str, result: JobResult
    ) -> None:
        await ctx.state.record_reservation(remote_id, uid, "cancelled", message=NEVER_PUSHED)
        result.counts["never_pushed"] += 1
        log.info("reservation.never_pushed")
