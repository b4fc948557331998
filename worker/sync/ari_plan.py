"""What the ARI job must send: the pure diff between the inventory and what was last pushed.

The worker remembers, per property and night, the price and minimum stay it last pushed (or
read back during a reconciliation). Each cycle it computes the desired cells over the rolling
horizon, keeps only the nights that differ, and merges equal consecutive nights into ranges — so
an unchanged inventory sends nothing and a one-night edit sends one one-night range. The closure
plan, the ARI job's other half, is ``worker.sync.closure_plan``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Protocol

from worker.api.models import TariffNight
from worker.sync.ranges import Span, compress, expand, nights


@dataclass(frozen=True, slots=True)
class AriCell:
    """What one night should cost and its minimum stay."""

    price: Decimal
    minstay: int


@dataclass(frozen=True)
class AriDelta:
    """The writes that bring the server from ``pushed`` to ``desired``."""

    prices: list[Span[Decimal]] = field(default_factory=list)
    minstays: list[Span[int]] = field(default_factory=list)
    cells: dict[date, AriCell] = field(default_factory=dict)  # the new cells, to record once sent

    @property
    def empty(self) -> bool:
        return not (self.prices or self.minstays)


def horizon(today: date, days: int) -> tuple[date, date]:
    """``[today, today + days)``: never a past night."""
    return today, today + timedelta(days=days)


class Cell(Protocol):
    """Anything with a night's price and minimum stay (``AriCell``, ``state.PushedCell``)."""

    @property
    def price(self) -> Decimal: ...

    @property
    def minstay(self) -> int: ...


def desired_cells(
    *,
    base_price: Decimal,
    rates: Iterable[Span[Decimal]],
    minstays: Iterable[Span[int]],
    start: date,
    end: date,
) -> dict[date, AriCell]:
    """Every night of the horizon: base price unless a rate covers it; minimum stay 1 unless set.

    Nights with equal values share one (frozen) ``AriCell``: a year has a few dozen distinct
    cells, and building 365 objects per property per run showed up in the profile.
    """
    price_by_night = expand(rates, start, end)
    minstay_by_night = expand(minstays, start, end)
    shared: dict[tuple[Decimal, int], AriCell] = {}
    cells: dict[date, AriCell] = {}
    for day in nights(start, end):
        key = (price_by_night.get(day, base_price), minstay_by_night.get(day, 1))
        cell = shared.get(key)
        if cell is None:
            cell = shared[key] = AriCell(*key)
        cells[day] = cell
    return cells


def diff_cells(desired: Mapping[date, AriCell], pushed: Mapping[date, Cell]) -> AriDelta:
    """Ranges of nights whose price or minimum stay differ from what was last pushed.

    A night whose price is sent gets its minimum stay sent too: the real engine's ``PUT
    prices`` resets the minimum stay of every night it prices to the tariff's default, so the
    minimum stays (pushed after the prices) put them back.
    """
    price_changes: dict[date, Decimal] = {}
    minstay_changes: dict[date, int] = {}
    changed: dict[date, AriCell] = {}
    for day, cell in desired.items():
        before = pushed.get(day)
        price_changed = before is None or before.price != cell.price
        minstay_changed = price_changed or (before is not None and before.minstay != cell.minstay)
        if price_changed:
            price_changes[day] = cell.price
        if minstay_changed:
            minstay_changes[day] = cell.minstay
        if price_changed or minstay_changed:
            changed[day] = cell
    return AriDelta(compress(price_changes), compress(minstay_changes), changed)


def nights_from_tariffs(
    tariffs: Mapping[str, Sequence[TariffNight]], start: date, end: date
) -> dict[date, Decimal]:
    """The price of each night of ``[start, end)`` that the tariffs of ``list/prices`` agree on.

    One tariff per room type, each a list of ranges (later entries win where they overlap). A
    night the tariffs price differently, or that none prices, is left out: it counts as never
    pushed, so the ARI diff sends it again and the tariffs come back in line.
    """
    agreed: dict[date, Decimal] = {}
    disputed: set[date] = set()
    for entries in tariffs.values():
        own: dict[date, Decimal] = {}
        for entry in entries:
            first, last = max(entry.date_from, start), min(entry.date_to, end - timedelta(days=1))
            own.update(dict.fromkeys(nights(first, last + timedelta(days=1)), entry.price))
        for day, price in own.items():
            if agreed.setdefault(day, price) != price:
                disputed.add(day)
    return {day: price for day, price in agreed.items() if day not in disputed}
