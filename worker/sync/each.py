"""Per-property work shared by every job: gates, retries, context binding, error isolation.

``for_each_property`` runs ``work(uid)`` for each property, a few at a time (shared PHP hosts
want low concurrency; the client's own per-site rate limit still applies on top). Jobs that write
hold the property's write lock (one write in flight per property across jobs); the read-only
bookings job does not take the lock but obeys the same gates. For each property:

- paused after an error of its own (``PropertyGates``): skipped, counted ``deferred``;
- failed transiently (``retry.is_transient``: a 503 on a write the client could not repeat, a
  body cut short, 5xx after the client's own retries): tried again **within the run**, after
  ``PROPERTY_RETRY``'s backoff (seconds), up to its attempts, while the site's breaker is closed
  and the client's retry budget pays for it. Repeating the work is safe: every job re-plans from
  state and the site, and checks before it repeats an ambiguous write (the reservations job finds
  an earlier push in ``list/bookings`` before it sends ``reservations/add`` again). The write
  lock and the slot are held across the attempts, so no other job's write slips in between (a
  reservation pushed between a failed and a retried room creation was refused for want of
  rooms). Only when the attempts are spent is it counted ``failed`` (one ``property.failed``
  line), and the next run tries it again: it is not paused;
- failed with its own error: counted ``failed``, paused (60 s, doubling), never stopping the
  others;
- not completed: a property the properties job (``COMPLETING_JOB``) has not completed yet in
  this process while it works on it, or whose completion last failed transiently, the other
  writing jobs leave alone (``waiting``, checked once they hold its lock) until it is complete;
- the site is down (breaker open, no token): that property and every one after it in this run
  are left alone (``site_down``; the job's one ``job.finished`` line names the error), since each
  would fail the same way without sending anything.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

import structlog

from worker.api.retry import is_transient
from worker.logging import get_logger
from worker.state import PropertyRecord
from worker.sync.context import SyncContext
from worker.sync.gates import COMPLETING_JOB, PROPERTY_RETRY, SITE_WIDE_FAILURES
from worker.sync.job import JobResult
from worker.sync.property_plan import find_on_server

log = get_logger(__name__)

# Properties worked on at once within one job run.
PROPERTY_CONCURRENCY = 2

PropertyWork = Callable[[int], Awaitable[None]]


async def known_uid(ctx: SyncContext, remote_uid: str) -> int | None:
    """The owned property uid of a vendor property: state first, else one server match.

    Jobs other than ``properties`` never create or adopt; they only act on a property the server
    lists as ours (``ctx.owned``), so a job run alone after a state loss still finds its way.
    """
    return _known(ctx, remote_uid, await ctx.state.get_property(remote_uid))


async def known_uids(ctx: SyncContext, remote_uids: Iterable[str]) -> dict[str, int | None]:
    """``known_uid`` of each vendor property, from one state query."""
    records = {r.remote_uid: r for r in await ctx.state.list_properties()}
    return {remote: _known(ctx, remote, records.get(remote)) for remote in remote_uids}


def _known(ctx: SyncContext, remote_uid: str, record: PropertyRecord | None) -> int | None:
    if record is not None and record.property_uid is not None and record.property_uid in ctx.owned:
        return record.property_uid
    matches = find_on_server(remote_uid, ctx.owned.items())
    return matches[0].uid if len(matches) == 1 else None


@dataclass
class _Run:
    """One ``for_each_property`` call: what it runs, its slots, and whether the site is down."""

    ctx: SyncContext
    result: JobResult
    work: PropertyWork
    writes: bool
    limit: asyncio.Semaphore = field(
        default_factory=lambda: asyncio.Semaphore(PROPERTY_CONCURRENCY)
    )
    site_down: BaseException | None = None


async def for_each_property(
    ctx: SyncContext,
    result: JobResult,
    uids: Iterable[int],
    work: PropertyWork,
    *,
    writes: bool = True,
) -> None:
    """Run ``work`` for every property in ``uids``; see the module docstring."""
    run, targets = _Run(ctx, result, work, writes), sorted(set(uids))
    if result.job == COMPLETING_JOB:
        ctx.gates.completing(targets)
    await asyncio.gather(*(_run_one(run, uid) for uid in targets))


async def _run_one(run: _Run, uid: int) -> None:
    with structlog.contextvars.bound_contextvars(property_uid=uid):
        if not await _due(run, uid):
            return
        lock = run.ctx.gates.lock(uid) if run.writes else contextlib.nullcontext()
        async with run.limit, lock:  # slot before lock, as every job takes them: no deadlock
            if _waiting(run, uid):
                return
            await _attempts(run, uid)


async def _attempts(run: _Run, uid: int) -> None:
    """The work, and its retries within the run after transient failures."""
    started, spent = run.ctx.clock.now(), 0
    for attempt in range(1, PROPERTY_RETRY.max_attempts + 1):
        try:
            async with run.ctx.gates.noting(uid):
                await run.work(uid)
        except Exception as exc:  # one property's failure must not stop the others
            cost = _retry_cost(run, uid, exc, attempt, started)
            if cost is None:
                _completion(run, uid, exc)
                _failed(run, uid, exc, attempt)
                await _outcome(run, uid, exc)
                return
            spent = cost
        else:
            if spent:  # a retry that worked gives its budget back (AWS standard mode)
                run.ctx.cmf.client.budget.on_success(released=spent)
            _completion(run, uid, None)
            await _outcome(run, uid, None)
            return
        await run.ctx.clock.sleep(run.ctx.gates.retry_in_s(uid))


async def _outcome(run: _Run, uid: int, exc: BaseException | None) -> None:
    """Remember when the property's work last succeeded, or its error (what ``status`` shows).

    A site-wide failure (breaker open, no token) is the site's, not the property's: not kept.
    """
    if exc is not None and isinstance(exc, SITE_WIDE_FAILURES):
        return
    error = None if exc is None else f"{type(exc).__name__}: {exc}"
    await run.ctx.state.record_job_outcome(uid, run.result.job, error)


def _completion(run: _Run, uid: int, exc: BaseException | None) -> None:
    """The properties job notes whether a property is complete for the other writing jobs."""
    if run.result.job == COMPLETING_JOB:
        transient = exc is not None and is_transient(exc)
        run.ctx.gates.completion(uid, done=exc is None, transient=transient)


def _waiting(run: _Run, uid: int) -> bool:
    """A writing job other than the completing one, on a property not complete yet."""
    if not run.writes or run.result.job == COMPLETING_JOB or not run.ctx.gates.unfinished(uid):
        return False
    run.result.counts["waiting"] += 1
    log.info("property.waiting", until=f"the {COMPLETING_JOB} job completes it")
    return True


async def _due(run: _Run, uid: int) -> bool:
    """Whether to work on the property now; waits out a deferral of a few seconds."""
    if run.site_down is not None:
        run.result.counts["site_down"] += 1
        return False
    wait_s = run.ctx.gates.retry_in_s(uid)
    if wait_s > PROPERTY_RETRY.max_delay_s:  # paused for an error of its own
        run.result.counts["deferred"] += 1
        log.info("property.deferred", retry_in_s=round(wait_s, 1))
        return False
    if wait_s > 0:  # deferred by seconds after a transient failure (this job's or another's)
        await run.ctx.clock.sleep(wait_s)
    return run.site_down is None


def _retry_cost(
    run: _Run, uid: int, exc: BaseException, attempt: int, started: float
) -> int | None:
    """The budget taken to try the property again in this run, or None: no retry.

    Logs ``property.retry_scheduled`` when it will be tried again.
    """
    if isinstance(exc, SITE_WIDE_FAILURES) or not is_transient(exc):
        return None
    client = run.ctx.cmf.client
    delay_s = run.ctx.gates.retry_in_s(uid)
    if attempt >= PROPERTY_RETRY.max_attempts or client.breaker.state != "closed":
        return None  # an open breaker paces a site that stopped answering, not us
    if run.ctx.clock.now() - started + delay_s > PROPERTY_RETRY.max_total_s:
        return None
    if not client.budget.try_acquire(exc):
        log.warning("retry.budget_exhausted", available=client.budget.available,
                    error=type(exc).__name__)  # fmt: skip
        return None
    log.info("property.retry_scheduled", attempt=attempt, delay_s=round(delay_s, 3),
             error=f"{type(exc).__name__}: {exc}")  # fmt: skip
    return client.budget.cost_of(exc)


def _failed(run: _Run, uid: int, exc: BaseException, attempts: int) -> None:
    """Count the failure; a site-wide one is the job's (logged once), not the property's."""
    if isinstance(exc, SITE_WIDE_FAILURES):
        if run.site_down is None:
            run.site_down = exc
            run.result.fail(f"property {uid}", exc)
        else:
            run.result.counts["site_down"] += 1
        return
    run.result.fail(f"property {uid}", exc)
    log.warning(
        "property.failed",
        error=type(exc).__name__,
        message=str(exc),
        attempts=attempts,
        retry_in_s=round(run.ctx.gates.retry_in_s(uid), 1),
    )
