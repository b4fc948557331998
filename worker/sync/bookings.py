"""The bookings job: bookings made on the hotel site go to the vendor's sink, each revision once.

Per owned property that ``booking_plan.needs_read`` selects (one ``change_logs()`` call decides):
read ``list/bookings``, skip this channel's own pushes and closures (``booking_plan``), and hand
every revision ``<booking_id>:<last_modified>`` not handled yet to the sink. "Handled" is judged
per booking, against the last revision state holds for it (``booking_revisions``), never
against one cursor per property: a booking stamped before the newest one seen (a site clock
stepping back, a transaction committing late) and its cancellation still reach the vendor.
State keeps one row per booking the site lists and forgets a booking once the site stops
listing it, so it is bounded by the site's list, not by uptime.

Exactly once comes from two layers: state remembers the last revision handled per booking (which
also tells ``created`` from ``modified``), and the JSON-lines sink refuses a revision it already
holds — so a lost state directory re-offers bookings without duplicating lines. A booking's
revision is recorded as soon as the sink holds it; the handled change-log event advances only
after the whole property was handled, so a failing sink has the property read again.

One poison booking never blocks the others (issue 11): text UTF-8 cannot encode is replaced and
the line flagged (``sink.encodable``, ``booking.characters_replaced``); a booking the client
cannot parse at all is **parked** — one ``booking.parked`` warning per revision, kept in state
and counted as the job's ``held`` items (``bookyflow_held_items{reason="parked"}``) until the
hotel's next change makes it readable — while the rest of the property is delivered.

The same change log shows edits made on the site itself (``worker.sync.drift``): each owned
property with new ones is logged once as ``site.drift`` and marked for correction (the next ARI
run reconciles it, the next properties run re-checks its rooms).

The change log is read once per run (one GET) but parsed only when its answer differs from the
last run's: each site keeps the answer's digest and what the job uses of it (``LogMemo``:
per property the newest booking event and the drift events, ``booking_plan.summarise``), and
state is read in one query for every property (``bookings_read_all``, ``drift_seen_all``).

The job only reads the site, so it takes no write lock; a failing property still backs off.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any
from weakref import WeakKeyDictionary

from worker.api.cmf import Cmf
from worker.api.models import Booking
from worker.errors import MalformedResponse
from worker.inventory.sink import booking_record, encodable
from worker.logging import get_logger
from worker.state import BookingRevision
from worker.sync.booking_plan import (
    PropertyLog,
    Unreadable,
    event_of,
    is_black_booking,
    is_handled,
    is_own_push,
    needs_read,
    parse_each,
    revision_of,
    serialise,
    summarise,
)
from worker.sync.context import SyncContext
from worker.sync.drift import site_drift
from worker.sync.each import for_each_property
from worker.sync.job import JobResult

log = get_logger(__name__)


async def mark_site_drift(
    ctx: SyncContext,
    logs: Mapping[int, PropertyLog],
    result: JobResult,
) -> None:
    """Mark the owned properties edited on the site since last seen for correction; log each.

    State is read (one query) only when an owned property's log holds drift at all."""
    edited = [uid for uid, _ in ctx.owned.items() if uid in logs and logs[uid].drift]
    seen = await ctx.state.drift_seen_all(edited) if edited else {}
    remotes: dict[int | None, str] | None = None
    for uid in edited:
        drift = site_drift(logs[uid].drift, ctx.settings.channel_name, seen[uid])
        if drift is None:
            continue
        await ctx.state.mark_drift(
            uid, drift.newest_event, reconcile=drift.reconcile, rooms=drift.rooms
        )
        result.counts["drift"] += 1
        remotes = await remote_uids(ctx) if remotes is None else remotes
        log.info(
            "site.drift",
            property_uid=uid,
            remote_uid=remotes.get(uid) or ctx.owned.remote_uid(uid) or "",
            actions=list(drift.actions),
            redo=list(drift.redo),
        )


async def remote_uids(ctx: SyncContext) -> dict[int | None, str]:
    """The vendor's remote uid of each property state knows (read only when one is named)."""
    return {r.property_uid: r.remote_uid for r in await ctx.state.list_properties()}


@dataclass
class LogMemo:
    """One site's last change log: the digest of the answer, and what the job used of it."""

    channel: str = ""
    digest: bytes | None = None
    logs: dict[int, PropertyLog] = field(default_factory=dict)


async def list_bookings(ctx: SyncContext, uid: int) -> tuple[list[Booking], list[Unreadable]]:
    """The property's bookings, and those the client could not parse.

    The typed call parses the list whole, so one bad booking fails it (a non-retryable
    ``MalformedResponse``); only then is the same list read again as plain JSON and parsed
    booking by booking (``parse_each``). A body that is no JSON at all still fails the property.
    """
    try:
        return await ctx.cmf.bookings(uid), []
    except MalformedResponse as exc:
        if exc.retryable:  # truncated or not JSON: nothing in it can be read
            raise
    # The path of ``Cmf.bookings``; the property passed its ownership guard just above.
    payload = await ctx.cmf.client.request("GET", f"cmf/property/list/bookings/{uid}")
    return parse_each(payload)


class BookingsJob:
    """Pull bookings made on the hotel site into the sink."""

    name = "bookings"
    scopes: tuple[str, ...] = ("read",)

    def __init__(self) -> None:
        # One job serves every site of the process: each site's memo is keyed by its ``Cmf``,
        # weakly, so it goes with the site (bounded by the sites, not by uptime).
        self._memos: WeakKeyDictionary[Cmf, LogMemo] = WeakKeyDictionary()

    async def change_log(self, ctx: SyncContext) -> dict[int, PropertyLog]:
        """This run's change log, as ``summarise`` keeps it: one GET, parsed only when its
        answer differs from the last run's (the same answer gives the same summary)."""
        channel = ctx.settings.channel_name
        memo = self._memos.get(ctx.cmf)
        if memo is None or memo.channel != channel:
            memo = self._memos[ctx.cmf] = LogMemo(channel)
        digest, events = await ctx.cmf.change_logs_unless(memo.digest)
        if events is not None:
            memo.digest, memo.logs = digest, summarise(events, channel)
        return memo.logs

    async def run(self, ctx: SyncContext) -> JobResult:
        result = JobResult(self.name)
        logs = await self.change_log(ctx)
        await mark_site_drift(ctx, logs, result)
        today = ctx.today()
        owned = [uid for uid, _ in ctx.owned.items()]
        handled_all = await ctx.state.bookings_read_all(owned)
        targets: dict[int, int] = {}
        for uid in owned:
            newest = logs[uid].newest_booking if uid in logs else 0
            handled = handled_all[uid]
            read = needs_read(
                newest_event=newest, handled_event=handled.event, read_today=handled.day == today
            )
            if read:
                targets[uid] = newest
            else:
                result.counts["unchanged"] += 1

        remotes = await remote_uids(ctx) if targets else {}

        async def pull(uid: int) -> None:
            remote = remotes.get(uid) or ctx.owned.remote_uid(uid) or ""
            await self._pull(ctx, uid, remote, result)
            await ctx.state.mark_bookings_read(uid, targets[uid], today)

        await for_each_property(ctx, result, targets, pull, writes=False)
        # Parked bookings are what this job leaves waiting, read or not in this run.
        result.counts["held"] += await ctx.state.parked_booking_count()
        return result

    async def _pull(self, ctx: SyncContext, uid: int, remote_uid: str, result: JobResult) -> None:
        bookings, unreadable = await list_bookings(ctx, uid)
        handled = await ctx.state.booking_revisions(uid)
        listed: list[int] = []
        for booking in await self._site_bookings(ctx, uid, bookings, result):
            listed.append(booking.booking_id)
            previous = handled.get(booking.booking_id)
            if not is_handled(revision_of(booking), previous):
                await self._deliver(ctx, uid, booking, remote_uid, previous, result)
        for item in unreadable:
            previous = None if item.booking_id is None else handled.get(item.booking_id)
            listed += [] if item.booking_id is None else [item.booking_id]
            await self._park(ctx, uid, item, previous, result)
        await ctx.state.retain_booking_revisions(uid, listed)

    async def _site_bookings(
        self, ctx: SyncContext, uid: int, bookings: list[Booking], result: JobResult
    ) -> list[Booking]:
        """The bookings made on the site: not our own pushes, not closures."""
        pushed = await ctx.state.pushed_booking_ids(uid)
        closures = {
            r.contract_id for r in (await ctx.state.get_closures(uid)).values() if r.contract_id
        }
        site: list[Booking] = []
        for booking in bookings:
            if is_own_push(booking, pushed):
                result.counts["own"] += 1
            elif is_black_booking(booking, closures):
                result.counts["closures"] += 1
            else:
                site.append(booking)
        return site

    async def _deliver(
        self,
        ctx: SyncContext,
        uid: int,
        booking: Booking,
        remote_uid: str,
        previous: BookingRevision | None,
        result: JobResult,
    ) -> None:
        body = serialise(booking)
        revision = revision_of(booking)
        event = event_of(booking, first_seen=previous is None or previous.delivered is None)
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
                **({"flags": record["flags"]} if "flags" in record else {}),
            )
            self._report_replaced(body, booking, revision, result)
        else:
            result.counts["already_delivered"] += 1
        await ctx.state.record_booking_delivered(uid, booking.booking_id, revision)

    @staticmethod
    def _report_replaced(
        body: dict[str, Any], booking: Booking, revision: str, result: JobResult
    ) -> None:
        """One warning per delivered revision whose text had to be changed (field paths only)."""
        _, replaced = encodable(body)
        if replaced:
            result.counts["flagged"] += 1
            log.warning(
                "booking.characters_replaced",
                booking_id=booking.booking_id,
                revision=revision,
                fields=replaced,
            )

    async def _park(
        self,
        ctx: SyncContext,
        uid: int,
        item: Unreadable,
        previous: BookingRevision | None,
        result: JobResult,
    ) -> None:
        """Set an unreadable booking aside: one warning per revision, kept in state as held.

        Without a readable id there is nothing to key it by: it is reported on every read
        (once a day, or when the change log shows news) and counted held for this run.
        """
        if previous is not None and previous.parked == item.revision:
            return
        result.counts["parked"] += 1
        log.warning(
            "booking.parked",
            booking_id=item.booking_id,
            revision=item.revision,
            reason=item.reason,
        )
        if item.booking_id is None:
            result.counts["held"] += 1
            return
        await ctx.state.record_booking_parked(uid, item.booking_id, item.revision, item.reason)
