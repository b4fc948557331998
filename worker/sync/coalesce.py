"""Change-driven pushes: a burst of inventory edits becomes one push per changed property.

``Coalescer`` is the sans-I/O core: changed remote uids are collected from the first change of a
burst for ``window_s`` (``BOOKYFLOW_CHANGE_WINDOW_S``), measured from that first change so that
a steady stream of edits is still pushed every window, never starved. ``ChangePusher`` is the
loop around it: every ``poll_s`` (``BOOKYFLOW_CHANGE_POLL_S``), on a tick shared by every site
of the process, it asks the ``ChangeWatcher``, and once a burst is due it runs the writing jobs
(properties, ARI, reservations: those enabled) for just those properties, through the
``JobRunner``: the per-property write lock, the rate limit, the breaker and the one-run-per-job
rule hold as for a scheduled run, and a run of the same job already going is waited for, then
the push runs. One push is in flight at a time;
changes seen meanwhile make the next burst. Each push logs one ``inventory.changed`` line (the
properties, how many polls saw changes) and one ``sync.pushed_changes`` line.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass, field

import structlog

from worker.clock import Clock
from worker.inventory.changes import ChangeWatcher, RestrictedSource
from worker.logging import get_logger
from worker.scheduler import JobRunner

__all__ = ["PUSHED_JOBS", "Burst", "ChangePusher", "Coalescer"]

log = get_logger(__name__)
# The jobs that push vendor data, in run order (properties creates what the others act on).
PUSHED_JOBS = ("properties", "ari", "reservations")


@dataclass(frozen=True)
class Burst:
    """What one push covers: the changed remote uids, and how many polls found changes."""

    uids: frozenset[str]
    changes: int


@dataclass
class Coalescer:
    """Changed uids, held from the first change of a burst until ``window_s`` has passed."""

    window_s: float
    _uids: set[str] = field(default_factory=set)
    _changes: int = 0
    _first_at: float | None = None

    def add(self, uids: frozenset[str], now: float) -> None:
        if not uids:
            return
        if self._first_at is None:
            self._first_at = now
        self._uids |= uids
        self._changes += 1

    def due(self, now: float) -> bool:
        return self._first_at is not None and now - self._first_at >= self.window_s

    def take(self) -> Burst:
        burst = Burst(frozenset(self._uids), self._changes)
        self._uids, self._changes, self._first_at = set(), 0, None
        return burst


class ChangePusher:
    """The watch loop of one worker: poll, coalesce, push (see the module docstring)."""

    def __init__(
        self,
        watcher: ChangeWatcher,
        runner: JobRunner,
        clock: Clock,
        *,
        poll_s: float,
        window_s: float,
        jobs: Sequence[str] = PUSHED_JOBS,
    ) -> None:
        self.watcher, self.runner, self.clock, self.poll_s = watcher, runner, clock, poll_s
        self.jobs = tuple(name for name in jobs if name in runner.jobs)
        self.coalescer = Coalescer(window_s)
        self.pushing: asyncio.Task[None] | None = None
        self._loop: asyncio.Task[None] | None = None

    async def step(self) -> None:
        """One poll; starts the push of a due burst unless one is still in flight."""
        now = self.clock.now()
        self.coalescer.add(await self.watcher.poll(), now)
        if self.pushing is not None and not self.pushing.done():
            return
        if self.coalescer.due(now):
            burst = self.coalescer.take()
            self.pushing = asyncio.create_task(self.push(burst), name="change-push")

    async def push(self, burst: Burst) -> None:
        """The writing jobs for ``burst.uids`` only, in order."""
        uids = sorted(burst.uids)
        log.info("inventory.changed", properties=uids, coalesced=burst.changes)
        ctx = self.runner.ctx
        only = dataclasses.replace(ctx, source=RestrictedSource(ctx.source, burst.uids),
                                   only=burst.uids)  # fmt: skip
        started = self.clock.now()
        counts: dict[str, dict[str, int]] = {}
        with structlog.contextvars.bound_contextvars(trigger="change"):
            for name in self.jobs:
                result = await self.runner.run_when_free(name, only)
                if result is not None:
                    counts[name] = dict(result.counts)
        log.info(
            "sync.pushed_changes",
            properties=uids,
            jobs=counts,
            duration_ms=round((self.clock.now() - started) * 1000, 1),
        )

    async def _run(self) -> None:
        while True:
            try:
                await self.step()
            except Exception as exc:  # a plug-in's changed() failing must not end the watch
                log.warning("inventory.watch_failed", error=type(exc).__name__, message=str(exc))
            await self.clock.sleep(self.until_next_tick_s())

    def until_next_tick_s(self) -> float:
        """Seconds to the next multiple of ``poll_s`` on the clock: every site's watcher of a
        process wakes on the same tick, so a thousand sites' polls are one timer pass and their
        ``stat`` calls one thread hop (``worker.inventory.stat_batch``)."""
        return self.poll_s - (self.clock.now() % self.poll_s)

    def start(self) -> None:
        self._loop = asyncio.get_running_loop().create_task(self._run(), name="change-watch")

    async def close(self) -> None:
        """Stop polling and end a push still waiting (after the runner's drain)."""
        tasks = [task for task in (self._loop, self.pushing) if task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
