"""The summary that ends ``sync --once``: against the sandbox over loopback, one site and many."""

from __future__ import annotations

import asyncio
from collections import Counter
from pathlib import Path

import pytest

from tests.sync.support import reservation, seaside
from tests.test_cli import clean_env, json_lines, restore_logging, sandbox_env  # noqa: F401
from tests.test_cli_reports import write_inventory, write_sites
from worker.api.routes import route_template
from worker.cli import main
from worker.sandbox import Sandbox
from worker.summary import SiteOutcome, render
from worker.sync.job import JobResult

WRITES = frozenset({"POST", "PUT", "DELETE", "PATCH"})


def summary_of(stdout: str) -> str:
    """The summary: everything from its first line on (the log lines come before it)."""
    return stdout[stdout.index("sync --once: ") :]


def sandbox_writes(sandbox: Sandbox) -> Counter[str]:
    """Writes to the API the sandbox received, by route template: what the summary must add up
    to (the token request is the token manager's, not a write)."""
    api = sandbox.api_url.removeprefix(sandbox.url)
    routes = (route_template(e.path.removeprefix(api)) for e in sandbox.journal.entries)
    methods = (e.method for e in sandbox.journal.entries)
    return Counter(
        route
        for route, method in zip(routes, methods, strict=True)
        if method in WRITES and route.startswith("/cmf/")
    )


@pytest.mark.slow
async def test_sync_once_ends_with_jobs_writes_and_exit_code(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Every job ok, each endpoint's writes as the sandbox counted them, and "exit 0"."""
    sandbox_env(clean_env, sandbox, tmp_path)
    write_inventory(tmp_path, seaside("1001", content={}))
    sandbox.journal.clear()
    assert await asyncio.to_thread(main, ["sync", "--once", "--log-format", "console"]) == 0
    text = summary_of(capsys.readouterr().out)
    assert text.startswith("sync --once: 4 job(s), 0 failed, 0 held, in ")
    for job in ("properties", "ari", "reservations", "bookings"):
        assert f" {job} " in text
    received = sandbox_writes(sandbox)
    assert received
    assert f"writes: {sum(received.values())}\n" in text
    for route, count in received.items():
        assert f"{route} {count}" in text
    assert text.rstrip().endswith("exit 0")
    assert "{'" not in text  # no Python reprs (route templates do have {id})


@pytest.mark.slow
async def test_sync_once_summary_names_what_was_held_and_why_it_exits_1(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A reservation the inventory gets wrong: its problem (and what is held) listed, exit 1."""
    sandbox_env(clean_env, sandbox, tmp_path)
    bad = {**reservation("OTA-BAD", 8), "room_type_id": 99}
    write_inventory(tmp_path, seaside("1001", content={}, reservations=[bad]))
    assert await asyncio.to_thread(main, ["sync", "--once", "--log-format", "console"]) == 1
    text = summary_of(capsys.readouterr().out)
    assert "0 failed" in text
    assert "inventory problems: 1" in text
    assert "properties[0].reservations[0].room_type_id" in text
    assert "held: this reservation is skipped until it is fixed" in text
    assert "exit 1: the inventory has problems" in text


@pytest.mark.parametrize("argv", [["--json"], ["--json", "--log-format", "console"], []])
async def test_no_summary_with_json_or_into_a_pipe_of_json_logs(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    """--json, or JSON logs on a stdout that is no terminal: stdout stays JSON lines only."""
    sandbox_env(clean_env, sandbox, tmp_path)
    assert await asyncio.to_thread(main, ["sync", "--once", *argv]) == 0
    out = capsys.readouterr().out
    assert "sync --once:" not in out
    lines = out.splitlines()
    assert lines
    if "console" not in argv:
        assert all(line.startswith("{") for line in lines)
        assert "sync.finished" in {record["event"] for record in json_lines(out)}


@pytest.mark.slow
async def test_many_sites_summary_has_a_row_per_site_and_job(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Two [[sites]]: each label's four jobs, ok, and the headline counts both sites."""
    clean_env.setenv("BOOKYFLOW_CONFIG_FILE", str(write_sites(tmp_path, sandbox)))
    write_inventory(tmp_path, seaside("1001", content={}))
    assert await asyncio.to_thread(main, ["sync", "--once", "--log-format", "console"]) == 0
    text = summary_of(capsys.readouterr().out)
    assert text.startswith("sync --once: 2 sites, 8 job(s), 0 failed")
    rows = [line.split("|") for line in text.splitlines() if line.count("|") == 4]
    cells = [(row[0].strip(), row[1].strip(), row[2].strip()) for row in rows[1:]]
    for label in ("alpha", "beta"):
        jobs = [(job, result) for site, job, result in cells if site == label]
        assert jobs == [
            ("properties", "ok"),
            ("ari", "ok"),
            ("reservations", "ok"),
            ("bookings", "ok"),
        ]
    assert "  alpha: " in text
    assert "  beta: " in text


def test_a_site_that_did_not_start_is_one_failed_row() -> None:
    """Pure rendering: a site stopped at start-up shows its error type; the exit line says why."""
    ok = JobResult("ari", Counter({"pushed": 2}))
    sites = [
        SiteOutcome("alpha", [ok], {"/cmf/property/prices": 2}, duration_s=1.0),
        SiteOutcome("beta", error="CredentialsRejected"),
    ]
    text = render(sites, exit_code=1, duration_s=1.5)
    assert "sync --once: 2 sites, 1 job(s), 1 failed, 0 held, in 1.5 s" in text
    assert " beta  | -   | FAILED | -    | CredentialsRejected" in text
    assert " alpha | ari | ok     | 0    | pushed=2" in text
    assert "alpha: /cmf/property/prices 2" in text
    assert text.endswith("exit 1: a site did not start")


def test_long_lists_are_cut_to_one_screen() -> None:
    """Forty held items: eight shown, the rest counted, pointing at `status`."""
    held = [f"{n}: reservation R{n}: refused" for n in range(40)]
    text = render(
        [SiteOutcome("s", [JobResult("reservations")], held=held)], exit_code=1, duration_s=0
    )
    assert "held: 40" in text
    assert "... and 32 more (see `bookyflow-worker status`)" in text
    assert len(text.splitlines()) < 25
    assert held[-1] not in text
