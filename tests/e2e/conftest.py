"""End-to-end fixtures: ``bookyflow-worker`` as a subprocess against an in-process sandbox.

``spawn("run")`` starts ``python -m worker run`` with ``BOOKYFLOW_*`` variables pointing at the
test's sandbox (short intervals, a generous rate limit) and collects its stdout/stderr lines while
the test's event loop keeps serving the sandbox. Every process still running at teardown is killed.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.conftest import SandboxFactory
from tests.polling import WITHIN_S, wait_until
from worker.sandbox import Sandbox
from worker.sandbox.image_host import ImageHost, rehost_images

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_INVENTORY = REPO / "config" / "inventory.example.json"
CLIENT_SECRET = "s3cret-demo-secret"
CHANNEL = "e2e-channel"


@dataclass
class WorkerProcess:
    """One worker subprocess and everything it printed so far."""

    proc: asyncio.subprocess.Process
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)

    @property
    def records(self) -> list[dict[str, Any]]:
        records: list[dict[str, Any]] = [json.loads(line) for line in list(self.stdout)]
        return records

    def events(self) -> list[str]:
        return [record["event"] for record in self.records]

    async def wait(self) -> int:
        code = await self.proc.wait()
        await asyncio.gather(*self.readers)
        return code

    def gone(self) -> str | None:
        """Why waiting on this worker is pointless (it exited), or None while it runs."""
        if self.proc.returncode is None:
            return None
        return f"worker exited {self.proc.returncode} (last lines: {self.stdout[-5:]})"

    def first(self, name: str) -> dict[str, Any] | None:
        return next((record for record in self.records if record["event"] == name), None)

    async def event(self, name: str, *, within_s: float = WITHIN_S) -> dict[str, Any]:
        """The first log record named ``name``; waits for it, failing early if the worker exits."""
        await wait_until(
            lambda: self.first(name) is not None, f"a {name} line", within_s=within_s,
            every_s=0.05, gone=self.gone,
        )  # fmt: skip
        record = self.first(name)
        assert record is not None
        return record


async def _collect(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode().rstrip("\n"))


class Spawn(Protocol):
    async def __call__(self, *args: str, **env: str) -> WorkerProcess: ...


@dataclass
class Site:
    """The sandbox, the worker's environment and its state directory."""

    sandbox: Sandbox
    env: dict[str, str]
    state_dir: Path
    inventory: Path


@pytest.fixture
async def images() -> AsyncIterator[ImageHost]:
    """Where the example inventory's images are served from (the sandbox downloads them)."""
    async with ImageHost() as host:
        yield host


@pytest.fixture
async def site(sandbox_factory: SandboxFactory, images: ImageHost, tmp_path: Path) -> Site:
    sandbox = await sandbox_factory()
    inventory = tmp_path / "inventory.json"
    document = json.loads(EXAMPLE_INVENTORY.read_text(encoding="utf-8"))
    inventory.write_text(json.dumps(rehost_images(document, images)), encoding="utf-8")
    state_dir = tmp_path / "state"
    env = {
        "BOOKYFLOW_API_URL": sandbox.api_url,
        "BOOKYFLOW_CLIENT_ID": "demo",
        "BOOKYFLOW_CLIENT_SECRET": CLIENT_SECRET,
        "BOOKYFLOW_CHANNEL_NAME": CHANNEL,
        "BOOKYFLOW_INVENTORY": str(inventory),
        "BOOKYFLOW_STATE_DIR": str(state_dir),
        "BOOKYFLOW_HTTP__RATE_LIMIT_PER_S": "500",
        "BOOKYFLOW_HTTP__RATE_LIMIT_BURST": "100",
        "BOOKYFLOW_JOBS__PROPERTIES__INTERVAL_S": "2",
        "BOOKYFLOW_JOBS__ARI__INTERVAL_S": "2",
        "BOOKYFLOW_JOBS__RESERVATIONS__INTERVAL_S": "1",
        "BOOKYFLOW_JOBS__BOOKINGS__INTERVAL_S": "1",
        "BOOKYFLOW_GRACE_S": "10",
    }
    return Site(sandbox, env, state_dir, inventory)


@pytest.fixture
async def spawn(site: Site, tmp_path: Path) -> AsyncIterator[Spawn]:
    started: list[WorkerProcess] = []
    base = {k: v for k, v in os.environ.items() if not k.startswith("BOOKYFLOW_")}

    async def start(*args: str, **env: str) -> WorkerProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "worker", *args,
            env={**base, **site.env, **env}, cwd=tmp_path,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None
        assert proc.stderr is not None
        worker = WorkerProcess(proc)
        worker.readers = [
            asyncio.create_task(_collect(proc.stdout, worker.stdout)),
            asyncio.create_task(_collect(proc.stderr, worker.stderr)),
        ]
        started.append(worker)
        return worker

    yield start
    for worker in started:
        if worker.proc.returncode is None:
            worker.proc.kill()
        await worker.wait()


def issued_tokens(sandbox: Sandbox) -> set[str]:
    """Every bearer token the worker sent (hence every token it was issued and used)."""
    tokens = set()
    for entry in sandbox.journal.entries:
        value = entry.headers.get("Authorization", "")
        if value.startswith("Bearer "):
            tokens.add(value.removeprefix("Bearer "))
    return tokens


def assert_no_secrets(site: Site, *workers: WorkerProcess) -> None:
    """No client secret or token in any output line or any file of the state directory."""
    secrets = {CLIENT_SECRET, *issued_tokens(site.sandbox)}
    assert len(secrets) > 1, "the worker never sent a token: the check would prove nothing"
    texts = [line for worker in workers for line in worker.stdout + worker.stderr]
    for path in site.state_dir.rglob("*"):
        if path.is_file():
            texts.append(path.read_bytes().decode("utf-8", "replace"))
    leaks = [secret for secret in secrets for text in texts if secret in text]
    assert not leaks


def assert_json_lines(worker: WorkerProcess) -> None:
    """Every stdout line is a JSON object with timestamp, level and event."""
    assert worker.stdout
    for line in worker.stdout:
        record = json.loads(line)
        assert {"timestamp", "level", "event"} <= record.keys(), line
