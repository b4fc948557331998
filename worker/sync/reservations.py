"""The reservations job: push confirmed OTA reservations once, cancel cancelled ones once.

Crash and state-loss safety (``reservation_plan`` has the decision table and the site ids):

- Before every ``reservations/add`` the job looks for an earlier push of the reservation among
  the property's bookings (``list/bookings``, read once per property per run and only when a
  reservation needs it; a lost state directory must not duplicate). ``booking/link`` is not
  enough: the real engine finds no non-numeric remote id with it, and a cancelled push loses its
  link. A reservation the site already has is adopted as ``pushed``.
- The intent (with the site id) is written before the PUT and the outcome after it. A crash or
  a lost answer in between leaves the intent, which the next run resolves the same way.
- One reservation per call, so each outcome is unambiguous. ``unsuccessful_bookings`` marks the
  reservation ``failed`` (``reservation.rejected``); it is sent again only when its content
  changes (a digest is kept with its record: ``ReservationRecord.rejected_digest``).
- A cancelled reservation is cancelled once if it was ever pushed (state, or the bookings when
  state does not know); one never pushed is remembered as cancelled without a request. A push
  made under a non-numeric id (by an earlier version) is never cancelled by that id: on the real
  engine that would cancel every text-id booking of the channel. It is first moved to its
  numeric site id (``PUT booking/link``, which rewrites the booking's link row), then cancelled
  by that; where the site refuses the move, or the booking id is unknown, it is held and
  reported once (``reservation.cancel_unsafe``) for the hotel to cancel on its site.
- A pushed reservation whose dates, room type, guests, prices or guest details change in the
  document is reported as ``reservation.changed`` with the field names, once per change
  (``reservation_plan.report_change``): BookyFlow has no call to modify a booking. What was
  pushed is kept as field digests with the stay's last night (``ReservationRecord.push_record``).

An unchanged run is cheap: the records are read in one query (``Known``), the content is
digested only for the steps that compare it (``needs_digest``), and a pushed reservation found
unchanged is not compared again while its document object and push record stay (``Unchanged``).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from weakref import WeakKeyDictionary

import structlog

from worker.api.models import Booking
from worker.errors import ClientRequestError, MalformedResponse, OperationFailed
from worker.inventory.models import Property as VendorProperty
from worker.inventory.models import Reservation as VendorReservation
from worker.logging import get_logger
from worker.state import ReservationRecord, StateStore
from worker.sync.context import SyncContext
from worker.sync.each import for_each_property, known_uids
from worker.sync.job import JobResult
from worker.sync.reservation_plan import (
    PushedRecord,
    Step,
    cancellable_id,
    content_digest,
    field_digests,
    find_pushed,
    is_active,
    needs_digest,
    next_step,
    pushed_id,
    read_pushed,
    report_change,
    site_reservation_id,
    to_api,
)

log = get_logger(__name__)
NEVER_PUSHED = "never pushed"
CANCEL_UNSAFE = "cancel held: pushed under a non-numeric id; cancel it on the site"
CANCELLED_ON_SITE = "cancelled on the site"
NO_MODIFY = (
    "changed after it was pushed; BookyFlow has no modify call: change it on the site "
    "(or cancel it there and push it as a new reservation)"
)


async def _remember_pushed(ctx: SyncContext, reservation: VendorReservation) -> None:
    """Keep what was pushed (field digests and last night): ``reservation.changed`` compares
    with it, and safe prune keeps a property whose pushed stay has not ended."""
    await ctx.state.remember_push(reservation.id, PushedRecord.of(reservation).dump())


@dataclass
class _Bookings:
    """The property's bookings, read at most once per run (only when a step needs them)."""

    ctx: SyncContext
    uid: int
    _listed: list[Booking] | None = field(default=None, init=False)

    async def pushes_of(self, ota_id: str, site_id: str) -> list[Booking]:
        if self._listed is None:
            self._listed = await self.ctx.cmf.bookings(self.uid)
        return find_pushed(self._listed, ota_id, site_id)


@dataclass(frozen=True)
class Unchanged:
    """A pushed reservation found unchanged: this document reservation (frozen: the same
    object is the same reservation) against this push record; ``report_change`` of the two is
    None, so nothing is compared again while both stay."""

    reservation: VendorReservation
    push_record: str | None


@dataclass(frozen=True)
class Known:
    """What one run read of the reservations' records in one query (``reservations_by_id``),
    trusted while the store's ``generations["reservations"]`` has not moved (any record
    written since, and each reservation reads its own), and the site's ``Unchanged`` ones."""

    generation: int
    records: Mapping[str, ReservationRecord]
    unchanged: dict[str, Unchanged]

    async def record(self, ctx: SyncContext, remote_id: str) -> ReservationRecord | None:
        if ctx.state.generations["reservations"] == self.generation:
            return self.records.get(remote_id)
        return await ctx.state.get_reservation(remote_id)


class ReservationsJob:
    """Push and cancel the vendor's OTA reservations, never twice."""

    name = "reservations"
    scopes: tuple[str, ...] = ("read", "write")

    def __init__(self) -> None:
        # One job serves every site: each site's ``Unchanged`` reservations, keyed by its state
        # store, weakly (gone with the site); a full run forgets those the document dropped.
        self._unchanged: WeakKeyDictionary[StateStore, dict[str, Unchanged]] = WeakKeyDictionary()

    async def run(self, ctx: SyncContext) -> JobResult:
        result = JobResult(self.name)
        snapshot = await ctx.source.load()
        uids = await known_uids(ctx, [prop.remote_uid for prop in snapshot.properties])
        targets: dict[int, VendorProperty] = {}
        for prop in snapshot.properties:
            uid = uids[prop.remote_uid]
            if prop.remote_uid in snapshot.held:
                result.counts["held"] += 1
            elif uid is None:
                result.counts["not_created"] += len(prop.reservations)
            elif prop.reservations:
                targets[uid] = prop
        known = await self._known(ctx, targets)

        async def sync(uid: int) -> None:
            bookings = _Bookings(ctx, uid)
            for reservation in targets[uid].reservations:
                with structlog.contextvars.bound_contextvars(reservation_id=reservation.id):
                    await self._one(ctx, uid, reservation, bookings, result, known)

        await for_each_property(ctx, result, targets, sync)
        return result

    async def _known(self, ctx: SyncContext, targets: Mapping[int, VendorProperty]) -> Known:
        ids = {r.id for prop in targets.values() for r in prop.reservations}
        unchanged = self._unchanged.setdefault(ctx.state, {})
        if ctx.only is None:  # a full run sees the whole document
            for remote_id in [remote_id for remote_id in unchanged if remote_id not in ids]:
                del unchanged[remote_id]
        generation = ctx.state.generations["reservations"]
        return Known(generation, await ctx.state.reservations_by_id(ids), unchanged)

    async def _one(
        self,
        ctx: SyncContext,
        uid: int,
        reservation: VendorReservation,
        bookings: _Bookings,
        result: JobResult,
        known: Known,
    ) -> None:
        record = await known.record(ctx, reservation.id)
        status = record.status if record else None
        digest = ""  # only the steps that use it digest the content
        if needs_digest(reservation.status, status):
            digest = content_digest(to_api(uid, reservation))
        rejected = record.rejected_digest if record and status == "failed" else None
        step = next_step(reservation.status, status, digest=digest, rejected_digest=rejected)
        if step is Step.PUSH:
            await self._push(ctx, uid, reservation, digest, bookings, result)
        elif step is Step.CANCEL and record is not None:
            await self._cancel(ctx, record, result)
        elif step is Step.CHECK_THEN_CANCEL:
            await self._check_then_cancel(ctx, uid, reservation.id, bookings, result)
        elif step is Step.NEVER_PUSHED:
            await self._never_pushed(ctx, uid, reservation.id, result)
        elif record and status == "pushed" and reservation.status == "confirmed":
            await self._check_changed(ctx, reservation, record, result, known.unchanged)

    async def _push(
        self,
        ctx: SyncContext,
        uid: int,
        reservation: VendorReservation,
        digest: str,
        bookings: _Bookings,
        result: JobResult,
    ) -> None:
        site_id = site_reservation_id(reservation.id)
        if await self._adopted(ctx, uid, reservation, site_id, bookings, result):
            return
        await ctx.state.record_reservation(reservation.id, uid, "intent", site_id=site_id)
        outcome = await ctx.cmf.add_reservations([to_api(uid, reservation, site_id)])
        done = outcome.successful_bookings.get(site_id)
        if done is not None and done.success:
            contract = done.link.contract_uid if done.link else None
            booking_ids = (contract,) if contract else await self._relink(ctx, uid, site_id)
            await ctx.state.record_reservation(
                reservation.id, uid, "pushed", booking_ids=booking_ids
            )
            await _remember_pushed(ctx, reservation)
            result.counts["pushed"] += 1
            log.info("reservation.pushed", booking_ids=list(booking_ids), site_id=site_id)
            return
        refused = outcome.unsuccessful_bookings.get(site_id)
        message = (refused.message if refused else None) or "the site booked nothing"
        await ctx.state.record_reservation(
            reservation.id, uid, "failed", message=message, rejected_digest=digest
        )
        result.counts["rejected"] += 1
        log.warning("reservation.rejected", message=message)

    async def _relink(
        self, ctx: SyncContext, uid: int, site_id: str, *, live_only: bool = False
    ) -> tuple[int, ...]:
        """Find the push by its number (the remote id) and give it back its link row, without
        which a cancel finds nothing: a push answered without its booking id, or a cancel
        answered "No reservations found" (``live_only``: only bookings not cancelled)."""
        found = [
            b
            for b in await ctx.cmf.bookings(uid)
            if b.booking_number == site_id and (is_active(b) or not live_only)
        ]
        for booking in found:
            await ctx.cmf.link_booking(uid, site_id, booking.booking_id)
        if found:
            log.warning("reservation.link_restored", site_id=site_id,
                        booking_ids=[b.booking_id for b in found])  # fmt: skip
        return tuple(b.booking_id for b in found)

    async def _check_changed(
        self,
        ctx: SyncContext,
        reservation: VendorReservation,
        record: ReservationRecord,
        result: JobResult,
        unchanged: dict[str, Unchanged],
    ) -> None:
        """``reservation.changed`` once per change of a pushed reservation (module docstring).

        A push recorded before the worker kept what it sent takes the document's current
        version as what was sent: from then on, changes are reported. One found unchanged
        (``Unchanged``) is not compared again.
        """
        seen = Unchanged(reservation, record.push_record)
        if unchanged.get(reservation.id) == seen:
            return
        pushed = read_pushed(record.push_record)
        if pushed is None:
            await _remember_pushed(ctx, reservation)
            return
        report = report_change(pushed, field_digests(reservation))
        if report is None:
            unchanged[reservation.id] = seen
            return
        await ctx.state.remember_push(reservation.id, report.record.dump())
        if report.fields:
            result.counts["changed"] += 1
            log.warning("reservation.changed", fields=list(report.fields), message=NO_MODIFY)

    async def _adopted(
        self,
        ctx: SyncContext,
        uid: int,
        reservation: VendorReservation,
        site_id: str,
        bookings: _Bookings,
        result: JobResult,
    ) -> bool:
        """Record an earlier push found on the site; True when there was one."""
        ota_id = reservation.id
        found = await bookings.pushes_of(ota_id, site_id)
        if not found:
            return False
        active = [b for b in found if is_active(b)]
        ids = tuple(b.booking_id for b in found)
        if active:
            await ctx.state.record_reservation(
                ota_id, uid, "pushed", booking_ids=ids, site_id=pushed_id(active[0])
            )
            await _remember_pushed(ctx, reservation)
            result.counts["adopted"] += 1
            log.info("reservation.adopted", booking_ids=list(ids), site_id=pushed_id(active[0]))
        else:  # pushed once, then cancelled (by us or on the site): never push it again
            await ctx.state.record_reservation(
                ota_id, uid, "cancelled", booking_ids=ids, message=CANCELLED_ON_SITE,
                site_id=pushed_id(found[0]),
            )  # fmt: skip
            result.counts["cancelled_on_site"] += 1
            log.warning("reservation.cancelled_on_site", booking_ids=list(ids))
        return True

    async def _cancel(self, ctx: SyncContext, record: ReservationRecord, result: JobResult) -> None:
        remote_id, uid, booking_ids = record.remote_id, record.property_uid, record.booking_ids
        site_id: str | None = record.site_id or remote_id
        if not cancellable_id(site_id or ""):
            site_id = await self._relinked(ctx, record)
        if site_id is None:
            await self._hold_cancel(ctx, record, result)
            return
        await ctx.state.record_reservation(remote_id, uid, "cancel_intent", booking_ids=booking_ids)
        message = await self._send_cancel(ctx, uid, site_id)
        await ctx.state.record_reservation(
            remote_id, uid, "cancelled", booking_ids=booking_ids, message=message
        )
        result.counts["cancelled"] += 1
        log.info("reservation.cancelled", booking_ids=list(booking_ids), site_id=site_id)

    async def _send_cancel(self, ctx: SyncContext, uid: int, site_id: str) -> str | None:
        """Cancel ``site_id``; None when done, else why nothing was cancelled.

        "No reservations found" with the booking still live on the site means its link row is
        gone (the engine's inner link write failed): the link is restored and the cancel sent
        once more. A booking that is not live any more needed no cancel.
        """
        try:
            await ctx.cmf.cancel_reservations([site_id])
            return None
        except OperationFailed as exc:  # "No reservations found"
            first = exc.message
        if not await self._relink(ctx, uid, site_id, live_only=True):
            log.info("reservation.cancel_not_found", message=first)
            return first
        await ctx.cmf.cancel_reservations([site_id])
        return None

    async def _relinked(self, ctx: SyncContext, record: ReservationRecord) -> str | None:
        """Move a text-id push to its numeric site id; the new id, or None when it cannot be."""
        if not record.booking_ids:
            return None
        site_id = site_reservation_id(record.remote_id)
        try:
            for booking_id in record.booking_ids:
                await ctx.cmf.link_booking(record.property_uid, site_id, booking_id)
        except (ClientRequestError, MalformedResponse) as exc:
            log.warning("reservation.relink_refused", message=exc.message)
            return None
        await ctx.state.record_reservation(
            record.remote_id, record.property_uid, record.status,
            booking_ids=record.booking_ids, message=record.message, site_id=site_id,
        )  # fmt: skip
        log.info("reservation.relinked", old_id=record.remote_id, site_id=site_id)
        return site_id

    async def _hold_cancel(
        self, ctx: SyncContext, record: ReservationRecord, result: JobResult
    ) -> None:
        result.counts["held"] += 1
        if record.message == CANCEL_UNSAFE:
            return  # reported once already
        await ctx.state.record_reservation(
            record.remote_id, record.property_uid, record.status,
            booking_ids=record.booking_ids, message=CANCEL_UNSAFE,
        )  # fmt: skip
        log.warning(
            "reservation.cancel_unsafe",
            booking_ids=list(record.booking_ids),
            site_id=record.site_id or record.remote_id,
            message=CANCEL_UNSAFE,
        )

    async def _check_then_cancel(
        self, ctx: SyncContext, uid: int, remote_id: str, bookings: _Bookings, result: JobResult
    ) -> None:
        site_id = site_reservation_id(remote_id)
        found = await bookings.pushes_of(remote_id, site_id)
        active = [b for b in found if is_active(b)]
        if not found:
            await self._never_pushed(ctx, uid, remote_id, result)
            return
        if not active:  # already cancelled on the site: nothing to send
            ids = tuple(b.booking_id for b in found)
            await ctx.state.record_reservation(
                remote_id, uid, "cancelled", booking_ids=ids, site_id=pushed_id(found[0])
            )
            result.counts["already_cancelled"] += 1
            log.info("reservation.already_cancelled", booking_ids=list(ids))
            return
        ids = tuple(b.booking_id for b in active)
        await ctx.state.record_reservation(
            remote_id, uid, "pushed", booking_ids=ids, site_id=pushed_id(active[0])
        )
        record = await ctx.state.get_reservation(remote_id)
        if record is not None:
            await self._cancel(ctx, record, result)

    async def _never_pushed(
        self, ctx: SyncContext, uid: int, remote_id: str, result: JobResult
    ) -> None:
        await ctx.state.record_reservation(remote_id, uid, "cancelled", message=NEVER_PUSHED)
        result.counts["never_pushed"] += 1
        log.info("reservation.never_pushed")
