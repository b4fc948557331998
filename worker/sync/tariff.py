"""Whether a property has its base price (its tariff), and setting it exactly once.

``PUT base/price`` creates the tariff and is not idempotent: a repeat is refused with "already
exists". So the fact is remembered in state (``state.has_base_price(uid)``); when state does not
know (first run, or a lost state directory) one night of the calendar is read: a night without a
tariff is priced ``0.00`` (the spec), or the calendar has no nights at all (the real engine's
"There are no tariffs" answer). A night without a ``price`` (the real engine lists none) still
says the tariff exists. Both jobs use this: the properties job sets the base price, the ARI job
only pushes prices for properties that have one (the server refuses them otherwise).
"""

from __future__ import annotations

from decimal import Decimal

from worker.errors import ClientRequestError, already_exists
from worker.logging import get_logger
from worker.sync.context import SyncContext

log = get_logger(__name__)


async def has_base_price(ctx: SyncContext, uid: int) -> bool:
    """True when the property has a tariff (state first, then one calendar night)."""
    if await ctx.state.has_base_price(uid):
        return True
    today = ctx.today()
    night = (await ctx.cmf.calendar(uid, today, today)).get(today)
    if night is None or (night.price is not None and night.price <= 0):
        return False
    await ctx.state.mark_base_price(uid)
    return True


async def ensure_base_price(
    ctx: SyncContext, uid: int, base_price: Decimal, max_people: int
) -> None:
    """Set the base price unless the property has one; "already exist(s)" on a replay is done.

    The real engine says "Tariffs already exist for this property ...", the spec "A tariff
    already exists": both mean a previous attempt (or the hotel) set it. A base price that was
    accepted is not taken on trust: the real engine answers ``true`` and creates nothing for a
    property without rooms, so the next ``has_base_price`` confirms it from the calendar.
    """
    if await has_base_price(ctx, uid):
        return
    try:
        await ctx.cmf.set_base_price(uid, base_price, max_people)
    except ClientRequestError as exc:
        if not already_exists(exc):
            raise
        log.info("property.base_price_exists")
        await ctx.state.mark_base_price(uid)
    else:
        log.info("property.base_price_set", base_price=str(base_price))
