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

``tune()`` makes young collections rarer (``YOUNG_THRESHOLD`` allocations, not Python's 700): a
thousand sites keep thousands of requests in flight, and their objects outlived two young
collections a few milliseconds apart, so they were promoted and counted toward the next full
collection, which then came every few seconds. Only cyclic garbage waits longer for it: at most
that many young objects.

``pauses()`` is the process's one ``GcPauses``: a ``gc.callbacks`` hook timing every collection
by generation (``bookyflow_gc_pause_seconds``), since a collection stops the event loop: a long
one is a late job for every site at once.
"""

from __future__ import annotations

import bisect
import gc
import time
from collections.abc import Sequence
from typing import Any

from worker.logging import get_logger

__all__ = ["PAUSE_BUCKETS", "YOUNG_THRESHOLD", "GcPauses", "pauses", "settle", "tune"]

log = get_logger("worker.heap")
YOUNG_THRESHOLD = 10_000


def tune() -> None:
    """Young collections every ``YOUNG_THRESHOLD`` allocations; the older ones' as they are."""
    _, middle, oldest = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, middle, oldest)


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


# Seconds. A young collection takes a millisecond or so; a full one of a million objects, 1 s.
PAUSE_BUCKETS = (0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
GENERATIONS = (0, 1, 2)


class GcPauses:
    """How long each collection stopped the process, by generation: bucket counts and sums.

    Plain counters, not a ``prometheus_client`` histogram: a ``gc.callbacks`` hook runs inside
    whatever allocation set the collection off, which may be one made while that histogram
    holds its lock. ``telemetry.GcPauseCollector`` turns them into a histogram at scrape time.
    """

    def __init__(self, buckets: Sequence[float] = PAUSE_BUCKETS) -> None:
        self.buckets = tuple(buckets)
        # generation -> collections per bucket (the last one: above every bound), not cumulative
        self.counts = {g: [0] * (len(self.buckets) + 1) for g in GENERATIONS}
        self.sums = dict.fromkeys(GENERATIONS, 0.0)
        self._started = 0.0

    def __call__(self, phase: str, info: dict[str, Any]) -> None:
        """The ``gc.callbacks`` hook."""
        if phase == "start":
            self._started = time.perf_counter()
            return
        pause_s = time.perf_counter() - self._started
        generation = int(info["generation"])
        self.sums[generation] += pause_s
        # The first bound that holds it (``le``); past the last one, the extra slot.
        self.counts[generation][bisect.bisect_left(self.buckets, pause_s)] += 1


_pauses: GcPauses | None = None


def pauses() -> GcPauses:
    """The process's recorder, hooked into ``gc.callbacks`` on first use (once per process)."""
    global _pauses  # one hook per process, whoever asks first
    if _pauses is None:
        _pauses = GcPauses()
        gc.callbacks.append(_pauses)
    return _pauses
