"""`run` against a site that is down at start-up (issue 11): it waits the site out until SIGTERM.

The client's own retries, the breaker period and the token endpoint's floor are shortened through
the environment, so a site that blinks costs the test a second, not minutes.
"""

from __future__ import annotations

import signal

import pytest

from tests.e2e.conftest import Site, Spawn, assert_json_lines
from tests.e2e.test_lifecycle import free_port

QUICK = {
    "BOOKYFLOW_RETRY__MAX_ATTEMPTS": "2",
    "BOOKYFLOW_RETRY__BASE_DELAY_S": "0.05",
    "BOOKYFLOW_RETRY__MAX_DELAY_S": "0.1",
    "BOOKYFLOW_RETRY__BREAKER_RESET_S": "0.5",
    "BOOKYFLOW_TOKEN__RETRY_MIN_INTERVAL_S": "0.5",
}


@pytest.mark.slow  # over 3 s (--durations): real worker processes, run to their end
async def test_run_waits_out_503_pages_at_start_up_then_syncs(site: Site, spawn: Spawn) -> None:
    """Eight 503 HTML pages (token endpoint first): `run` logs worker.start_failed, tries again,
    syncs, and SIGTERM still stops it cleanly (it used to exit 1 at once)."""
    site.sandbox.faults.fail_next(503, times=8)
    worker = await spawn("run", **QUICK)
    failed = await worker.event("worker.start_failed")
    assert failed["level"] == "warning"
    assert failed["retry_in_s"] > 0
    await worker.event("job.finished")
    worker.proc.send_signal(signal.SIGTERM)
    assert await worker.wait() == 0
    assert "worker.failed" not in worker.events()
    assert not worker.stderr
    assert_json_lines(worker)


async def test_run_against_a_refused_connection_lasts_until_sigterm(
    site: Site, spawn: Spawn
) -> None:
    """Nobody listening on the API port: `run` keeps trying (TransportError, no traceback)
    until SIGTERM, then exits 0 with worker.stopping and worker.stopped."""
    url = f"http://127.0.0.1:{free_port()}/bookyflow/api"
    worker = await spawn("run", BOOKYFLOW_API_URL=url, **QUICK)
    first = await worker.event("worker.start_failed")
    assert first["error_type"] == "TransportError"
    worker.proc.send_signal(signal.SIGTERM)
    assert await worker.wait() == 0
    assert worker.events()[-1] == "worker.stopped"
    assert "worker.stopping" in worker.events()
    assert "Traceback" not in "\n".join(worker.stdout + worker.stderr)


async def test_sync_once_still_fails_fast_when_the_site_is_down(site: Site, spawn: Spawn) -> None:
    """A one-shot `sync --once` does not wait for the site: exit 1 and one worker.failed line
    (its caller decides when to try again)."""
    url = f"http://127.0.0.1:{free_port()}/bookyflow/api"
    worker = await spawn("sync", "--once", BOOKYFLOW_API_URL=url, **QUICK)
    assert await worker.wait() == 1
    assert worker.records[-1]["event"] == "worker.failed"
    assert "worker.start_failed" not in worker.events()
