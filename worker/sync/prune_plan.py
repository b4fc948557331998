"""Pure decisions of safe pruning: which properties (and rooms) may leave the site this cycle.

A removal cannot be undone, and the usual cause of a property missing from the vendor's document
is a fault on the vendor's side (an empty or half-written export, a filter gone wrong), not a
hotel that really left. So, with ``BOOKYFLOW_PRUNE`` on (issue 12, ``design.md``):

- **never on an empty document**: a document without properties deletes nothing, forced or not
  (it is the one a broken export produces; to empty a site, delete on the site itself);
- **never more than** ``BOOKYFLOW_PRUNE_MAX_FRACTION`` (default 0.1) of the channel's properties
  on the site in one cycle. A cycle that would delete more deletes **none** (and says so) rather
  than the first tenth: trickling a mass removal out a tenth per cycle would complete it within
  the hour all the same. ``allowed = floor(fraction × owned)``, so with the default a site needs
  10 properties before one may leave unforced; a smaller site raises the fraction or forces;
- **never a property holding an active pushed reservation** (one the worker pushed and has not
  cancelled, whose stay has not ended): the guest's booking would go with it;
- ``BOOKYFLOW_PRUNE_FORCE=true`` lifts the last two rules (not the first), for the cycle an
  operator decides that a mass removal is real; it is meant to be set for one run and removed.

Rooms (``rooms._prune``) follow the first rule per property: a property whose vendor entry lists
no rooms keeps every room of the site unless forced (the site itself refuses to delete a room
that holds bookings, and says so).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Set
from dataclasses import dataclass, field
from datetime import date

__all__ = [
    "EMPTY_DOCUMENT",
    "MAX_FRACTION",
    "PrunePlan",
    "allowed_deletions",
    "plan_prune",
    "reservation_active",
]

EMPTY_DOCUMENT = "empty_document"
MAX_FRACTION = "max_fraction"
# Statuses of a reservation that is (or may be) on the site: an intent may have landed.
_ON_SITE = frozenset({"intent", "pushed", "cancel_intent"})
# A float product such as 0.1 × 30 lands a hair above or below the whole number it means.
_EPSILON = 1e-9


@dataclass(frozen=True)
class PrunePlan:
    """What one cycle deletes (``delete``) and keeps for a live reservation (``kept``); when the
    rules refuse the cycle, nothing, with the ``refused`` reason. ``figures`` are for the log:
    ``leaving``, ``owned``, ``allowed`` (and ``kept_for_reservations``)."""

    delete: tuple[int, ...] = ()
    kept: tuple[int, ...] = ()
    refused: str | None = None
    figures: dict[str, int] = field(default_factory=dict)


def allowed_deletions(owned: int, max_fraction: float) -> int:
    """How many of ``owned`` properties one cycle may delete unforced."""
    return math.floor(owned * max_fraction + _EPSILON)


def plan_prune(
    leaving: Iterable[int],
    *,
    owned: int,
    document_properties: int,
    active: Set[int],
    max_fraction: float,
    force: bool = False,
) -> PrunePlan:
    """The module docstring's rules for the owned properties ``leaving`` the document."""
    gone = tuple(leaving)
    figures = {
        "leaving": len(gone),
        "owned": owned,
        "allowed": allowed_deletions(owned, max_fraction),
    }
    if not gone:
        return PrunePlan(figures=figures)
    if document_properties == 0:
        return PrunePlan(refused=EMPTY_DOCUMENT, figures=figures)
    if force:
        return PrunePlan(delete=gone, figures=figures)
    kept = tuple(uid for uid in gone if uid in active)
    delete = tuple(uid for uid in gone if uid not in active)
    figures["kept_for_reservations"] = len(kept)
    if len(delete) > figures["allowed"]:
        return PrunePlan(kept=kept, refused=MAX_FRACTION, figures=figures)
    return PrunePlan(delete=delete, kept=kept, figures=figures)


def reservation_active(status: str, last_night: date | None, today: date) -> bool:
    """Whether a reservation record stands for a booking live on the site.

    ``last_night`` None (a push recorded before the worker kept it) counts as live: unsure
    means keep.
    """
    if status not in _ON_SITE:
        return False
    return last_night is None or last_night >= today
