"""Time to the demo inventory's end state, fault-free and under 30 % 503s + 5 % 429s, side by side.

Each round runs the demo twice in this one process, fault-free first, then faulty: a fresh sandbox
(engine-faithful) and a fresh state directory, ``config/inventory.example.json`` with its images
rehosted on a loopback ``ImageHost`` (as ``bookyflow-worker demo`` and ``tests/e2e`` do), and the
real ``Worker`` with the demo's settings (``worker.demo.demo_settings``: short job intervals, the
default retry policy, breaker and rate limit), started as ``run`` starts it (a site that fails
at start-up is tried again). The faulty run sets ``sandbox.faults.set_random_failure`` so that
every request, the token request included, fails before the site sees it with probability 0.35:
503 (HTML, 6 in 7) or 429 (1 in 7). The clock stops when the site equals the inventory (the chaos
soak's independent check, ``tests.chaos.invariants``: properties, rooms, publication, every
night's price and minimum stay, closures, reservations) with no duplicate; ``BENCH_CAP_S`` bounds
a run that never gets there (its time is then reported as the cap and ``unreached`` counts it).

Goal (issue 11, item 12): ``faults_ratio`` (median faulty / median fault-free) at most 2;
``within_2x`` counts the faulty rounds that made it on their own. Both runs are bound by the demo's
polite 5 requests/s, and a failed request counts, so the floor is about 1 / 0.65 ≈ 1.5. What
makes a slow round (seen at 2.3-2.8x): a property whose POST failed waits for the next properties
run (creation is tried again by the next run, not within the run), and a round that never gets
there (``unreached``) had a main image fail its three uploads of the day (``content``'s
``IMAGE_TRIES_PER_DAY`` counts a 503 before the site as a try), leaving its property unpublished.
Prints ``name=value`` lines. ``BENCH_ROUNDS`` (default 3) sets the rounds; the seeds are fixed
(the faults they draw still land on different requests from run to run: timing differs).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from tests.chaos.invariants import no_duplicates, server_matches_inventory
from worker.demo import DEMO_CHANNEL, demo_settings, find_example_inventory
from worker.logging import configure_logging
from worker.sandbox import Sandbox
from worker.sandbox.image_host import ImageHost, rehost_images
from worker.sandbox.server import DEFAULT_CLIENT
from worker.service import Worker

ROUNDS = int(os.environ.get("BENCH_ROUNDS", "3"))
CAP_S = float(os.environ.get("BENCH_CAP_S", "150"))
FAULT_FRACTION = 0.35
FAULT_STATUSES = (503, 503, 503, 503, 503, 503, 429)  # 6/7 x 0.35 = 30 %, 1/7 x 0.35 = 5 %
POLL_S = 0.1


def emit(name: str, value: float | int | str) -> None:
    text = f"{value:.2f}" if isinstance(value, float) else str(value)
    print(f"{name}={text}", flush=True)


def at_end_state(sandbox: Sandbox, document: dict[str, Any]) -> bool:
    """The site equals the inventory and holds nothing twice (independent of the worker)."""
    today = datetime.now(UTC).date()
    store, client = sandbox.store, DEFAULT_CLIENT.client_id
    equal = server_matches_inventory(store, client, DEMO_CHANNEL, document, today)
    return equal.ok and no_duplicates(store, client, DEMO_CHANNEL).ok


async def until_end_state(sandbox: Sandbox, document: dict[str, Any], started: float) -> bool:
    while time.perf_counter() - started < CAP_S:
        if at_end_state(sandbox, document):
            return True
        await asyncio.sleep(POLL_S)
    return False


async def one_run(*, faulty: bool, seed: int) -> tuple[float, bool, int]:
    """Seconds from start-up to the end state, whether it was reached, and requests sent."""
    with tempfile.TemporaryDirectory(prefix="bench-faults-") as tmp:
        async with Sandbox() as sandbox, ImageHost() as images:
            example = json.loads(find_example_inventory().read_text(encoding="utf-8"))
            document = rehost_images(example, images)
            inventory = Path(tmp) / "inventory.json"
            inventory.write_text(json.dumps(document), encoding="utf-8")
            settings = demo_settings(sandbox.api_url, inventory, Path(tmp) / "state")
            if faulty:
                faults = sandbox.faults
                faults.set_random_failure(FAULT_FRACTION, statuses=FAULT_STATUSES, seed=seed)
            started = time.perf_counter()
            worker = Worker(settings, heartbeat=False, retry_start=True)
            async with worker:
                runner = asyncio.create_task(worker.run())
                reached = await until_end_state(sandbox, document, started)
                elapsed = time.perf_counter() - started
                worker.request_stop("bench")
                await runner
            return elapsed, reached, len(sandbox.journal.entries)


async def main() -> None:
    configure_logging(level="CRITICAL")
    clean: list[float] = []
    faulty: list[float] = []
    unreached = 0
    for round_index in range(ROUNDS):
        for is_faulty, times in ((False, clean), (True, faulty)):
            seconds, reached, requests = await one_run(faulty=is_faulty, seed=round_index)
            times.append(seconds)
            unreached += not reached
            kind = "faulty" if is_faulty else "fault_free"
            emit(f"round{round_index}_{kind}_end_state_s", seconds)
            emit(f"round{round_index}_{kind}_requests", requests)
    emit("rounds", ROUNDS)
    emit("fault_free_end_state_s", statistics.median(clean))
    emit("faulty_end_state_s", statistics.median(faulty))
    emit("faulty_end_state_max_s", max(faulty))
    emit("unreached", unreached)
    emit("within_2x", sum(1 for seconds in faulty if seconds <= 2 * statistics.median(clean)))
    emit("faults_ratio", statistics.median(faulty) / statistics.median(clean))


if __name__ == "__main__":
    asyncio.run(main())
