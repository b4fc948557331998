"""Local faults an operator's machine throws at the daemon: SIGHUP, logrotate, a second daemon."""

from __future__ import annotations

import asyncio
import signal

import pytest

from tests.e2e.conftest import Site, Spawn, WorkerProcess

# Bounds, not timings: a regression makes these waits hang, and the bound turns that into a
# failure with the process's output instead of the suite's global timeout.
EXIT_BOUND_S = 30.0


async def exit_code(worker: WorkerProcess) -> int:
    return await asyncio.wait_for(worker.wait(), EXIT_BOUND_S)


async def test_sighup_reopens_the_bookings_file_and_keeps_running(site: Site, spawn: Spawn) -> None:
    """SIGHUP after logrotate: one worker.reload line, the file recreated, the daemon still up."""
    worker = await spawn("run")
    await worker.event("job.finished")
    bookings = site.state_dir / "bookings.jsonl"
    bookings.rename(site.state_dir / "bookings.jsonl.1")
    worker.proc.send_signal(signal.SIGHUP)
    reload = await worker.event("worker.reload")
    assert reload["ok"] is True
    assert reload["sink_reopened"] is True
    assert reload["properties"] == 3
    assert bookings.exists()
    assert worker.proc.returncode is None
    worker.proc.send_signal(signal.SIGTERM)
    assert await exit_code(worker) == 0
    assert worker.events().count("worker.reload") == 1
    assert worker.events()[-1] == "worker.stopped"


@pytest.mark.slow  # over 3 s (--durations): real worker processes, run to their end
async def test_a_second_daemon_on_one_state_dir_exits_78_naming_the_first(
    site: Site, spawn: Spawn
) -> None:
    """A second `run` or `sync` (even with its own bookings file) exits 78; `check` still works."""
    first = await spawn("run")
    await first.event("properties.reconciled")
    elsewhere = str(site.state_dir.parent / "other-bookings.jsonl")
    for command in (("run",), ("sync", "--once")):
        second = await spawn(*command, BOOKYFLOW_BOOKINGS_FILE=elsewhere)
        assert await exit_code(second) == 78, second.stdout[-3:]
        locked = second.records[-1]
        assert locked["event"] == "state.locked"
        assert locked["holder_pid"] == first.proc.pid
        assert f"pid {first.proc.pid}" in locked["error"]
        assert "Traceback" not in "\n".join(second.stdout + second.stderr)
    check = await spawn("check", "--json")
    assert await exit_code(check) == 0, check.stdout[-3:]
    assert first.proc.returncode is None
    first.proc.send_signal(signal.SIGTERM)
    assert await exit_code(first) == 0
