"""The ``job_outcomes`` table: per property and job, when its work last succeeded and its last
error (read by ``status``)."""

from __future__ import annotations

from dataclasses import dataclass

from worker.state.tables import Tables

__all__ = ["JobOutcome", "JobOutcomesTable"]

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
    async def record_job_outcome(self, property_uid: int, job: str, error: str | None) -> None:
        """The property's work in ``job`` just succeeded (``error`` None) or failed with it."""
        if error is None:
            await self._write(_OK, (property_uid, job, self._now()))
        else:
            await self._write(_ERROR, (property_uid, job, error[:300], self._now()))

    async def job_outcomes(self, property_uid: int) -> dict[str, JobOutcome]:
        rows = await self._all(
            "SELECT job, ok_at, error, error_at FROM job_outcomes WHERE property_uid = ?",
            (property_uid,),
        )
        return {
            str(row["job"]): JobOutcome(row["ok_at"], row["error"], row["error_at"]) for row in rows
        }
