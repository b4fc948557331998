"""``bookyflow-worker demo``: the embedded sandbox, the worker against it, and what was synced.

Starts ``Sandbox(control_routes=True)`` on a free loopback port and an ``ImageHost`` beside it
(the sandbox downloads property images from their URLs, as the real engine does: the example's
vendor CDN is moved onto loopback), runs the real ``Worker`` in-process against it with
``config/inventory.example.json`` and short job intervals, books one guest on the hotel's own
site once a property exists (so the bookings job has something to pull), and after ``--seconds``
stops the worker gracefully and prints a summary table, read back from the sandbox itself (and,
for a property that is not live, the site's reasons from the worker's state), after the JSON log
lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from worker.api.client import ClientStats
from worker.errors import ConfigError
from worker.logging import get_logger, redactor
from worker.sandbox.image_host import ImageHost, rehost_images
from worker.sandbox.server import DEFAULT_CLIENT, Sandbox
from worker.service import Worker
from worker.settings import Settings, load_settings
from worker.signals import SignalStop
from worker.sync.publishing import short_reason

__all__ = [
    "DEMO_CHANNEL",
    "demo_root",
    "demo_settings",
    "find_example_inventory",
    "render_table",
    "run_demo",
]

log = get_logger("worker.demo")
DEMO_CHANNEL = "demo-channel"
EXAMPLE_INVENTORY = Path("config") / "inventory.example.json"
# Short intervals so a 20-second demo sees several cycles of every job.
DEMO_INTERVALS_S = {"properties": 6.0, "ari": 5.0, "reservations": 3.0, "bookings": 2.0}
SITE_BOOKING_OFFSET_DAYS = 60  # well clear of the example's reservations and closures


def find_example_inventory() -> Path:
    """The example inventory next to the source tree (or under the working directory)."""
    candidates = [Path(__file__).resolve().parent.parent / EXAMPLE_INVENTORY, EXAMPLE_INVENTORY]
    for candidate in candidates:
        if candidate.is_file():
            return candidate
    raise ConfigError(f"invalid configuration: {EXAMPLE_INVENTORY} not found; pass --inventory")


def demo_settings(api_url: str, inventory: Path, state_dir: Path) -> Settings:
    """Settings for the demo worker: the sandbox's demo client and short job intervals."""
    jobs = {name: {"interval_s": seconds} for name, seconds in DEMO_INTERVALS_S.items()}
    return load_settings(
        api_url=api_url,
        client_id=DEFAULT_CLIENT.client_id,
        client_secret=DEFAULT_CLIENT.secret,
        channel_name=DEMO_CHANNEL,
        channel_friendly_name="Demo channel",
        inventory=inventory,
        state_dir=state_dir,
        bookings_file=state_dir / "bookings.jsonl",
        source=None,
        sink=None,
        health_port=0,
        jobs=jobs,
    )


def demo_root(environ: Mapping[str, str] = os.environ) -> Path | None:
    """Where a demo without ``--state-dir`` keeps its throw-away state.

    ``BOOKYFLOW_STATE_DIR`` when it is set and a writable directory (the image's state volume: a
    container with a read-only root and no ``/tmp`` still runs the demo), else ``None``, the
    system's temporary directory. The demo's own directory in it is removed when the demo ends.
    """
    configured = environ.get("BOOKYFLOW_STATE_DIR")
    if not configured:
        return None
    root = Path(configured)
    return root if root.is_dir() and os.access(root, os.W_OK | os.X_OK) else None


@contextlib.contextmanager
def _state_dir(given: Path | None) -> Iterator[Path]:
    if given is not None:
        yield given
        return
    with tempfile.TemporaryDirectory(prefix="bookyflow-demo-", dir=demo_root()) as temp:
        yield Path(temp) / "state"


async def run_demo(
    *, seconds: float = 20.0, inventory: Path | None = None, state_dir: Path | None = None
) -> int:
    """Run the whole demo; returns the exit code."""
    source = inventory or find_example_inventory()
    with _state_dir(state_dir) as directory:
        async with Sandbox(control_routes=True) as sandbox, ImageHost() as images:
            redactor.add_secret(sandbox.admin_token or "")
            log.info("demo.sandbox_started", api_url=sandbox.api_url, seconds=seconds)
            inventory_path = _rehosted(source, directory, images)
            settings = demo_settings(sandbox.api_url, inventory_path, directory)
            worker = Worker(settings, heartbeat_log_interval_s=max(1.0, seconds / 2))
            rows = await _run_worker(worker, sandbox, seconds)
            if rows is None:
                return 0
            print(rows, flush=True)
    return 0


def _rehosted(source: Path, state_dir: Path, images: ImageHost) -> Path:
    """A copy of the inventory beside the state directory, its images served by ``images``."""
    document = json.loads(source.read_text(encoding="utf-8"))
    target = state_dir.parent / "demo-inventory.json"
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(rehost_images(document, images)), encoding="utf-8")
    return target


async def _run_worker(worker: Worker, sandbox: Sandbox, seconds: float) -> str | None:
    task = asyncio.current_task()
    assert task is not None
    with SignalStop(worker, task) as signals:
        try:
            async with worker:
                runner = asyncio.get_running_loop().create_task(worker.run())
                await _book_on_site_when_ready(worker, sandbox, seconds)
                worker.request_stop("demo finished")
                await runner
                return await summarize(worker, sandbox)
        except asyncio.CancelledError:
            if not signals.received:
                raise
            task.uncancel()
            return None


async def _book_on_site_when_ready(worker: Worker, sandbox: Sandbox, seconds: float) -> None:
    """Wait out the demo; halfway through, a guest books the first owned property on its site."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + seconds
    await asyncio.sleep(seconds / 2)
    ctx = worker.ctx
    owned = ctx.owned.items() if ctx is not None else []
    if owned:
        first = sandbox.store.today() + timedelta(days=SITE_BOOKING_OFFSET_DAYS)
        try:
            booking = sandbox.store.book_on_site(
                owned[0][0], first.isoformat(), (first + timedelta(days=2)).isoformat()
            )
            log.info("demo.site_booking", property_uid=owned[0][0], booking=booking["booking_id"])
        except Exception as exc:  # the demo goes on; the summary shows what happened
            log.warning("demo.site_booking_failed", error=str(exc))
    await asyncio.sleep(max(0.0, deadline - loop.time()))


async def _publication(worker: Worker, prop: dict[str, Any]) -> str:
    """``yes``, or why not: the site's warnings from the worker's last review."""
    if prop["published"] in (True, 1, "1"):
        return "yes"
    ctx = worker.ctx
    review = None if ctx is None else (await ctx.state.get_content(int(prop["property_uid"])))
    warnings = (review or {}).get("review", {}).get("warnings") or []
    return "no: " + ", ".join(short_reason(w) for w in warnings) if warnings else "no"


def _property_row(sandbox: Sandbox, prop: dict[str, Any], today: date, published: str) -> list[str]:
    uid = int(prop["property_uid"])
    end = today + timedelta(days=364)  # the calendar's end is the last night: 365 nights
    calendar = sandbox.store.calendar(uid, today.isoformat(), end.isoformat())
    priced = sum(1 for night in calendar.values() if str(night["price"]) not in ("0", "0.00"))
    bookings = sandbox.store.bookings(uid)
    pushed = [b for b in bookings if (b.get("mapping") or {}).get("remote_booking_id")]
    cancelled = [b for b in pushed if b["status"]["status_code"] == 6]
    return [
        f"{prop['remote_uid']} -> {uid}",
        prop["property_name"],
        str(len(prop["rooms"])),
        published,
        str(priced),
        str(len(sandbox.store.blackbookings(uid))),
        f"{len(pushed) - len(cancelled)}/{len(cancelled)}",
    ]


def _delivered(path: Path) -> int:
    try:
        return sum(1 for line in path.read_text(encoding="utf-8").splitlines() if line.strip())
    except OSError:
        return 0


async def summarize(worker: Worker, sandbox: Sandbox) -> str:
    """The table printed at the end of the demo, read back from the sandbox."""
    today = sandbox.store.today()
    props = sandbox.store.properties_of(DEFAULT_CLIENT.client_id, DEMO_CHANNEL)
    header = ["remote uid -> uid", "name", "rooms", "published", "nights priced", "closures",
              "reservations pushed/cancelled"]  # fmt: skip
    rows = [_property_row(sandbox, p, today, await _publication(worker, p)) for p in props]
    table = render_table(header, rows)
    stats = worker.client.stats if worker.client is not None else ClientStats()
    by_status = ", ".join(f"{k}: {v}" for k, v in sorted(stats.requests_by_status.items()))
    return "\n".join([
        "",
        "BookyFlow demo: what the worker synced",
        table,
        f"bookings delivered to {worker.settings.bookings_path.name}: "
        f"{_delivered(worker.settings.bookings_path)}",
        f"requests by status: {by_status or 'none'}",
        f"retries: {stats.retries}   token refreshes: {stats.token_refreshes}",
    ])  # fmt: skip


def render_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    """A plain-text table with aligned columns (pure)."""
    widths = [max(len(str(c)) for c in column) for column in zip(header, *rows, strict=False)]
    line = "+".join("-" * (w + 2) for w in widths)

    def fmt(cells: Sequence[str]) -> str:
        return "|".join(f" {c!s:<{w}} " for c, w in zip(cells, widths, strict=True))

    return "\n".join(text.rstrip() for text in [fmt(header), line, *(fmt(row) for row in rows)])
