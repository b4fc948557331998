"""The ARI job: prices, minimum stays and closures over a rolling horizon, sending only changes.

Per owned vendor property that has its base price (``tariff.has_base_price``), under the
property's write lock:

1. Forget pushed nights before today; past nights are never sent.
2. **Reconcile** when state has no pushed nights for the property (first run, or after a state
   loss) or the last reconciliation was not today (``state.reconciled_on(uid)``, compared
   with ``ctx.today()``, so it happens once per day in ``BOOKYFLOW_TIMEZONE`` without a wall-clock
   read): the server's calendar over the horizon replaces what state believes was pushed (nights
   priced ``0.00`` have no tariff and count as never pushed), and the black-booking list is
   reconciled with the closure records. The normal diff then corrects any drift, and a site that
   is already right receives nothing.
3. **Diff** the desired nights (``ari_plan.desired_cells`` over ``[today, today + horizon)``)
   against the pushed ones, merge equal consecutive nights into ranges and send one
   ``set_prices`` and one ``set_minstays`` call (in chunks of ``MAX_RANGES_PER_CALL``). The new
   nights are recorded only after every chunk succeeded; both calls set values, so a resend
   after a failure is harmless.
4. **Closures** (``closures.sync_closures``).

An unchanged run costs no diff: state is read for every property at once (tariff known, day
reconciled, a digest of the pushed nights: two queries, ``Batch``), and a property whose diff
was found empty against the same inventory object, horizon and pushed digest (``Checked``, kept
per site in memory) skips steps 1-3: the diff would be empty again. A reconciliation due, any
write to those parts of state since the batch read, or a new snapshot takes the full path.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from weakref import WeakKeyDictionary

from worker.api.models import DateRange, MinStayRange, RateRange
from worker.inventory.models import Property as VendorProperty
from worker.logging import get_logger
from worker.state import AriProgress, PushedCell, StateStore
from worker.sync.ari_plan import (
    AriCell,
    AriDelta,
    desired_cells,
    diff_cells,
    horizon,
    nights_from_tariffs,
)
from worker.sync.closures import sync_closures
from worker.sync.context import SyncContext
from worker.sync.each import for_each_property, known_uids
from worker.sync.job import JobResult
from worker.sync.ranges import Span
from worker.sync.tariff import has_base_price

log = get_logger(__name__)

MAX_RANGES_PER_CALL = 200


def desired_for(prop: VendorProperty, start: date, end: date) -> dict[date, AriCell]:
    """Every night of ``[start, end)`` as the vendor wants it."""
    return desired_cells(
        base_price=prop.base_price,
        rates=[Span(r.date_from, r.date_to, r.price) for r in prop.rates],
        minstays=[Span(m.date_from, m.date_to, m.minstay) for m in prop.minstays],
        start=start,
        end=end,
    )


@dataclass(frozen=True)
class Checked:
    """A property whose diff was found empty: against this inventory property (frozen: the same
    object is the same inventory), over this horizon, with pushed nights of this digest."""

    prop: VendorProperty
    start: date
    end: date
    pushed: bytes | None


@dataclass(frozen=True)
class Batch:
    """What one run read of state for all its properties in two queries: tariff known and day
    reconciled (``ari_progress_all``), the pushed nights' digests (``pushed_digests``), and the
    site's ``Checked`` properties. The reads are trusted only while the store's
    ``generations["ari"]`` has not moved since (``current``): any such write, and a property falls
    back to reading state itself."""

    generation: int
    progress: Mapping[int, AriProgress]
    digests: Mapping[int, bytes]
    checked: dict[int, Checked]

    def current(self, ctx: SyncContext) -> bool:
        return ctx.state.generations["ari"] == self.generation


class AriJob:
    """Keep prices, minimum stays and closures in step with the inventory."""

    name = "ari"
    scopes: tuple[str, ...] = ("read", "write", "delete")  # reopening a closure deletes

    def __init__(self) -> None:
        # One job serves every site: each site's ``Checked`` per property, keyed by its state
        # store, weakly (gone with the site); a full run forgets properties not synced any more.
        self._checked: WeakKeyDictionary[StateStore, dict[int, Checked]] = WeakKeyDictionary()

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
                result.counts["not_created"] += 1
            else:
                targets[uid] = prop
        batch = await self._batch(ctx, targets)

        async def sync(uid: int) -> None:
            await self._sync(ctx, targets[uid], uid, result, batch)

        await for_each_property(ctx, result, targets, sync)
        return result

    async def _batch(self, ctx: SyncContext, targets: Mapping[int, VendorProperty]) -> Batch:
        """What the run reads of state for every property at once (see ``Batch``)."""
        checked = self._checked.setdefault(ctx.state, {})
        if ctx.only is None:  # a full run sees every property: forget those not synced any more
            for uid in [uid for uid in checked if uid not in targets]:
                del checked[uid]
        generation = ctx.state.generations["ari"]
        progress = await ctx.state.ari_progress_all(targets)
        digests = await ctx.state.pushed_digests(targets)
        return Batch(generation, progress, digests, checked)

    async def _sync(
        self, ctx: SyncContext, prop: VendorProperty, uid: int, result: JobResult, batch: Batch
    ) -> None:
        known = batch.progress.get(uid) if batch.current(ctx) else None
        if not (known and known.base_price_known) and not await has_base_price(ctx, uid):
            result.counts["no_base_price"] += 1
            return
        today = ctx.today()
        start, end = horizon(today, ctx.settings.horizon_days)
        check = Checked(prop, start, end, batch.digests.get(uid))
        trusted = (
            batch.current(ctx)
            and known is not None
            and known.reconciled_on == today
            and check.pushed is not None
        )
        server_closures: Mapping[int, DateRange] | None = None
        if not (trusted and batch.checked.get(uid) == check):
            server_closures = await self._diff_and_push(ctx, prop, uid, start, end, result)
            if trusted and server_closures is None and batch.current(ctx):
                batch.checked[uid] = check  # nothing written: this diff was empty
        await sync_closures(ctx, prop, uid, server_closures, result)

    async def _diff_and_push(
        self,
        ctx: SyncContext,
        prop: VendorProperty,
        uid: int,
        start: date,
        end: date,
        result: JobResult,
    ) -> Mapping[int, DateRange] | None:
        """Steps 1-3 of the module docstring; the server's closures when it reconciled."""
        today = start
        pushed = await self._pushed_from(ctx, uid, today)
        server_closures: Mapping[int, DateRange] | None = None
        if not pushed or await ctx.state.reconciled_on(uid) != today:
            pushed = await self._reconcile(ctx, uid, start, end, pushed)
            server_closures = await ctx.cmf.blackbookings(uid)
            await ctx.state.mark_reconciled(uid, today)
        delta = diff_cells(desired_for(prop, start, end), pushed)
        if not delta.empty:
            await self._push(ctx, uid, delta)
            result.counts["pushed"] += 1
        return server_closures

    async def _pushed_from(self, ctx: SyncContext, uid: int, today: date) -> dict[date, PushedCell]:
        """What state says was pushed from today on; past nights are forgotten (a write only
        when there are any, instead of an empty DELETE transaction per property per run)."""
        pushed = await ctx.state.get_pushed(uid)
        if any(day < today for day in pushed):
            await ctx.state.forget_pushed(uid, before=today)
            pushed = {day: cell for day, cell in pushed.items() if day >= today}
        return pushed

    async def _reconcile(
        self, ctx: SyncContext, uid: int, start: date, end: date, before: Mapping[date, PushedCell]
    ) -> dict[date, PushedCell]:
        """Adopt the server's calendar as what was pushed.

        The calendar gives each night's minimum stay, and its price where the site lists one;
        where it does not (the real engine), the prices come from the tariffs (``list/prices``).
        """
        days = await ctx.cmf.calendar(uid, start, end - timedelta(days=1))
        prices = {day: info.price for day, info in days.items() if info.price is not None}
        if len(prices) < len(days):
            prices = nights_from_tariffs(await ctx.cmf.tariffs(uid), start, end)
        cells = {
            day: PushedCell(prices[day], info.minstay)
            for day, info in days.items()
            if start <= day < end and prices.get(day, Decimal(0)) > Decimal(0)
        }
        await ctx.state.forget_pushed(uid)
        await ctx.state.record_pushed(uid, cells)
        drift = sum(1 for day, cell in cells.items() if before.get(day) not in (None, cell))
        log.info("ari.reconciled", nights=len(cells), drifted_nights=drift, had_state=bool(before))
        return cells

    async def _push(self, ctx: SyncContext, uid: int, delta: AriDelta) -> None:
        prices = [
            RateRange(date_from=s.date_from, date_to=s.date_to, ratepernight=s.value)
            for s in delta.prices
        ]
        minstays = [
            MinStayRange(date_from=s.date_from, date_to=s.date_to, minstay=s.value)
            for s in delta.minstays
        ]
        for i in range(0, len(prices), MAX_RANGES_PER_CALL):
            await ctx.cmf.set_prices(uid, prices[i : i + MAX_RANGES_PER_CALL])
        for i in range(0, len(minstays), MAX_RANGES_PER_CALL):
            await ctx.cmf.set_minstays(uid, minstays[i : i + MAX_RANGES_PER_CALL])
        cells = {day: PushedCell(cell.price, cell.minstay) for day, cell in delta.cells.items()}
        await ctx.state.record_pushed(uid, cells)
        log.info(
            "ari.pushed",
            price_ranges=len(prices),
            minstay_ranges=len(minstays),
            nights=len(delta.cells),
        )
