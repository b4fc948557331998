"""What a sync job is, what one run of it returns, and the one way a job is run.

``run_job`` runs one job, never lets its exception escape (a daemon must outlive a bad cycle)
and logs exactly one ``job.finished`` summary line, with the run's duration on the context's
``Clock`` (also kept in ``JobResult.duration_s`` for the metrics). A job stopped by one of our
typed errors (the site is down, the breaker is open, no token, a refusal) logs only that line,
at WARNING, with ``error_type``: the message says what happened. Only an unexpected exception
(a bug) adds ``job.crashed`` with its traceback.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Protocol

import structlog

from worker.errors import BookyFlowError
from worker.logging import get_logger
from worker.sync.context import SyncContext

__all__ = ["Job", "JobResult", "run_job"]

log = get_logger(__name__)


@dataclass
class JobResult:
    """What one run did: counters such as ``created``, ``pushed``, ``failed``, ``deferred``."""

    job: str
    counts: Counter[str] = field(default_factory=Counter)
    errors: list[str] = field(default_factory=list)
    duration_s: float = 0.0  # set by ``run_job``, on the context's clock

    @property
    def ok(self) -> bool:
        return not self.errors

    def fail(self, where: str, exc: BaseException) -> None:
        self.counts["failed"] += 1
        self.errors.append(f"{where}: {type(exc).__name__}: {exc}")


class Job(Protocol):
    """A scheduled sync job. ``scopes`` are the OAuth scopes its requests need: the one place
    that says so (``worker.scopes.needed_by`` derives what a worker requests from them)."""

    name: str
    scopes: tuple[str, ...]

    async def run(self, ctx: SyncContext) -> JobResult: ...


async def run_job(job: Job, ctx: SyncContext) -> JobResult:
    """Run ``job`` once; log one ``job.finished`` line; never raise (except cancellation)."""
    started = ctx.clock.now()
    with structlog.contextvars.bound_contextvars(job=job.name):
        aborted: dict[str, str] = {}
        try:
            result = await job.run(ctx)
        except Exception as exc:  # a daemon must outlive any one bad cycle
            result = JobResult(job.name)
            result.fail("job", exc)
            aborted["error_type"] = type(exc).__name__
            if not isinstance(exc, BookyFlowError):  # a bug: its traceback is the report
                log.exception("job.crashed", error=type(exc).__name__)
        result.duration_s = ctx.clock.now() - started
        level = log.info if result.ok else log.warning
        level(
            "job.finished",
            ok=result.ok,
            duration_ms=round(result.duration_s * 1000, 1),
            counts=dict(result.counts),
            errors=result.errors[:5],
            **aborted,
        )
    return result
