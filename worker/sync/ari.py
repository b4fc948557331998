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
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, timedelta
from decimal import Decimal

from worker.api.models import DateRange, MinStayRange, RateRange
from worker.inventory.models import Property as VendorProperty
from worker.logging import get_logger
from worker.state import PushedCell
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
from worker.sync.each import for_each_property, known_uid
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


class AriJob:
    """Keep prices, minimum stays and closures in step with the inventory."""

    name = "ari"
    scopes: tuple[str, ...] = ("read", "write", "delete")  # reopening a closure deletes

    async def run(self, ctx: SyncContext) -> JobResult:
        result = JobResult(self.name)
        snapshot = await ctx.source.load()
        targets: dict[int, VendorProperty] = {}
        for prop in snapshot.properties:
            uid = await known_uid(ctx, prop.remote_uid)
            if prop.remote_uid in snapshot.held:
                result.counts["held"] += 1
            elif uid is None:
                result.counts["not_created"] += 1
            else:
                targets[uid] = prop

        async def sync(uid: int) -> None:
            await self._sync(ctx, targets[uid], uid, result)

        await for_each_property(ctx, result, targets, sync)
        return result

    async def _sync(
        self, ctx: SyncContext, prop: VendorProperty, uid: int, result: JobResult
    ) -> None:
        if not await has_base_price(ctx, uid):
            result.counts["no_base_price"] += 1
            return
        today = ctx.today()
        start, end = horizon(today, ctx.settings.horizon_days)
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
        await sync_closures(ctx, prop, uid, server_closures, result)

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
