"""Per-property work shared by every job: gates, back-off, context binding, error isolation.

``for_each_property`` runs ``work(uid)`` for each property, a few at a time (shared PHP hosts
want low concurrency; the client's own per-site rate limit still applies on top). A property
that is backing off is skipped and counted ``deferred``; one that fails is counted ``failed``,
backed off by ``PropertyGates`` and never stops the others. Jobs that write hold the property's
write lock (one write in flight per property across jobs); the read-only bookings job does not
take the lock but still backs a failing property off.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Iterable

import structlog

from worker.logging import get_logger
from worker.sync.context import JobResult, SyncContext
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
    record = await ctx.state.get_property(remote_uid)
    if record is not None and record.property_uid is not None and record.property_uid in ctx.owned:
        return record.property_uid
    matches = find_on_server(remote_uid, ctx.owned.items())
    return matches[0].uid if len(matches) == 1 else None


async def for_each_property(
    ctx: SyncContext,
    result: JobResult,
    uids: Iterable[int],
    work: PropertyWork,
    *,
    writes: bool = True,
) -> None:
    """Run ``work`` for every property in ``uids``; see the module docstring."""
    limit = asyncio.Semaphore(PROPERTY_CONCURRENCY)

    async def one(uid: int) -> None:
        async with limit:
            await _run_one(ctx, result, uid, work, writes=writes)

    await asyncio.gather(*(one(uid) for uid in sorted(set(uids))))


async def _run_one(
    ctx: SyncContext, result: JobResult, uid: int, work: PropertyWork, *, writes: bool
) -> None:
    with structlog.contextvars.bound_contextvars(property_uid=uid):
        if not ctx.gates.ready(uid):
            result.counts["deferred"] += 1
            log.info("property.deferred", retry_in_s=round(ctx.gates.retry_in_s(uid), 1))
            return
        try:
            if writes:
                async with ctx.gates.writing(uid):
                    await work(uid)
            else:
                await _read_only(ctx, uid, work)
        except Exception as exc:  # one property's failure must not stop the others
            result.fail(f"property {uid}", exc)
            log.warning(
                "property.failed",
                error=type(exc).__name__,
                message=str(exc),
                retry_in_s=round(ctx.gates.retry_in_s(uid), 1),
            )


async def _read_only(ctx: SyncContext, uid: int, work: PropertyWork) -> None:
    try:
        await work(uid)
    except Exception as exc:
        ctx.gates.failed_because(uid, exc)
        raise
    ctx.gates.succeeded(uid)
