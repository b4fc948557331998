"""The bookings job: bookings made on the hotel site go to the vendor's sink, each revision once.

Per owned property that ``booking_plan.needs_read`` selects (one ``change_logs()`` call decides):
read ``list/bookings``, skip this channel's own pushes and closures (``booking_plan``) and
bookings older than the cursor (the newest ``last_modified`` handled), and hand every new
revision ``<booking_id>:<last_modified>`` to the sink. Exactly once comes from two layers: state
remembers the last revision handled per booking (``meta["booking.revision:<id>"]``, which also
tells ``created`` from ``modified``), and the JSON-lines sink refuses a revision it already holds —
so a lost state directory re-offers bookings without duplicating lines (their ``event`` may then
read ``created`` again for a later revision). The cursor and the handled event id advance only
after every booking of the property was delivered; a failing sink leaves them where they were.
The job only reads the site, so it takes no write lock; a failing property still backs off.
"""

from __future__ import annotations

from worker.api.models import Booking
from worker.inventory.sink import booking_record
from worker.logging import get_logger
from worker.sync.booking_plan import (
    event_of,
    is_black_booking,
    is_own_push,
    needs_read,
    newest_booking_event,
    serialise,
    stamp,
)
from worker.sync.context import JobResult, SyncContext
from worker.sync.each import for_each_property

log = get_logger(__name__)


def _event_key(uid: int) -> str:
    return f"bookings.event:{uid}"


def _read_key(uid: int) -> str:
    return f"bookings.read:{uid}"


def _revision_key(booking_id: int) -> str:
    return f"booking.revision:{booking_id}"


class BookingsJob:
    """Pull bookings made on the hotel site into the sink."""

    name = "bookings"
    scopes: tuple[str, ...] = ("read",)

    async def run(self, ctx: SyncContext) -> JobResult:
        result = JobResult(self.name)
        logs = await ctx.cmf.change_logs()
        today = ctx.today().isoformat()
        targets: dict[int, int] = {}
        for uid, _ in ctx.owned.items():
            newest = newest_booking_event(logs.get(uid, []), ctx.settings.channel_name)
            read = needs_read(
                newest_event=newest,
                handled_event=int(await ctx.state.get_meta(_event_key(uid)) or 0),
                read_today=await ctx.state.get_meta(_read_key(uid)) == today,
            )
            if read:
                targets[uid] = newest
            else:
                result.counts["unchanged"] += 1
        remotes = {r.property_uid: r.remote_uid for r in await ctx.state.list_properties()}

        async def pull(uid: int) -> None:
            remote = remotes.get(uid) or ctx.owned.remote_uid(uid) or ""
            await self._pull(ctx, uid, remote, result)
            await ctx.state.set_meta(_event_key(uid), str(targets[uid]))
            await ctx.state.set_meta(_read_key(uid), today)

        await for_each_property(ctx, result, targets, pull, writes=False)
        return result

    async def _pull(self, ctx: SyncContext, uid: int, remote_uid: str, result: JobResult) -> None:
        cursor = await ctx.state.get_bookings_cursor(uid)
        latest = cursor
        pushed = await ctx.state.pushed_booking_ids(uid)
        closures = {
            r.contract_id for r in (await ctx.state.get_closures(uid)).values() if r.contract_id
        }
        for booking in await ctx.cmf.bookings(uid):
            modified = stamp(booking.last_modified)
            latest = max(latest or modified, modified)
            if cursor is not None and modified < cursor:
                continue
            if is_own_push(booking, pushed):
                result.counts["own"] += 1
                continue
            if is_black_booking(booking, closures):
                result.counts["closures"] += 1
                continue
            await self._deliver(ctx, booking, remote_uid, result)
        if latest is not None and latest != cursor:
            await ctx.state.set_bookings_cursor(uid, latest)

    async def _deliver(
        self, ctx: SyncContext, booking: Booking, remote_uid: str, result: JobResult
    ) -> None:
        body = serialise(booking)
        revision = f"{booking.booking_id}:{body['last_modified']}"
        handled = await ctx.state.get_meta(_revision_key(booking.booking_id))
        if handled == revision:
            return
        event = event_of(booking, first_seen=handled is None)
        record = booking_record(
            body,
            site=ctx.settings.base_url,
            channel=ctx.settings.channel_name,
            property_remote_uid=remote_uid,
            event=event,
        )
        if await ctx.sink.deliver(record):
            result.counts["delivered"] += 1
            log.info(
                "booking.delivered",
                booking_id=booking.booking_id,
                revision=revision,
                booking_event=event,
            )
        else:
            result.counts["already_delivered"] += 1
        await ctx.state.set_meta(_revision_key(booking.booking_id), revision)
