"""The command line in-process: exit codes, one-line errors, check report, healthcheck."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from tests.security.unwritable import read_only_directory
from worker.cli import main
from worker.health import HEARTBEAT_FILE, write_heartbeat
from worker.inventory.sink import JsonLinesBookingSink
from worker.lock import StateDirLock
from worker.sandbox import Sandbox


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """main() points the root logger at the captured stdout; put the old handlers back."""
    root = logging.getLogger()
    handlers, level, config = root.handlers[:], root.level, structlog.get_config()
    yield
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)


@pytest.fixture
def clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> pytest.MonkeyPatch:
    """No BOOKYFLOW_* variable from the outside; run from an empty directory (no .env)."""
    import os

    for name in list(os.environ):
        if name.startswith("BOOKYFLOW_"):
            monkeypatch.delenv(name)
    monkeypatch.chdir(tmp_path)
    return monkeypatch


def sandbox_env(env: pytest.MonkeyPatch, sandbox: Sandbox, tmp_path: Path, **extra: str) -> None:
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"properties": []}))
    values = {
        "BOOKYFLOW_API_URL": sandbox.api_url,
        "BOOKYFLOW_CLIENT_ID": "demo",
        "BOOKYFLOW_CLIENT_SECRET": "s3cret-demo-secret",
        "BOOKYFLOW_CHANNEL_NAME": "cli-test",
        "BOOKYFLOW_INVENTORY": str(inventory),
        "BOOKYFLOW_STATE_DIR": str(tmp_path / "state"),
        **extra,
    }
    for name, value in values.items():
        env.setenv(name, value)


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.startswith("{")]


def test_missing_configuration_exits_78_with_one_line(
    clean_env: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without required settings `run` exits 78 after one JSON line naming the variables."""
    assert main(["run"]) == 78
    out = capsys.readouterr()
    lines = out.out.splitlines()
    assert len(lines) == 1
    record = json.loads(lines[0])
    assert record["event"] == "config.invalid"
    assert "BOOKYFLOW_API_URL" in str(record["error"])
    assert "Traceback" not in out.out + out.err


def test_usage_errors_exit_2(clean_env: pytest.MonkeyPatch) -> None:
    """`sync` without --once, or an unknown job, is a usage error (exit 2)."""
    for argv in (["sync"], ["sync", "--once", "--job", "nope"]):
        with pytest.raises(SystemExit) as caught:
            main(argv)
        assert caught.value.code == 2


def test_healthcheck_needs_only_the_state_dir(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """healthcheck exits 0 on a fresh heartbeat and 1 on a stale or missing one, no credentials."""
    clean_env.setenv("BOOKYFLOW_STATE_DIR", str(tmp_path))
    assert main(["healthcheck"]) == 1
    fresh = {"written_at": time.time(), "file_interval_s": 60.0, "jobs": {}}
    write_heartbeat(tmp_path / HEARTBEAT_FILE, fresh)
    assert main(["healthcheck"]) == 0
    write_heartbeat(tmp_path / HEARTBEAT_FILE, {**fresh, "written_at": time.time() - 600})
    assert main(["healthcheck"]) == 1
    events = [line["event"] for line in json_lines(capsys.readouterr().out)]
    assert events == ["health.checked"] * 3


async def test_check_prints_the_report_as_json(
    clean_env: pytest.MonkeyPatch,
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """check --json reports site, token, scopes, channel id, owned properties and inventory."""
    sandbox_env(clean_env, sandbox, tmp_path)
    assert await asyncio.to_thread(main, ["check", "--json"]) == 0
    report = json_lines(capsys.readouterr().out)[-1]  # printed after the log lines
    assert report["site"] == sandbox.api_url
    assert report["token_ok"] is True
    assert report["granted_scopes"] == ["delete", "read", "write"]
    assert report["channel_id"] == 1
    assert report["owned_properties"] == []
    assert report["inventory"] == {"valid": True, "properties": 0, "problems": []}


async def test_check_human_report_names_inventory_problems(
    clean_env: pytest.MonkeyPatch,
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """An invalid inventory makes check print the problem with its field path and exit 1."""
    sandbox_env(clean_env, sandbox, tmp_path)
    (tmp_path / "inventory.json").write_text(json.dumps({"properties": [{"remote_uid": "1"}]}))
    assert await asyncio.to_thread(main, ["check"]) == 1
    out = capsys.readouterr().out
    assert "inventory:        INVALID, 0 properties" in out
    assert "problem: properties[0].name" in out


async def test_rejected_credentials_exit_78_without_traceback(
    clean_env: pytest.MonkeyPatch,
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A wrong secret is logged once as credentials.rejected and exits 78."""
    sandbox_env(clean_env, sandbox, tmp_path, BOOKYFLOW_CLIENT_SECRET="not-the-secret")
    assert await asyncio.to_thread(main, ["sync", "--once"]) == 78
    out = capsys.readouterr()
    assert json_lines(out.out)[-1]["event"] == "credentials.rejected"
    assert "Traceback" not in out.out + out.err
    assert "not-the-secret" not in out.out + out.err


@pytest.mark.slow
async def test_demo_syncs_the_example_inventory_and_prints_a_summary(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The demo creates the example's three properties and ends with its summary table."""
    from worker.demo import run_demo

    assert await run_demo(seconds=3, state_dir=tmp_path / "demo-state") == 0
    out = capsys.readouterr().out
    table = out[out.index("BookyFlow demo: what the worker synced") :]
    for remote_uid in ("1001 -> ", "2001 -> ", "3001 -> "):
        assert remote_uid in table
    assert "requests by status: 200:" in table
    assert "token refreshes: 1" in table


def offline_env(env: pytest.MonkeyPatch, tmp_path: Path, state_dir: Path) -> None:
    """Settings for a site nobody answers: these start-ups must end before any request."""
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"properties": []}))
    values = {
        "BOOKYFLOW_API_URL": "http://127.0.0.1:9/api",
        "BOOKYFLOW_CLIENT_ID": "demo",
        "BOOKYFLOW_CLIENT_SECRET": "s3cret-demo-secret",
        "BOOKYFLOW_CHANNEL_NAME": "cli-test",
        "BOOKYFLOW_INVENTORY": str(inventory),
        "BOOKYFLOW_STATE_DIR": str(state_dir),
    }
    for name, value in values.items():
        env.setenv(name, value)


def error_records(text: str) -> list[dict[str, object]]:
    return [line for line in json_lines(text) if line["level"] == "error"]


@pytest.mark.parametrize("command", [["run"], ["sync", "--once"]])
def test_state_dir_below_a_file_exits_78_with_one_line(
    clean_env: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    """A state directory that cannot be created: exit 78, one error line naming it, no traceback."""
    (tmp_path / "file").write_text("")
    offline_env(clean_env, tmp_path, tmp_path / "file" / "state")
    assert main(command) == 78
    out = capsys.readouterr()
    (error,) = error_records(out.out)
    assert error["event"] == "config.invalid"
    assert "file/state cannot be created" in str(error["error"])
    assert "Traceback" not in out.out + out.err


def test_read_only_state_dir_exits_78_with_one_line(
    clean_env: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A read-only state directory: exit 78 and one readable line, not a traceback and exit 1."""
    offline_env(clean_env, tmp_path, tmp_path / "state")
    with read_only_directory(tmp_path / "state"):
        assert main(["run"]) == 78
    out = capsys.readouterr()
    (error,) = error_records(out.out)
    assert error["event"] == "config.invalid"
    assert "is not writable" in str(error["error"])
    assert "Traceback" not in out.out + out.err


@pytest.mark.parametrize("command", [["run"], ["sync", "--once"]])
def test_a_held_state_dir_exits_78_naming_the_holder(
    clean_env: pytest.MonkeyPatch,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:
    """`run`/`sync` on a state directory another daemon holds: exit 78, one line with its pid."""
    offline_env(clean_env, tmp_path, tmp_path / "state")
    with StateDirLock.acquire(tmp_path / "state"):
        assert main(command) == 78
    out = capsys.readouterr()
    (error,) = error_records(out.out)
    assert error["event"] == "state.locked"
    assert error["holder_pid"] == os.getpid()
    assert f"pid {os.getpid()}" in str(error["error"])
    assert "Traceback" not in out.out + out.err


async def test_check_works_beside_a_daemon_holding_the_state_dir(
    clean_env: pytest.MonkeyPatch,
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """check is read-only: it takes no lock and opens no bookings file, so it runs beside `run`."""
    sandbox_env(clean_env, sandbox, tmp_path)
    bookings = tmp_path / "state" / "bookings.jsonl"
    with StateDirLock.acquire(tmp_path / "state"):
        sink = await JsonLinesBookingSink.open(bookings)  # the daemon's open bookings file
        try:
            assert await asyncio.to_thread(main, ["check", "--json"]) == 0
        finally:
            await sink.close()
    assert json_lines(capsys.readouterr().out)[-1]["token_ok"] is True
