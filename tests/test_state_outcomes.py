"""Job outcomes: a success is written at most once a minute while nothing failed in between."""

from __future__ import annotations

from pathlib import Path

from worker.state import StateStore
from worker.state.outcomes import OK_REFRESH_S
from worker.testing import FakeClock


async def test_repeated_successes_are_written_once_a_minute_and_errors_always(
    tmp_path: Path,
) -> None:
    """Every run of an unchanged day succeeds on every property: one write a minute, not one
    per run; an error is written at once and the next success right after it."""
    clock = FakeClock()
    state = await StateStore.open(tmp_path, clock=clock)
    try:
        await state.record_job_outcome(7, "ari", None)
        first = (await state.job_outcomes(7))["ari"].ok_at
        clock.advance(OK_REFRESH_S / 2)
        await state.record_job_outcome(7, "ari", None)
        assert (await state.job_outcomes(7))["ari"].ok_at == first  # not written again
        clock.advance(OK_REFRESH_S / 2 + 1)
        await state.record_job_outcome(7, "ari", None)
        refreshed = (await state.job_outcomes(7))["ari"].ok_at
        assert refreshed is not None
        assert first is not None
        assert refreshed > first
        clock.advance(1)
        await state.record_job_outcome(7, "ari", "ServerError: HTTP 503")
        assert (await state.job_outcomes(7))["ari"].error == "ServerError: HTTP 503"
        clock.advance(1)
        await state.record_job_outcome(7, "ari", None)
        after_error = (await state.job_outcomes(7))["ari"].ok_at
        assert after_error is not None
        assert after_error > refreshed  # written right after the error
    finally:
        await state.close()
