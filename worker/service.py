"""The worker's one lifecycle: ``async with Worker(settings) as w: await w.run()``.

Start-up (``start``), in this order, each step fatal on failure:

1. the inventory source (a missing ``BOOKYFLOW_INVENTORY`` file is a ``ConfigError``), the state
   store and the booking sink;
2. a token, then the **scope preflight**: every scope the enabled jobs need must be granted
   (``ConfigError`` naming the missing one) — unless none of the granted names is one we know,
   where the site speaks its own vocabulary and its 403 answers are the authority (spec §2.3);
3. announce (GET, then POST when the site answers 0), then ``GET /cmf/versions``;
4. reconcile the owned properties from ``GET /cmf/properties/ids`` by ``remote_uid``.

Nothing touches a property before the announce succeeded, and ``Cmf`` is built with the
ownership guard, so no property outside the owned set is touched at all.

``run()`` schedules the jobs (``worker.scheduler``), pushes inventory changes between the
scheduled cycles (``worker.sync.coalesce``: the source is asked every ``change_poll_s`` whether
it changed; the changed properties are pushed after ``change_window_s``), writes the heartbeat,
serves the health endpoints, and returns after ``request_stop()``: scheduling stops, running jobs
get ``settings.grace_s`` to finish, then are cancelled. ``close()`` (idempotent) releases
everything on one ``AsyncExitStack``. ``worker.signals.SignalStop`` maps SIGTERM/SIGINT to that, and
SIGHUP to ``request_reload()``: reopen the bookings file by name and re-read the inventory now.

A daemon (``exclusive=True``: ``run``, ``sync``) first takes the state directory's lock
(``worker.lock``): a second one on the same directory fails with ``StateLocked`` (exit 78) before
sending anything. A read-only worker (``check``) takes no lock and opens no bookings file.

**A site that is down at start-up** (issue 11): with ``retry_start=True`` (``run``), steps 2-4
are tried again while they fail transiently (``retry.is_transient``: 5xx and HTML pages, 429,
refused connections, a failing token endpoint, an open breaker), one ``worker.start_failed``
WARNING per attempt, after ``Settings.backoff.start()`` (1 s doubling to 5 min, jittered, and
never before the breaker admits a probe), until the site answers or a stop is requested — what the
many-sites supervisor does for each of its sites. The heartbeat and ``/healthz`` run meanwhile,
``/readyz`` says not ready. Rejected credentials, refused scopes and bad configuration stay
fatal at once (exit 78). ``sync --once`` and ``check`` keep failing fast (exit 1): a one-shot
command is retried by whoever runs it, and must not hang a cron job or a CI step.

**Ready** (``/readyz``, ``bookyflow_site_ready``) means started, a valid token, and the site's
breaker closed: a site that stopped answering takes the worker out of rotation until a probe
succeeds again.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Mapping, Sequence
from contextlib import AsyncExitStack
from typing import Any

from worker import __version__
from worker.api.client import BookyFlowClient, ClientStats
from worker.api.cmf import Cmf
from worker.api.retry import is_transient
from worker.clock import Clock, SystemClock
from worker.closing import AsyncClosing
from worker.dry_run import WriteRecorder
from worker.errors import BookyFlowError, ConfigError
from worker.health import HealthServer, HealthSources, start_health
from worker.inventory import InventorySnapshot
from worker.inventory.changes import ChangeWatcher
from worker.inventory.sink import BookingSink, ReadOnlySink
from worker.lock import StateDirLock
from worker.logging import get_logger
from worker.metrics import ObservedSource, WorkerMetrics
from worker.ownership import OwnedProperties
from worker.scheduler import JobRunner, build_scheduler
from worker.scopes import missing_scopes, needed_by, to_request
from worker.settings import Settings
from worker.site_day import today_in
from worker.state import StateStore
from worker.sync.coalesce import ChangePusher
from worker.sync.context import SyncContext
from worker.sync.gates import PropertyGates
from worker.sync.job import Job, JobResult
from worker.sync.jobs import JOBS
from worker.telemetry import SiteTelemetry, Telemetry
from worker.vendor_io import make_owned, make_sink, make_source

__all__ = ["DEFAULT_SITE_LABEL", "Worker", "default_jobs"]

log = get_logger("worker.service")
# The ``site`` label of a single-site ``run``'s metrics.
DEFAULT_SITE_LABEL = "default"


def default_jobs() -> dict[str, Job]:
    """The built-in jobs, in run order (``worker.sync.jobs.JOBS``)."""
    return dict(JOBS)


class Worker(AsyncClosing):
    """One BookyFlow site: start-up, scheduled jobs, health, graceful stop.

    ``async with`` opens it with ``start()`` and closes it with ``close()``. The one ``clock``
    (default: the system's) times everything: the client, the state store, the sink, the
    metrics, the property gates, the job durations and "today".
    """

    def __init__(
        self,
        settings: Settings,
        *,
        jobs: Mapping[str, Job] | None = None,
        clock: Clock | None = None,
        rng: random.Random | None = None,
        heartbeat_file_interval_s: float = 10.0,
        heartbeat_log_interval_s: float = 60.0,
        heartbeat: bool = True,
        exclusive: bool = True,
        retry_start: bool = False,
    ) -> None:
        # False for read-only commands (check): no state directory lock, no bookings file.
        self.exclusive = exclusive
        # True for ``run``: a site down at start-up is tried again until it answers or a stop.
        self.retry_start = retry_start
        self.start_backoff = settings.backoff.start()
        self.dry_run: WriteRecorder | None = None  # set by ``sync --once --dry-run``
        # False under a Supervisor, which keeps one heartbeat for the whole process.
        self.heartbeat = heartbeat
        enabled = settings.jobs.enabled()
        self.jobs = {
            n: j for n, j in (default_jobs() if jobs is None else jobs).items() if n in enabled
        }
        # Every enabled job's ``scopes`` (and prune's): what the token request asks for, unless
        # BOOKYFLOW_SCOPES says otherwise, and what the preflight checks.
        self.needed_scopes = needed_by(self.jobs.values(), prune=settings.prune)
        self.settings = settings.requesting(to_request(self.needed_scopes))
        self.intervals = {name: getattr(settings.jobs, name).interval_s for name in self.jobs}
        self.clock: Clock = clock or SystemClock()
        self.rng = rng or random.Random()
        self.metrics = WorkerMetrics(self.intervals, clock=self.clock)
        # The process's metrics: this worker's own, unless a supervisor binds its shared ones.
        self.telemetry: Telemetry | None = None
        self.live: SiteTelemetry | None = None
        self.site_label = DEFAULT_SITE_LABEL
        self.heartbeat_file_interval_s = heartbeat_file_interval_s
        self.heartbeat_log_interval_s = heartbeat_log_interval_s
        self.client: BookyFlowClient | None = None
        self.ctx: SyncContext | None = None
        self.channel_id: int | None = None
        self.inventory: InventorySnapshot | None = None
        self.versions: dict[str, str] | None = None
        self.health: HealthServer | None = None
        self.stop_reason: str | None = None
        self.running = False
        self._stop = asyncio.Event()
        self._stack = AsyncExitStack()
        self._closed = False
        self._reload_task: asyncio.Task[None] | None = None
        self._health_started = False
        self.watcher: ChangeWatcher | None = None
        self.runner: JobRunner | None = None  # while ``run`` runs
        self.on_first_cycle_end: Callable[[], None] | None = None  # called when it has ended

    def __repr__(self) -> str:
        return f"Worker(site={self.settings.base_url!r}, channel={self.settings.channel_name!r})"

    def bind_telemetry(self, live: SiteTelemetry) -> None:
        """Report to a shared registry (the supervisor's) as ``live.site``; before ``start``."""
        self.live, self.site_label = live, live.site
        self.telemetry = live.telemetry

    def _own_telemetry(self) -> SiteTelemetry:
        if self.live is None:
            self.telemetry = Telemetry(lambda: {self.site_label: self.snapshot()})
            self.live = self.telemetry.site(self.site_label)
        return self.live

    # --- start-up --------------------------------------------------------------------------

    async def open(self) -> None:
        """``async with``: ``start()``."""
        await self.start()

    async def start(self) -> None:
        """Everything up to a ready ``SyncContext``; on failure, what was opened is closed."""
        try:
            await self._start()
        except BaseException:
            await self.close()
            raise

    async def _start(self) -> None:
        settings = self.settings
        log.info(
            "worker.started",
            version=__version__,
            site=settings.base_url,
            channel=settings.channel_name,
            jobs=list(self.jobs),
            intervals_s=self.intervals,
        )
        if self.exclusive:
            lock = await asyncio.to_thread(StateDirLock.acquire, settings.state_dir)
            self._stack.callback(lock.release)  # released last, after state and sink
        live = self._own_telemetry()
        self.metrics.live = live
        inventory_source = make_source(settings, clock=self.clock)
        keep_alive = getattr(inventory_source, "keep_alive", None)
        if keep_alive is not None:  # the inventory URL's pooled connection, closed at the end
            await self._stack.enter_async_context(keep_alive())
        self.watcher = ChangeWatcher(inventory_source)
        source = ObservedSource(self.watcher, self.metrics)
        self.inventory = await source.load()
        state = await StateStore.open(settings.state_dir, clock=self.clock)
        self._stack.push_async_callback(state.close)
        sink: BookingSink = ReadOnlySink()
        if self.exclusive:  # the webhook sink's delivery loop runs until the stack closes it
            sink = await make_sink(settings, state=state, clock=self.clock, metrics=self.metrics)
        self._stack.push_async_callback(sink.close)
        client = await self._stack.enter_async_context(
            BookyFlowClient(settings, clock=self.clock, observer=live)
        )
        client.dry_run = self.dry_run
        self.client = client
        owned = make_owned(settings)  # this shard's properties only, when sharded
        cmf = Cmf(client, owned=owned.owns)
        if self.retry_start:
            await self._start_health()  # alive, and not ready, while the site is down
        if not await self._connect(cmf, owned):
            return  # stopped while the site was down: run() returns at once
        self.ctx = SyncContext(
            settings=settings, cmf=cmf, state=state, source=source, sink=sink, owned=owned,
            gates=PropertyGates.from_settings(settings, self.clock, rng=self.rng),
            clock=self.clock, today=today_in(settings.timezone, self.clock),
        )  # fmt: skip

    async def _connect(self, cmf: Cmf, owned: OwnedProperties) -> bool:
        """Steps 2-4 of start-up; with ``retry_start``, again while the site fails transiently.

        False when a stop was requested while waiting for the next attempt.
        """
        failures = 0
        while True:
            try:
                await self._handshake(cmf, owned)
                return True
            except BookyFlowError as exc:
                if not (self.retry_start and is_transient(exc)):
                    raise
                failures += 1
                delay_s = self._start_retry_in_s(failures, cmf.client)
                log.warning(
                    "worker.start_failed",
                    error_type=type(exc).__name__,
                    error=str(exc),
                    failures=failures,
                    retry_in_s=round(delay_s, 3),
                )
            if await self._stopped_within(delay_s):
                return False

    async def _handshake(self, cmf: Cmf, owned: OwnedProperties) -> None:
        """Token, scope preflight, announce, versions, owned properties: the site's side."""
        client = cmf.client
        await client.tokens.get()
        self._preflight(client.tokens.granted_scopes)
        await self._announce(cmf)
        self.versions = await cmf.versions()
        await self._reconcile(cmf, owned)

    def _start_retry_in_s(self, failures: int, client: BookyFlowClient) -> float:
        """``start_backoff``, jittered (replicas restarted together spread out), and at least
        until the breaker admits a probe: an attempt before that would fail without sending."""
        delay_s = self.start_backoff.delay_s(failures, self.rng)
        return max(delay_s, client.breaker.retry_in_s())

    async def _stopped_within(self, seconds: float) -> bool:
        """Wait ``seconds`` on the clock; True (at once) when a stop is requested meanwhile.

        ``running`` is True while waiting, so a SIGTERM stops the wait gracefully rather than
        cancelling start-up: there is nothing to drain.
        """
        waits = [asyncio.ensure_future(self._stop.wait()), asyncio.ensure_future(
            self.clock.sleep(seconds))]  # fmt: skip
        self.running = True
        try:
            await asyncio.wait(waits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.running = False
            for waiting in waits:
                waiting.cancel()
            await asyncio.gather(*waits, return_exceptions=True)
        return self._stop.is_set()

    def _preflight(self, granted: frozenset[str]) -> None:
        missing = missing_scopes(self.needed_scopes, granted)
        if missing is None:
            log.warning(
                "scopes.unrecognised",
                granted=sorted(granted),
                needed=list(self.needed_scopes),
                note="the site uses its own scope names; its 403 answers will decide",
            )
            return
        if missing:
            users = [name for name, job in self.jobs.items() if set(missing) & set(job.scopes)]
            raise ConfigError(
                f"scope {' '.join(missing)} was not granted (granted: "
                f"{' '.join(sorted(granted)) or 'none'}); needed by {', '.join(users) or 'prune'}"
            )

    async def _announce(self, cmf: Cmf) -> None:
        channel_id = await cmf.announced_channel_id()
        created = channel_id == 0
        if created:
            channel_id = await cmf.announce()
        self.channel_id = channel_id
        log.info("channel.announced", channel_id=channel_id, created=created)

    async def _reconcile(self, cmf: Cmf, owned: OwnedProperties) -> None:
        listed = await cmf.property_ids()
        owned.replace((p.local_property_uid, p.remote_property_uid) for p in listed)
        log.info("properties.reconciled", owned=len(owned))

    # --- running ---------------------------------------------------------------------------

    @property
    def ready(self) -> bool:
        """Started, a valid token, and the site's breaker closed: what ``/readyz`` reports.

        Half-open counts as not ready: the site is back only once a probe has succeeded.
        """
        client = self.client
        if client is None or self.ctx is None:
            return False
        return client.tokens.ready and client.breaker.state == "closed"

    @property
    def first_cycle_ended(self) -> bool:
        """``run`` has run every job once (or stopped its first cycle)."""
        return self.runner is not None and self.runner.first_cycle_ended

    def snapshot(self) -> dict[str, Any]:
        client = self.client
        stats = client.stats if client is not None else ClientStats()
        breaker = client.breaker.state if client is not None else None
        token = client.tokens.current if client is not None else None
        left_s = None if token is None else round(token.expires_at - self.clock.now(), 3)
        snapshot = self.metrics.snapshot(
            stats, ready=self.ready, breaker=breaker, token_expires_in_s=left_s
        )
        if left_s is not None:  # wall-clock expiry, for ``status`` (the token is monotonic)
            snapshot["token_expires_at"] = round(snapshot["written_at"] + left_s, 3)
        return snapshot

    async def report(self) -> dict[str, Any]:
        """What ``check`` prints: site, token, scopes, channel, owned properties, inventory."""
        ctx = self._require_ctx()
        assert self.client is not None
        assert self.inventory is not None
        inventory = self.inventory
        return {
            "site": self.settings.base_url,
            "token_ok": self.client.tokens.ready,
            "granted_scopes": sorted(self.client.tokens.granted_scopes),
            "channel": self.settings.channel_name,
            "channel_id": self.channel_id,
            "versions": self.versions,
            "owned_properties": [[uid, remote] for uid, remote in ctx.owned.items()],
            "incomplete_properties": await self._incomplete(ctx),
            "inventory": {
                "valid": not inventory.problems,
                "properties": len(inventory.properties),
                "problems": [str(problem) for problem in inventory.problems],
            },
        }

    async def _incomplete(self, ctx: SyncContext) -> list[dict[str, Any]]:
        """Owned properties whose last review said incomplete, with the site's warnings."""
        found = []
        for uid, remote in ctx.owned.items():
            review = (await ctx.state.get_content(uid)).get("review")
            if review is not None and not review.get("complete"):
                warnings = review.get("warnings", [])
                found.append({"property_uid": uid, "remote_uid": remote, "warnings": warnings})
        return found

    def _require_ctx(self) -> SyncContext:
        if self.ctx is None:
            raise RuntimeError("the worker is not started")
        return self.ctx

    def request_stop(self, reason: str = "requested") -> None:
        """Stop scheduling and drain (idempotent); ``run()`` returns once drained."""
        if not self._stop.is_set():
            self.stop_reason = reason
            log.info("worker.stopping", signal=reason, grace_s=self.settings.grace_s)
            self._stop.set()

    def request_reload(self, reason: str = "requested") -> None:
        """Reopen the bookings file and re-read the inventory, in the background (SIGHUP).

        Returns at once (it runs from a signal handler); a reload already running absorbs
        this one. Before start-up has finished there is nothing to reload: start-up opens the
        file and reads the inventory itself.
        """
        if self._reload_task is not None and not self._reload_task.done():
            return
        task = asyncio.get_running_loop().create_task(self._reload(reason), name="worker-reload")
        self._reload_task = task

    async def _reload(self, reason: str) -> None:
        """One ``worker.reload`` line: what was reopened and read, or why it could not be."""
        ctx = self.ctx
        if ctx is None or self._closed:
            log.info("worker.reload", signal=reason, ok=False, error="not started")
            return
        reopen = getattr(ctx.sink, "reopen", None)
        try:
            if reopen is not None:
                await reopen()
            self.inventory = snapshot = await ctx.source.load()
        except BookyFlowError as exc:
            log.error("worker.reload", signal=reason, ok=False, error=str(exc))
            return
        except Exception as exc:  # a reload must never take the daemon down
            log.exception("worker.reload", signal=reason, ok=False, error=type(exc).__name__)
            return
        log.info(
            "worker.reload",
            signal=reason,
            ok=True,
            sink_reopened=reopen is not None,
            properties=len(snapshot.properties),
            problems=len(snapshot.problems),
        )

    async def run_once(self, names: Sequence[str] | None = None) -> list[JobResult]:
        """Every enabled job (or those named), once, in run order."""
        runner = JobRunner(self.jobs, self._require_ctx(), self.metrics)
        chosen = [name for name in self.jobs if names is None or name in names]
        return await runner.run_in_order(chosen)

    async def run(self) -> None:
        """Scheduled jobs, heartbeat and health until ``request_stop()``; then drain.

        Returns at once when a stop ended start-up while the site was down.
        """
        if self.ctx is None and self._stop.is_set():
            return
        runner = self.runner = JobRunner(
            self.jobs, self._require_ctx(), self.metrics, on_first_cycle_end=self.on_first_cycle_end
        )
        scheduler = build_scheduler(runner, self.intervals, rng=self.rng)
        pusher = self._change_pusher(runner)
        await self._start_health()
        grace_s = self.settings.grace_s
        scheduler.start()
        if pusher is not None:
            pusher.start()
        self.running = True
        try:
            await self._stop.wait()
        except asyncio.CancelledError:
            grace_s = 0.0  # a second signal: no more waiting
            raise
        finally:
            scheduler.pause()
            drained = await runner.drain(grace_s)
            if pusher is not None:
                await pusher.close()
            scheduler.shutdown(wait=False)
            self.running = False
            log.info("worker.drained", clean=drained, grace_s=grace_s)

    def _change_pusher(self, runner: JobRunner) -> ChangePusher | None:
        """The change watch loop, unless disabled (``BOOKYFLOW_CHANGE_POLL_S=0``) or the source
        cannot tell when it changed."""
        poll_s = self.settings.change_poll_s
        if self.watcher is None or not self.watcher.watching or poll_s <= 0:
            return None
        window_s = self.settings.change_window_s
        return ChangePusher(self.watcher, runner, self.clock, poll_s=poll_s, window_s=window_s)

    async def _start_health(self) -> None:
        if not self.heartbeat or self._health_started:
            return
        self._health_started = True
        live = self._own_telemetry()
        sources = HealthSources(self.snapshot, lambda: self.ready, live.telemetry)
        self.health = await start_health(
            self._stack,
            self.settings,
            sources,
            self.clock,
            file_interval_s=self.heartbeat_file_interval_s,
            log_interval_s=self.heartbeat_log_interval_s,
        )

    async def close(self) -> None:
        """Release the client, sink, state store and health server; safe to call twice."""
        if self._closed:
            return
        self._closed = True
        if self._reload_task is not None:
            self._reload_task.cancel()
            await asyncio.gather(self._reload_task, return_exceptions=True)
        await self._stack.aclose()
        log.info("worker.stopped", reason=self.stop_reason)
