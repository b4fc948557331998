"""The ``job_outcomes`` table: per property and job, when its work last succeeded and its last
error (read by ``status``).

A success is written at most every ``OK_REFRESH_S`` per property and job while nothing failed in
between: every run of every job succeeds on every property on an unchanged day, and writing each
one (a committed, fsync-ed transaction) was hundreds of fsyncs a second at a thousand sites for
a timestamp ``status`` shows to the minute. An error is always written, and the first success
after one too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from worker.state.tables import Tables

__all__ = ["OK_REFRESH_S", "JobOutcome", "JobOutcomesTable"]

# How stale a property's "last succeeded" may be in ``status`` (monotonic seconds).
OK_REFRESH_S = 60.0

_OK = (
    "INSERT INTO job_outcomes (property_uid, job, ok_at) VALUES (?, ?, ?) "
    "ON CONFLICT (property_uid, job) DO UPDATE SET ok_at = excluded.ok_at"
)
_ERROR = (
    "INSERT INTO job_outcomes (property_uid, job, error, error_at) VALUES (?, ?, ?, ?) "
    "ON CONFLICT (property_uid, job) DO UPDATE SET error = excluded.error, "
    "error_at = excluded.error_at"
)


@dataclass(frozen=True)
class JobOutcome:
    """When a job last did a property's work without error, and its last error (ISO UTC)."""

    ok_at: str | None
    error: str | None
    error_at: str | None


class JobOutcomesTable(Tables):
    def __init__(self, *args: Any) -> None:
        super().__init__(*args)
        # (property, job) -> when its last success was written; absent after an error.
        self._ok_written: dict[tuple[int, str], float] = {}

    async def record_job_outcome(self, property_uid: int, job: str, error: str | None) -> None:
        """The property's work in ``job`` just succeeded (``error`` None) or failed with it."""
        key, now = (property_uid, job), self._clock.now()
        if error is None:
            written = self._ok_written.get(key)
            if written is not None and now - written < OK_REFRESH_S:
                return  # written less than OK_REFRESH_S ago, and no error since
            await self._write(_OK, (property_uid, job, self._now()))
            self._ok_written[key] = now
        else:
            self._ok_written.pop(key, None)
            await self._write(_ERROR, (property_uid, job, error[:300], self._now()))

    def _forget_outcomes_written(self) -> None:
        """After rows were deleted (a forgotten property): the next success is written."""
        self._ok_written.clear()

    async def job_outcomes(self, property_uid: int) -> dict[str, JobOutcome]:
        rows = await self._all(
            "SELECT job, ok_at, error, error_at FROM job_outcomes WHERE property_uid = ?",
            (property_uid,),
        )
        return {
            str(row["job"]): JobOutcome(row["ok_at"], row["error"], row["error_at"]) for row in rows
        }
