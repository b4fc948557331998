"""The Sandbox lifecycle (restart, persistence) and the standalone `sandbox` command."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import sys
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from structlog.testing import capture_logs

from tests.conftest import SandboxFactory
from worker.sandbox import DEFAULT_CLIENT, Sandbox
from worker.sandbox.server import serve_forever

TOKEN_FORM = {
    "grant_type": "client_credentials",
    "client_id": DEFAULT_CLIENT.client_id,
    "client_secret": DEFAULT_CLIENT.secret,
    "scope": "read write",
}


async def _announce(sandbox: Sandbox) -> int:
    """Announce channel 'acme' and return its id as the site reports it afterwards."""
    async with aiohttp.ClientSession() as session:
        async with session.post(sandbox.api_url + "/oauth/token", data=TOKEN_FORM) as r:
            headers = {"Authorization": f"Bearer {(await r.json())['access_token']}"}
        url = sandbox.api_url + "/cmf/channel/announce/acme"
        async with session.post(url + "/Acme", data={"params": "{}"}, headers=headers) as r:
            assert r.status == 200
        async with session.get(url, headers=headers) as r:
            channel_id: int = (await r.json())["data"]["response"]
            return channel_id


async def test_restart_keeps_persisted_data_and_the_port(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """close() then start() on the same db_path serves the same channel on the same port."""
    sandbox = await sandbox_factory(db_path=tmp_path / "site.db")
    channel_id = await _announce(sandbox)
    port = sandbox.port
    await sandbox.close()
    await sandbox.start()
    assert sandbox.port == port
    assert await _announce(sandbox) == channel_id


async def test_a_new_sandbox_on_the_same_file_sees_the_old_data(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """A second Sandbox opened on the first one's db file knows its channel."""
    first = await sandbox_factory(db_path=tmp_path / "site.db")
    channel_id = await _announce(first)
    await first.close()
    second = await sandbox_factory(db_path=tmp_path / "site.db")
    assert second.store.token_state(None) == "missing"
    assert await _announce(second) == channel_id


async def test_restart_without_a_file_starts_empty(sandbox: Sandbox) -> None:
    """An in-memory sandbox forgets its channels when restarted, but keeps its legacy switch."""
    await _announce(sandbox)
    sandbox.legacy = True
    await sandbox.close()
    await sandbox.close()
    await sandbox.start()
    assert sandbox.legacy is True
    assert sandbox.store.token_state("Bearer nope") == "unknown"


async def test_starting_twice_is_refused(sandbox: Sandbox) -> None:
    """A running sandbox cannot be started again."""
    with pytest.raises(RuntimeError, match="already running"):
        await sandbox.start()


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


async def _read_json_line(stream: asyncio.StreamReader) -> dict[str, Any]:
    line = await asyncio.wait_for(stream.readline(), timeout=20)
    assert line, "the sandbox command ended early"
    parsed: dict[str, Any] = json.loads(line)
    return parsed


async def test_sandbox_command_serves_logs_json_and_stops_on_sigterm() -> None:
    """`sandbox` answers a token request, logs one JSON line per request, exits 0 on SIGTERM."""
    port = _free_port()
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker", "sandbox", "--port", str(port),
        "--client", "acme:very-secret-value:read,write",
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert process.stdout is not None
    assert process.stderr is not None
    try:
        started = await _read_json_line(process.stdout)
        admin_line = (await asyncio.wait_for(process.stderr.readline(), timeout=20)).decode()
        form = {**TOKEN_FORM, "client_id": "acme", "client_secret": "very-secret-value"}
        async with (
            aiohttp.ClientSession() as session,
            session.post(started["api_url"] + "/oauth/token", data=form) as response,
        ):
            assert response.status == 200
            token = (await response.json())["access_token"]
        request_line = await _read_json_line(process.stdout)
    finally:
        process.send_signal(signal.SIGTERM)
        rest, _ = await asyncio.wait_for(process.communicate(), timeout=20)
    assert await process.wait() == 0
    assert started["event"] == "sandbox.started"
    assert started["url"] == f"http://127.0.0.1:{port}"
    assert started["clients"] == ["acme"]
    assert admin_line.startswith("sandbox admin token: ")
    assert request_line == {
        **request_line,
        "event": "sandbox.request",
        "method": "POST",
        "path": "/bookyflow/api/oauth/token",
        "status": 200,
    }
    assert isinstance(request_line["duration_ms"], float | int)
    stdout = "\n".join([json.dumps(started), json.dumps(request_line), rest.decode()])
    assert all(json.loads(line) for line in rest.decode().splitlines())
    assert "very-secret-value" not in stdout
    assert token not in stdout
    assert admin_line.removeprefix("sandbox admin token: ").strip() not in stdout


async def test_serve_forever_defaults_to_the_demo_client(
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Without --client the demo client is served; a given admin token is not printed."""
    with capture_logs() as logs:
        server = asyncio.create_task(
            serve_forever(host="127.0.0.1", port=_free_port(), clients=[], admin_token="adm-9876")
        )
        while not logs:  # noqa: ASYNC110 - serve_forever has no start-up event but its log
            await asyncio.sleep(0.01)
        started = logs[0]
        async with (
            aiohttp.ClientSession() as session,
            session.post(started["api_url"] + "/oauth/token", data=TOKEN_FORM) as response,
        ):
            assert response.status == 200
        os.kill(os.getpid(), signal.SIGTERM)
        await asyncio.wait_for(server, timeout=10)
    assert started["clients"] == ["demo"]
    assert [entry["event"] for entry in logs] == [
        "sandbox.started", "sandbox.request", "sandbox.stopped"
    ]  # fmt: skip
    assert "adm-9876" not in capsys.readouterr().err


def test_sandbox_command_takes_the_engine_auth_flag() -> None:
    """`sandbox --engine-auth` asks for the real engine's auth; the token lifetime then defaults
    to the store's one year unless --token-ttl says otherwise."""
    from worker.cli import build_parser

    args = build_parser().parse_args(["sandbox", "--engine-auth"])
    assert (args.engine_auth, args.token_ttl, args.legacy) == (True, None, False)
    assert build_parser().parse_args(["sandbox"]).engine_auth is False


async def test_engine_auth_sandbox_grants_a_one_year_channel_management_token(
    sandbox_factory: SandboxFactory, tmp_path: Path
) -> None:
    """engine_auth=True issues 31536000 s channel_management tokens, and keeps its mode (and a
    ttl given explicitly) across a restart."""
    sandbox = await sandbox_factory(engine_auth=True, db_path=tmp_path / "site.db")
    async with aiohttp.ClientSession() as session:
        async with session.post(sandbox.api_url + "/oauth/token", data=TOKEN_FORM) as response:
            body = await response.json()
        assert (body["scope"], body["expires_in"]) == ("channel_management", 31536000)
        await sandbox.close()
        await sandbox.start()
        assert sandbox.engine_auth is True
        sandbox.engine_auth = False
        async with session.post(sandbox.api_url + "/oauth/token", data=TOKEN_FORM) as response:
            assert (await response.json())["scope"] == "read write"
