"""Everyday operator mistakes (issue 13): each one readable line, the right exit code, no traceback.

Misspelt names (environment, ``.env``, TOML, tables), the words of pydantic's messages kept whole,
ports in use, a bad ``--log-level``, global options after the command, help text everywhere, and
``healthcheck`` reading the same configuration as ``run``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

# clean_env and restore_logging (autouse) are test_cli's fixtures, shared by importing them.
from tests.test_cli import clean_env, json_lines, offline_env, restore_logging  # noqa: F401
from worker.cli import build_parser, main
from worker.health import HEARTBEAT_FILE, write_heartbeat


def only_line(text: str) -> dict[str, object]:
    """The one JSON line of ``text`` (there must be exactly one)."""
    (line,) = [line for line in text.splitlines() if line.strip()]
    record: dict[str, object] = json.loads(line)
    return record


def config_error(capsys: pytest.CaptureFixture[str], argv: list[str]) -> str:
    """Run ``argv``: it must exit 78 with one config.invalid line and no traceback."""
    assert main(argv) == 78
    out = capsys.readouterr()
    assert "Traceback" not in out.out + out.err
    errors = [r for r in json_lines(out.out + out.err) if r.get("level") == "error"]
    assert [r["event"] for r in errors] == ["config.invalid"]
    return str(errors[0]["error"])


@pytest.fixture
def listening() -> Iterator[int]:
    """A loopback port somebody else already listens on."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        yield taken.getsockname()[1]


def test_a_misspelt_variable_is_refused_naming_the_likely_one(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """BOOKYFLOW_HORIZN_DAYS: exit 78, the line names it and BOOKYFLOW_HORIZON_DAYS."""
    offline_env(clean_env, tmp_path, tmp_path / "state")
    clean_env.setenv("BOOKYFLOW_HORIZN_DAYS", "30")
    error = config_error(capsys, ["run"])
    assert "unknown setting BOOKYFLOW_HORIZN_DAYS (did you mean BOOKYFLOW_HORIZON_DAYS?)" in error


def test_a_misspelt_secret_keeps_every_word_of_the_message(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """BOOKYFLOW_CLIENT_SECRE: the typo is named, and "Field required" is not redacted away."""
    offline_env(clean_env, tmp_path, tmp_path / "state")
    clean_env.delenv("BOOKYFLOW_CLIENT_SECRET")
    clean_env.setenv("BOOKYFLOW_CLIENT_SECRE", "s3cret-demo-secret")
    error = config_error(capsys, ["sync", "--once"])
    assert "(did you mean BOOKYFLOW_CLIENT_SECRET?)" in error
    assert "BOOKYFLOW_CLIENT_SECRET: Field required" in error
    assert "REDACTED" not in error
    assert "s3cret-demo-secret" not in error


def test_misspelt_toml_keys_are_refused_at_the_top_and_in_tables(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """horizon_dayz and [http] conect_timeout_s: both named with the key meant, in one line."""
    offline_env(clean_env, tmp_path, tmp_path / "state")
    config = tmp_path / "worker.toml"
    config.write_text(
        "horizon_dayz = 30\n[http]\nconect_timeout_s = 3\n[jobs.ari]\nintervl_s = 9\n"
    )
    clean_env.setenv("BOOKYFLOW_CONFIG_FILE", str(config))
    error = config_error(capsys, ["run"])
    assert f"unknown setting horizon_dayz in {config} (did you mean horizon_days?)" in error
    assert "unknown setting http.conect_timeout_s" in error
    assert "(did you mean http.connect_timeout_s?)" in error
    assert "(did you mean jobs.ari.interval_s?)" in error
    assert "Extra inputs" not in error  # pydantic's own line for the same keys is not repeated


def test_a_misspelt_dotenv_key_is_refused(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A .env key (the test runs in tmp_path, where .env is read) is checked like a variable."""
    offline_env(clean_env, tmp_path, tmp_path / "state")
    (tmp_path / ".env").write_text("BOOKYFLOW_LOG_LEVL=DEBUG\nOTHER_TOOL=1\n")
    error = config_error(capsys, ["run"])
    assert "unknown setting BOOKYFLOW_LOG_LEVL in .env (did you mean BOOKYFLOW_LOG_LEVEL?)" in error
    assert "OTHER_TOOL" not in error


def test_a_misspelt_site_key_is_refused(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A [[sites]] table's typo names the site key meant; its [sites.http] typo too."""
    config = tmp_path / "sites.toml"
    config.write_text(
        '[[sites]]\napi_url = "http://127.0.0.1:9/api"\nclient_id = "a"\nclient_secret = "b"\n'
        'channel_name = "c"\nhorizon_dayz = 3\n[sites.http]\nread_timeout = 3\n'
    )
    clean_env.setenv("BOOKYFLOW_CONFIG_FILE", str(config))
    error = config_error(capsys, ["check", "--json"])
    assert "sites[0].horizon_dayz: is not a site setting (did you mean horizon_days?)" in error
    assert "sites[0].http.read_timeout (did you mean sites[0].http.read_timeout_s?)" in error


def test_other_unknown_names_are_warned_about_once_and_the_worker_goes_on(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A name like no setting is one warning; Kubernetes' service links and LIVE_* are silent."""
    offline_env(clean_env, tmp_path, tmp_path / "state")
    kubernetes = {
        "BOOKYFLOW_WORKER_SERVICE_HOST": "10.0.0.7",
        "BOOKYFLOW_WORKER_SERVICE_PORT": "8081",
        "BOOKYFLOW_WORKER_SERVICE_PORT_METRICS": "8081",
        "BOOKYFLOW_WORKER_PORT": "tcp://10.0.0.7:8081",
        "BOOKYFLOW_WORKER_PORT_8081_TCP": "tcp://10.0.0.7:8081",
        "BOOKYFLOW_WORKER_PORT_8081_TCP_ADDR": "10.0.0.7",
        "BOOKYFLOW_WORKER_PORT_8081_TCP_PORT": "8081",
        "BOOKYFLOW_WORKER_PORT_8081_TCP_PROTO": "tcp",
        "BOOKYFLOW_LIVE_URL": "http://127.0.0.1:1/api",
        "BOOKYFLOW_LIVE_CLIENT_SECRET": "live-secret-value",
        "BOOKYFLOW_SOMETHING_ELSE": "1",
    }
    for name, value in kubernetes.items():
        clean_env.setenv(name, value)
    assert main(["status", "--json"]) == 0
    out = capsys.readouterr()
    warnings = [r for r in json_lines(out.err) if r["event"] == "config.unknown_setting"]
    assert [(w["setting"], w["source"]) for w in warnings] == [
        ("BOOKYFLOW_SOMETHING_ELSE", "environment")
    ]
    assert json.loads(out.out)["sites"]  # the command did its work


def test_a_service_port_variable_without_a_url_is_still_a_typo(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """BOOKYFLOW_HEALT_PORT=8081 is no Kubernetes link (those hold tcp://...): refused."""
    offline_env(clean_env, tmp_path, tmp_path / "state")
    clean_env.setenv("BOOKYFLOW_HEALT_PORT", "8081")
    assert "(did you mean BOOKYFLOW_HEALTH_PORT?)" in config_error(capsys, ["run"])


def test_a_sandbox_port_in_use_is_one_line_and_exit_78(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    listening: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`sandbox --port N` on a taken port: one line naming the address, no traceback."""
    error = config_error(capsys, ["sandbox", "--port", str(listening)])
    assert f"cannot listen on 127.0.0.1:{listening}: address already in use" in error


def test_a_health_port_in_use_is_one_line_and_exit_78(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    listening: int,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`run` with BOOKYFLOW_HEALTH_PORT taken: the health server's ConfigError is one line, 78."""
    offline_env(clean_env, tmp_path, tmp_path / "state")
    clean_env.setenv("BOOKYFLOW_HEALTH_HOST", "127.0.0.1")
    clean_env.setenv("BOOKYFLOW_HEALTH_PORT", str(listening))
    assert str(listening) in config_error(capsys, ["run"])


@pytest.mark.parametrize(
    "argv",
    [
        ["--log-level", "LOUD", "check"],
        ["check", "--log-level", "LOUD"],
        ["check", "--log-format", "xml"],
    ],
)
def test_a_bad_log_option_is_a_usage_error(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
) -> None:
    """A level or format that does not exist: argparse's usage error (exit 2), no traceback."""
    with pytest.raises(SystemExit) as caught:
        main(argv)
    assert caught.value.code == 2
    err = capsys.readouterr().err
    assert "invalid choice" in err
    assert "Traceback" not in err


def test_global_options_are_accepted_after_the_command(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """`healthcheck --log-format console --log-level debug` logs a console line (any case)."""
    args = build_parser().parse_args(["check", "--log-level", "debug", "--log-format", "CONSOLE"])
    assert (args.log_level, args.log_format) == ("DEBUG", "console")
    before = build_parser().parse_args(["--log-level", "ERROR", "check"])
    assert before.log_level == "ERROR"  # the subcommand's SUPPRESS default leaves it alone
    assert build_parser().parse_args(["check"]).log_level is None
    clean_env.setenv("BOOKYFLOW_STATE_DIR", str(tmp_path))
    assert main(["healthcheck", "--log-format", "console"]) == 1
    line = capsys.readouterr().out.strip()
    assert " health.checked " in line
    assert "ok=false" in line
    assert not line.startswith("{")


def parsers(parser: argparse.ArgumentParser) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield parser.prog, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in action.choices.values():
                yield from parsers(sub)


def test_every_command_and_option_has_help_text() -> None:
    """`--help` of every command explains each option: no argument without a help string."""
    missing = []
    for prog, parser in parsers(build_parser()):
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                missing += [f"{prog} {c.dest}" for c in action._choices_actions if not c.help]
            elif not action.help:
                missing.append(f"{prog} {'/'.join(action.option_strings) or action.dest}")
    assert missing == []


def heartbeat(pid: int | None = None, **extra: object) -> dict[str, object]:
    """A fresh heartbeat; with ``pid``, written by that process on this host."""
    data: dict[str, object] = {"written_at": time.time(), "file_interval_s": 60.0, "jobs": {}}
    if pid is not None:
        data |= {"pid": pid, "host": socket.gethostname()}
    return {**data, **extra}


def test_healthcheck_reads_the_state_dir_from_the_toml_file(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """state_dir set only in the TOML file (no secret anywhere): the file there is checked."""
    state = tmp_path / "from-toml"
    state.mkdir()
    write_heartbeat(state / HEARTBEAT_FILE, heartbeat())
    config = tmp_path / "worker.toml"
    config.write_text(f'state_dir = "{state}"\nshard_count = 2\nshard_index = "worker-1"\n')
    clean_env.setenv("BOOKYFLOW_CONFIG_FILE", str(config))
    assert main(["healthcheck"]) == 1  # two shards: shard 1's root is <state_dir>/shard-1
    first = only_line(capsys.readouterr().out)
    assert first["heartbeat_file"] == str(state / "shard-1" / HEARTBEAT_FILE)
    config.write_text(f'state_dir = "{state}"\n')
    assert main(["healthcheck"]) == 0
    record = only_line(capsys.readouterr().out)
    assert record["heartbeat_file"] == str(state / HEARTBEAT_FILE)
    assert record["ok"] is True


def test_healthcheck_with_a_complete_configuration_and_an_override(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The full configuration loads (and a typo in it does not matter); --state-dir still wins."""
    offline_env(clean_env, tmp_path, tmp_path / "state")
    clean_env.setenv("BOOKYFLOW_HORIZN_DAYS", "3")  # refused by `run`, irrelevant here
    (tmp_path / "state").mkdir()
    write_heartbeat(tmp_path / "state" / HEARTBEAT_FILE, heartbeat())
    assert main(["healthcheck"]) == 0
    assert only_line(capsys.readouterr().out)["ok"] is True
    assert main(["healthcheck", "--state-dir", str(tmp_path / "elsewhere")]) == 1
    record = only_line(capsys.readouterr().out)
    assert record["heartbeat_file"] == str(tmp_path / "elsewhere" / HEARTBEAT_FILE)
    assert record["reason"] == "no heartbeat file"


def test_healthcheck_fails_at_once_when_the_workers_pid_is_gone(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """A heartbeat written a second ago by a process that has exited: unhealthy, exit 1."""
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    assert dead.wait() == 0
    clean_env.setenv("BOOKYFLOW_STATE_DIR", str(tmp_path))
    write_heartbeat(tmp_path / HEARTBEAT_FILE, heartbeat(pid=dead.pid))
    assert main(["healthcheck"]) == 1
    assert f"pid {dead.pid} is not running" in str(only_line(capsys.readouterr().out)["reason"])


async def test_healthcheck_reports_a_live_worker_as_healthy(
    clean_env: pytest.MonkeyPatch,  # noqa: F811
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """The same heartbeat from a process that runs (this one's parent) is healthy."""
    import os

    clean_env.setenv("BOOKYFLOW_STATE_DIR", str(tmp_path))
    write_heartbeat(tmp_path / HEARTBEAT_FILE, heartbeat(pid=os.getppid()))
    assert await asyncio.to_thread(main, ["healthcheck"]) == 0
    assert only_line(capsys.readouterr().out)["ok"] is True
