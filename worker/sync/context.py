"""``SyncContext``: everything a sync job is given, built once per site by the ``Worker``.

The jobs themselves (``Job``, ``JobResult``, ``run_job``) are in ``worker.sync.job``; the
per-property rules they all obey (``PropertyGates``) in ``worker.sync.gates``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from worker.api.cmf import Cmf
    from worker.clock import Clock
    from worker.inventory.sink import BookingSink
    from worker.inventory.source import InventorySource
    from worker.ownership import OwnedProperties
    from worker.settings import Settings
    from worker.state import StateStore
    from worker.sync.gates import PropertyGates

__all__ = ["SyncContext"]


@dataclass
class SyncContext:
    """Everything a job needs; built once by the service and shared by every job run.

    ``clock`` is the worker's one ``Clock`` (the client, state store, sink and gates share it);
    ``today`` is the site's calendar day (``worker.site_day``): the horizon never reaches back.
    ``only`` is set for a change push (``worker.sync.coalesce``): the run covers just those
    remote uids (its ``source`` shows no other), so nothing may be concluded about the rest
    (the properties job does not prune).
    """

    settings: Settings
    cmf: Cmf
    state: StateStore
    source: InventorySource
    sink: BookingSink
    owned: OwnedProperties
    gates: PropertyGates
    clock: Clock
    today: Callable[[], date]
    only: frozenset[str] | None = None
