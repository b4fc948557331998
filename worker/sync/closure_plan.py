"""Which closures the ARI job must create, reopen or forget: the pure diff of closure records.

Closures are keyed by the vendor's closure id: a new id is created, a vanished id is reopened (its
black booking deleted), and a changed one is reopened and created again. Closures that lie entirely
in the past are neither created nor reopened: the server no longer lists them and nights in the past
cannot be sold anyway. ``worker.sync.closures`` carries the plan out.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

__all__ = ["ClosurePlan", "ClosureSpec", "PushedClosure", "clip_to_future", "plan_closures"]


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
