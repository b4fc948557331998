"""The cyclic garbage collector in a process of many sites: what lives for good is set aside.

A full collection walks every object the process holds. At a thousand sites that is over a
million objects, walked again and again: while the first cycles ran, full collections took a
third of the worker's CPU and up to 1.5 s each, with the event loop stopped (issue 15; the
``gc.callbacks`` timings are in docs/performance.md). Most of those objects live as long as the
process: settings, sessions, schedulers, state stores, the inventory models.

``settle`` collects once, then ``gc.freeze()`` moves every object still alive into the
collector's permanent generation, which later collections skip. Reference counting still frees
what is released later; only a reference cycle among objects frozen while in use would never be
collected, which is why a process settles at two points only (``Supervisor``): once every site
has started, and once every site's first cycle has ended.
"""

from __future__ import annotations

import gc
import time

from worker.logging import get_logger

__all__ = ["settle"]

log = get_logger("worker.heap")


def settle(reason: str) -> int:
    """Collect, then freeze what is left; logs ``heap.settled``; the objects now frozen."""
    started = time.perf_counter()
    gc.collect()
    gc.freeze()
    frozen = gc.get_freeze_count()
    log.info(
        "heap.settled",
        reason=reason,
        frozen_objects=frozen,
        duration_s=round(time.perf_counter() - started, 3),
    )
    return frozen
