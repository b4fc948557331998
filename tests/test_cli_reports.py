"""The report commands: ``check`` and ``status`` alone on stdout (logs on stderr), ``schema``,
``check``'s report on every failure, ``check --site`` for ``[[sites]]``, and ``sync --once``'s
exit code for held items and invalid documents."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.sync.support import reservation, seaside

# clean_env and restore_logging (autouse) are test_cli's fixtures, shared by importing them.
from tests.test_cli import clean_env, json_lines, restore_logging, sandbox_env  # noqa: F401
from worker.cli import main
from worker.inventory.models import Inventory
from worker.sandbox import Sandbox


def json_tool(text: str) -> Any:
    """``python -m json.tool`` over ``text``: what an operator's pipe does; fails if it cannot."""
    done = subprocess.run(
        [sys.executable, "-m", "json.tool"], input=text, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


@pytest.fixture
def offline(clean_env: pytest.MonkeyPatch, tmp_path: Path) -> None:  # noqa: F811
    """A site nobody answers, tried once: a start-up failure without waiting for backoff."""
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"properties": []}))
    for name, value in {
        "BOOKYFLOW_API_URL": "http://127.0.0.1:9/api",
        "BOOKYFLOW_CLIENT_ID": "demo",
        "BOOKYFLOW_CLIENT_SECRET": "s3cret-demo-secret",
        "BOOKYFLOW_CHANNEL_NAME": "cli-test",
        "BOOKYFLOW_INVENTORY": str(inventory),
        "BOOKYFLOW_STATE_DIR": str(tmp_path / "state"),
        "BOOKYFLOW_RETRY__MAX_ATTEMPTS": "1",
    }.items():
        clean_env.setenv(name, value)


async def test_check_json_is_alone_on_stdout_and_parses_with_json_tool(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """stdout is exactly one JSON document; the log lines went to stderr, as JSON lines."""
    sandbox_env(clean_env, sandbox, tmp_path)
    assert await asyncio.to_thread(main, ["check", "--json"]) == 0
    out = capsys.readouterr()
    report = json_tool(out.out)
    assert (report["ok"], report["token_ok"], report["error"]) == (True, True, None)
    assert report["channel_id"] == 1
    events = [line["event"] for line in json_lines(out.err)]
    assert "channel.announced" in events


async def test_a_rejected_credential_is_a_report_line_and_exit_78(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A wrong secret: the report says REJECTED (text) or error_type (JSON); exit 78; no secret."""
    sandbox_env(clean_env, sandbox, tmp_path, BOOKYFLOW_CLIENT_SECRET="not-the-secret")
    assert await asyncio.to_thread(main, ["check"]) == 78
    text = capsys.readouterr()
    assert text.out.startswith("error:")
    assert "token:            REJECTED (invalid_client" in text.out
    assert "inventory:        valid, 0 properties" in text.out  # read before the token request
    assert await asyncio.to_thread(main, ["check", "--json"]) == 78
    out = capsys.readouterr()
    report = json_tool(out.out)
    assert (report["ok"], report["token_ok"]) == (False, False)
    assert report["error_type"] == "CredentialsRejected"
    assert [line["event"] for line in json_lines(out.err)][-1] == "credentials.rejected"
    assert "not-the-secret" not in text.out + text.err + out.out + out.err


async def test_a_site_that_does_not_answer_is_a_report_with_exit_1(
    offline: None, capsys: pytest.CaptureFixture[str]
) -> None:
    """Connection refused: the report carries the error; exit 1 (trying later may help)."""
    assert await asyncio.to_thread(main, ["check", "--json"]) == 1
    report = json_tool(capsys.readouterr().out)
    assert report["ok"] is False
    assert report["error_type"] in {"TransportError", "TokenUnavailable"}
    assert report["site"] == "http://127.0.0.1:9/api"


def test_invalid_configuration_is_a_report_with_exit_78(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    """No settings at all: still a report (its error names the variables) and exit 78."""
    assert main(["check", "--json"]) == 78
    out = capsys.readouterr()
    report = json_tool(out.out)
    assert report["error_type"] == "ConfigError"
    assert "BOOKYFLOW_API_URL" in report["error"]
    assert report["inventory"] is None
    assert [line["event"] for line in json_lines(out.err)] == ["config.invalid"]


def write_sites(tmp_path: Path, sandbox: Sandbox) -> Path:
    """Two [[sites]] on the same sandbox, as two channels: "alpha" and "beta"."""
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"properties": []}))
    config = tmp_path / "sites.toml"
    site = (
        '[[sites]]\nname = "{name}"\napi_url = "{url}"\nclient_id = "demo"\n'
        'client_secret = "s3cret-demo-secret"\nchannel_name = "{name}-channel"\n'
        'inventory = "{inventory}"\n'
    )
    config.write_text(
        f'state_dir = "{tmp_path / "state"}"\n'
        + "".join(
            site.format(name=name, url=sandbox.api_url, inventory=inventory)
            for name in ("alpha", "beta")
        )
    )
    return config


async def test_check_takes_site_label_for_many_sites(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """--site beta checks that site (its channel, its label); without --site: 78 naming both."""
    clean_env.setenv("BOOKYFLOW_CONFIG_FILE", str(write_sites(tmp_path, sandbox)))
    assert await asyncio.to_thread(main, ["check", "--json", "--site", "beta"]) == 0
    report = json_tool(capsys.readouterr().out)
    assert (report["site_label"], report["channel"]) == ("beta", "beta-channel")
    assert await asyncio.to_thread(main, ["check", "--site", "gamma"]) == 78
    assert "no site labelled 'gamma' (sites: alpha, beta)" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["check"]) == 78
    assert "--site alpha|beta" in capsys.readouterr().out


def test_schema_prints_the_inventory_json_schema(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Needs no configuration; stdout is the pydantic models' schema, nothing else."""
    assert main(["schema"]) == 0
    out = capsys.readouterr()
    assert json_tool(out.out) == Inventory.model_json_schema()
    assert out.err == ""


async def test_status_json_is_alone_on_stdout(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """status --json parses with json.tool: its logs (if any) are on stderr."""
    sandbox_env(clean_env, sandbox, tmp_path)
    assert await asyncio.to_thread(main, ["sync", "--once"]) == 0
    capsys.readouterr()
    assert await asyncio.to_thread(main, ["status", "--json"]) == 0
    assert "sites" in json_tool(capsys.readouterr().out)


def write_inventory(tmp_path: Path, *properties: dict[str, Any]) -> None:
    (tmp_path / "inventory.json").write_text(json.dumps({"properties": list(properties)}))


@pytest.mark.slow
async def test_sync_once_exits_1_when_a_record_is_held(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    sandbox: Sandbox,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A bad reservation (its path in sync.finished): exit 1; fixed, the next run exits 0."""
    sandbox_env(clean_env, sandbox, tmp_path)
    bad = {**reservation("OTA-BAD", 8), "room_type_id": 99}
    write_inventory(tmp_path, seaside("1001", content={}, reservations=[bad]))
    assert await asyncio.to_thread(main, ["sync", "--once"]) == 1
    finished = [r for r in json_lines(capsys.readouterr().out) if r["event"] == "sync.finished"]
    assert finished[-1]["exit_code"] == 1
    assert "properties[0].reservations[0].room_type_id" in str(finished[-1]["problems"])
    write_inventory(tmp_path, seaside("1001", content={}, reservations=[]))
    assert await asyncio.to_thread(main, ["sync", "--once"]) == 0
