"""Transient failures against the sandbox (issue 11): retried within seconds, never a pause.

The harness's gates run on a fake clock that moves itself forward here, so a retry's backoff is
read from ``clock.slept`` instead of being waited out.
"""

from __future__ import annotations

from typing import Any

from structlog.testing import capture_logs

from tests.sync.conftest import HarnessFactory
from tests.sync.support import FAST_RETRY, Harness, reservation, seaside
from worker.sandbox import Sandbox
from worker.settings import BackoffSettings
from worker.sync.gates import PropertyGates
from worker.testing import FakeClock

ADD = "reservations/add"
WITHIN_SECONDS = 10.0  # what "retried within seconds" means here (PROPERTY_RETRY caps at 8)


async def _with_property(h: Harness, *reservations: dict[str, Any]) -> int:
    """One synced property carrying ``reservations``; the clock then moves itself."""
    h.write_inventory(seaside("1001", reservations=list(reservations)))
    assert (await h.run("properties")).ok
    h.clock.auto_advance = True
    return int(h.site_properties()[0]["property_uid"])


def _paths(h: Harness, *fragments: str) -> list[str]:
    """The journal's requests to these endpoints, in order, as ``METHOD fragment status``."""
    seen = []
    for entry in h.sandbox.journal.entries:
        for fragment in fragments:
            if fragment in entry.path:
                seen.append(f"{entry.method} {fragment} {entry.status}")
    return seen


async def test_a_503_on_reservations_add_is_checked_then_sent_again_within_seconds(
    harness: Harness,
) -> None:
    """A 503 before processing on the non-idempotent push: the same run reads the bookings
    again, finds nothing, sends it again after a backoff of seconds; the property is not paused."""
    uid = await _with_property(harness, reservation("OTA-1", 5, nights=2))
    harness.sandbox.journal.clear()
    harness.sandbox.faults.fail_next(503, path=ADD)
    result = await harness.run("reservations")
    assert result.ok, result.errors
    assert result.counts["pushed"] == 1
    assert _paths(harness, "list/bookings", ADD) == [
        "GET list/bookings 200",
        f"PUT {ADD} 503",
        "GET list/bookings 200",  # check first ...
        f"PUT {ADD} 200",  # ... then send again
    ]
    assert len(harness.site_bookings(uid)) == 1
    assert 0 < sum(harness.clock.slept) <= WITHIN_SECONDS
    assert harness.context.gates.ready(uid)


async def test_a_lost_answer_after_processing_resolves_within_the_run(harness: Harness) -> None:
    """A reset after the site booked it: the retry finds the booking and adopts it, one push."""
    uid = await _with_property(harness, reservation("OTA-2", 5))
    harness.sandbox.faults.reset_next(path=ADD, after_processing=True)
    result = await harness.run("reservations")
    assert result.ok, result.errors
    assert result.counts["adopted"] == 1
    assert len(harness.site_bookings(uid)) == 1
    assert len(harness.writes_to(ADD)) == 1
    record = await harness.state.get_reservation("OTA-2")
    assert record is not None
    assert record.status == "pushed"


async def test_an_error_of_the_propertys_own_still_pauses_it(harness: Harness) -> None:
    """A refusal (400) is not retried within the run and pauses the property for a minute."""
    uid = await _with_property(harness, reservation("OTA-3", 5))
    harness.sandbox.faults.fail_next(400, path=ADD)
    failed = await harness.run("reservations")
    assert failed.counts["failed"] == 1
    assert len(harness.sandbox.journal.matching(path=ADD)) == 1
    assert harness.context.gates.retry_in_s(uid) == 60.0
    again = await harness.run("reservations")
    assert again.counts["deferred"] == 1


async def test_an_open_breaker_ends_the_retries_without_pausing_the_property(
    sandbox: Sandbox, harness_for: HarnessFactory
) -> None:
    """Once the breaker opens, the property is not tried again in the run (the breaker paces a
    site that stopped answering), and it is not paused: the next run may try it at once."""
    retry = FAST_RETRY.model_copy(update={"breaker_failure_threshold": 1})  # window of 4
    h = await harness_for(sandbox, retry=retry)
    uid = await _with_property(h, reservation("OTA-4", 5))
    sandbox.journal.clear()
    sandbox.faults.set_random_failure(1.0, statuses=(503,))
    with capture_logs() as logs:
        result = await h.run("reservations")
    assert result.counts["failed"] == 1
    # two attempts of the client, one retry of the property; its first request opened it
    assert len(sandbox.journal.entries) == 3
    assert h.client.breaker.state == "open"
    assert [e["event"] for e in logs].count("property.retry_scheduled") == 1
    assert h.context.gates.retry_in_s(uid) <= WITHIN_SECONDS


async def test_retries_of_a_property_are_paid_from_the_retry_budget(
    sandbox: Sandbox, harness_for: HarnessFactory
) -> None:
    """With the budget spent, a transient failure is reported instead of retried."""
    h = await harness_for(sandbox, retry=FAST_RETRY.model_copy(update={"budget_tokens": 4}))
    await _with_property(h, reservation("OTA-5", 5))
    sandbox.faults.fail_next(503, path=ADD)
    with capture_logs() as logs:
        result = await h.run("reservations")
    assert result.counts["failed"] == 1
    assert len(sandbox.journal.matching(path=ADD)) == 1
    assert "retry.budget_exhausted" in [e["event"] for e in logs]


async def test_a_total_outage_logs_one_line_per_job_run_and_no_traceback(
    harness: Harness,
) -> None:
    """Site down: every job run ends in one ``job.finished`` WARNING (with the error), never a
    ``job.crashed`` traceback; once the breaker is open, no property logs a failure of its own."""
    await _with_property(harness, reservation("OTA-6", 5))
    harness.sandbox.faults.set_random_failure(1.0, statuses=(503,))
    with capture_logs() as logs:
        first = await harness.run_all()
        assert harness.client.breaker.state == "open"
        mark = len(logs)
        second = await harness.run_all()
    assert not any(r.ok for r in (*first.values(), *second.values()))
    assert [e for e in logs if "exc_info" in e or e["event"] == "job.crashed"] == []
    finished = [e for e in logs if e["event"] == "job.finished"]
    assert len(finished) == len(first) + len(second)
    assert {e["log_level"] for e in finished} == {"warning"}
    during = [e["event"] for e in logs[mark:] if e["log_level"] in ("warning", "error")]
    assert during == ["job.finished"] * len(second)
    assert "CircuitOpen" in [e.get("error_type") for e in finished[len(first) :]]


async def test_other_jobs_wait_for_a_property_the_properties_job_could_not_complete(
    harness: Harness,
) -> None:
    """The base price keeps failing (503): the reservations job leaves the property alone
    instead of pushing into a property without tariffs, and pushes once it is complete."""
    harness.clock.auto_advance = True
    harness.write_inventory(seaside("1001", reservations=[reservation("OTA-7", 5)]))
    harness.sandbox.faults.fail_next(503, times=100, path="property/base")
    assert (await harness.run("properties")).counts["failed"] == 1
    waiting = await harness.run("reservations")
    assert waiting.counts["waiting"] == 1
    assert not harness.sandbox.journal.matching(path=ADD)
    harness.sandbox.faults.clear()
    assert (await harness.run("properties")).ok
    pushed = await harness.run("reservations")
    assert pushed.counts["pushed"] == 1


def test_a_property_is_unfinished_until_the_properties_job_completed_it() -> None:
    """Not completed yet in this process while the properties job works on it, or after a
    transient failure: unfinished; completed once, it stays finished on later runs; an error of
    its own lets the other jobs go on (it is paused for all of them anyway)."""
    gates = PropertyGates(FakeClock(), BackoffSettings().property())
    gates.completing([1, 2, 3])
    assert all(gates.unfinished(uid) for uid in (1, 2, 3))
    gates.completion(1, done=True)
    gates.completion(2, done=False, transient=True)
    gates.completion(3, done=False)
    assert [gates.unfinished(uid) for uid in (1, 2, 3)] == [False, True, False]
    gates.completing([1, 2, 3])
    assert [gates.unfinished(uid) for uid in (1, 2, 3)] == [False, True, True]
