"""What the ARI job must send: the pure diff between the inventory and what was last pushed.

The worker remembers, per property and night, the price and minimum stay it last pushed (or
read back during a reconciliation). Each cycle it computes the desired cells over the rolling
horizon, keeps only the nights that differ, and merges equal consecutive nights into ranges — so
an unchanged inventory sends nothing and a one-night edit sends one one-night range.

Closures are keyed by the vendor's closure id: a new id is created, a vanished id is reopened (its
black booking deleted), and a changed one is reopened and created again. Closures that lie entirely
in the past are neither created nor reopened: the server no longer lists them and nights in the past
cannot be sold anyway.
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


@dataclass(frozen=True, slots=True)
class ClosureSpec:
    """A closure as the inventory wants it (room uids already resolved; empty = all rooms)."""

    date_from: date
    date_to: date
    room_uids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class PushedClosure:
    """A closure as it was created on the server."""

    contract_id: int
    spec: ClosureSpec


@dataclass(frozen=True)
class ClosurePlan:
    create: dict[str, ClosureSpec] = field(default_factory=dict)
    reopen: dict[str, PushedClosure] = field(default_factory=dict)
    forget: list[str] = field(default_factory=list)  # past closures: drop from state, send nothing

    @property
    def empty(self) -> bool:
        return not (self.create or self.reopen or self.forget)


def clip_to_future(spec: ClosureSpec, today: date) -> ClosureSpec | None:
    """The part of a closure from today on, or None when it is entirely past."""
    if spec.date_to < today:
        return None
    if spec.date_from >= today:
        return spec
    return ClosureSpec(today, spec.date_to, spec.room_uids)


def plan_closures(
    desired: Mapping[str, ClosureSpec], pushed: Mapping[str, PushedClosure], today: date
) -> ClosurePlan:
    """Create new closures, reopen vanished or changed ones, forget the ones that are past."""
    plan = ClosurePlan()
    for closure_id, done in pushed.items():
        if done.spec.date_to < today:
            plan.forget.append(closure_id)
            continue
        wanted = desired.get(closure_id)
        if wanted is None or clip_to_future(wanted, today) != clip_to_future(done.spec, today):
            plan.reopen[closure_id] = done
    for closure_id, wanted in desired.items():
        future = clip_to_future(wanted, today)
        if future is None:
            continue
        if closure_id not in pushed or closure_id in plan.reopen:
            plan.create[closure_id] = future
    return plan
