"""The process's heap: collections timed by generation, and what lives for good set aside."""

from __future__ import annotations

import gc
from collections.abc import Iterator

import pytest
from structlog.testing import capture_logs

from worker.heap import GcPauses, pauses, settle
from worker.telemetry import Telemetry


@pytest.fixture
def unfrozen() -> Iterator[None]:
    yield
    gc.unfreeze()


def test_every_collection_is_timed_by_generation() -> None:
    """A full collection adds one to generation 2's buckets and its time to its sum."""
    recorded = pauses()
    assert pauses() is recorded  # one hook per process
    before, before_s = sum(recorded.counts[2]), recorded.sums[2]
    gc.collect()
    assert sum(recorded.counts[2]) == before + 1
    assert recorded.sums[2] > before_s


def test_a_pause_falls_in_the_first_bucket_that_holds_it() -> None:
    """The hook's bucket choice, on pauses made of known durations."""
    recorded = GcPauses(buckets=(0.01, 0.1))
    for pause_s in (0.0, 0.05, 5.0):
        recorded("start", {"generation": 1})
        recorded._started -= pause_s  # as if the collection had started pause_s earlier
        recorded("stop", {"generation": 1})
    assert recorded.counts[1] == [1, 1, 1]
    assert recorded.sums[1] == pytest.approx(5.05, abs=0.01)


def test_the_pauses_are_a_histogram_on_metrics() -> None:
    """``bookyflow_gc_pause_seconds`` per generation: cumulative buckets ending in the count."""
    telemetry = Telemetry(lambda: {})
    gc.collect()
    lines = telemetry.render().decode().splitlines()
    full = [line for line in lines if line.startswith("bookyflow_gc_pause_seconds") and
            'generation="2"' in line]  # fmt: skip
    count = next(float(line.split()[-1]) for line in full if "_count" in line)
    infinite = next(float(line.split()[-1]) for line in full if 'le="+Inf"' in line)
    assert count == infinite >= 1


def test_settle_freezes_what_is_alive(unfrozen: None) -> None:
    """After ``settle`` the objects alive are in the permanent generation, and it says so."""
    kept = [[n] for n in range(1000)]
    with capture_logs() as logs:
        frozen = settle("test")
    assert frozen >= len(kept)  # (what the log line's own call allocated is not frozen)
    assert gc.get_freeze_count() >= len(kept)
    assert [(e["event"], e["reason"]) for e in logs] == [("heap.settled", "test")]
