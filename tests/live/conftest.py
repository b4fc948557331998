"""Live contract suite: the worker as a subprocess against a real engine (``make live``).

Opt-in. ``BOOKYFLOW_LIVE_URL``, ``BOOKYFLOW_LIVE_CLIENT_ID`` and ``BOOKYFLOW_LIVE_CLIENT_SECRET``
name the engine (``../shared/real-engine/`` builds one on loopback); without them every test here
is skipped with one line. ``BOOKYFLOW_LIVE_SITE_ROOT`` (default ``/tmp/jomres-live/www``) and
``BOOKYFLOW_LIVE_PHP_PORT`` (8480) serve the scripts that book "on the hotel's site";
``BOOKYFLOW_LIVE_KEEP=1`` keeps each test's properties on the engine for a look afterwards.

Each test gets a channel of its own (``live_<pid>_<n>_<stamp>``: a channel sees only the properties
it created), a state directory under ``tmp_path``, an inventory from ``inventory.live_inventory``,
and a ``FaultProxy`` in front of the engine through which the worker talks (it counts requests
and injects faults). The end state is read back with ``EngineReader``, not the worker's client.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import shutil
import signal
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import pytest

from tests.live.engine import EngineAnswerError, EngineReader
from tests.live.fault_proxy import FaultProxy, Seen, writes
from tests.live.inventory import live_inventory

DEFAULT_SITE_ROOT = "/tmp/jomres-live/www"  # noqa: S108 - where setup.sh builds the engine
REPO = Path(__file__).resolve().parents[2]
SCRIPTS = REPO.parent / "shared" / "real-engine"
EXAMPLE = SCRIPTS / "live-inventory.example.json"
HORIZON_DAYS = 365
SKIP_REASON = (
    "live suite off: set BOOKYFLOW_LIVE_URL, BOOKYFLOW_LIVE_CLIENT_ID and "
    "BOOKYFLOW_LIVE_CLIENT_SECRET to run it against a real engine (`make live`, README)"
)
FIGURES: list[str] = []
_counter = itertools.count(1)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    """The figures every live test recorded (requests, writes, durations), after the results."""
    if FIGURES:
        terminalreporter.section("live figures")
        for line in FIGURES:
            terminalreporter.write_line(line)


@dataclass(frozen=True)
class LiveEngine:
    """Where the real engine is, from the ``BOOKYFLOW_LIVE_*`` variables."""

    api_url: str
    client_id: str
    client_secret: str
    site_root: Path
    php_port: int

    @property
    def origin(self) -> str:
        parts = urlsplit(self.api_url)
        return f"{parts.scheme}://{parts.netloc}"

    @property
    def api_path(self) -> str:
        return urlsplit(self.api_url).path.rstrip("/")

    @classmethod
    def from_env(cls) -> LiveEngine | None:
        names = ("BOOKYFLOW_LIVE_URL", "BOOKYFLOW_LIVE_CLIENT_ID", "BOOKYFLOW_LIVE_CLIENT_SECRET")
        url, client_id, secret = (os.environ.get(name, "") for name in names)
        if not (url and client_id and secret):
            return None
        return cls(
            api_url=url,
            client_id=client_id,
            client_secret=secret,
            site_root=Path(os.environ.get("BOOKYFLOW_LIVE_SITE_ROOT", DEFAULT_SITE_ROOT)),
            php_port=int(os.environ.get("BOOKYFLOW_LIVE_PHP_PORT", "8480")),
        )


def pytest_runtest_setup(item: pytest.Item) -> None:
    """Skip without an engine; raised here (not in a fixture) so the skips fold into one line."""
    if LiveEngine.from_env() is None:
        pytest.skip(SKIP_REASON)
    if not EXAMPLE.is_file():
        pytest.skip(f"live suite: {EXAMPLE} (the engine's example inventory) is missing")


@pytest.fixture
def live_engine() -> LiveEngine:
    engine = LiveEngine.from_env()
    assert engine is not None  # pytest_runtest_setup skipped the test otherwise
    return engine


def _record(line: str) -> dict[str, Any] | None:
    try:
        record = json.loads(line)
    except ValueError:
        return None
    return record if isinstance(record, dict) else None


@dataclass(repr=False)
class WorkerRun:
    """One ``python -m worker`` subprocess, its output, and what reached the site meanwhile."""

    args: tuple[str, ...]
    proc: asyncio.subprocess.Process
    started: float
    stdout: list[str] = field(default_factory=list)
    stderr: list[str] = field(default_factory=list)
    readers: list[asyncio.Task[None]] = field(default_factory=list)
    seen: list[Seen] = field(default_factory=list)
    duration_s: float = 0.0
    code: int | None = None

    @property
    def records(self) -> list[dict[str, Any]]:
        return [r for r in map(_record, list(self.stdout)) if r is not None]

    def events(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r.get("event") == name]

    @property
    def writes(self) -> dict[str, int]:
        return dict(writes(self.seen))

    def logged_writes(self) -> int:
        """Write attempts the worker itself logged (``http.request`` at DEBUG), for comparison."""
        return sum(
            1
            for r in self.events("http.request")
            if r.get("method") in ("POST", "PUT", "DELETE") and "oauth/token" not in r["path"]
        )

    def problems(self) -> list[str]:
        """Warnings and errors the worker logged, shortened: what a failed assertion shows."""
        return [
            f"{r.get('event')}: {r.get('error') or r.get('message') or r.get('errors') or ''}"[:300]
            for r in self.records
            if r.get("level") in ("warning", "error", "critical")
            and r.get("event") != "http.request"
        ] + [line[:300] for line in self.stderr[-5:]]

    def __repr__(self) -> str:  # short in assertion messages
        return f"WorkerRun({self.figures()})"

    def figures(self) -> str:
        total = sum(self.writes.values())
        return (
            f"{' '.join(self.args)}: exit {self.code}, {self.duration_s:.1f} s, "
            f"{len(self.seen)} requests, {total} writes {self.writes or ''}"
        )


async def _collect(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode(errors="replace").rstrip("\n"))


@dataclass(repr=False)
class LiveSite:
    """One test's channel on the engine: the worker's environment, its proxy, the reader."""

    engine: LiveEngine
    proxy: FaultProxy
    reader: EngineReader
    channel: str
    root: Path
    document: dict[str, Any]
    test_name: str
    runs: list[WorkerRun] = field(default_factory=list)
    extra_env: dict[str, str] = field(default_factory=dict)  # a test's own BOOKYFLOW_* settings

    def __repr__(self) -> str:  # short in assertion messages
        return f"LiveSite({self.channel})"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    @property
    def inventory(self) -> Path:
        return self.root / "inventory.json"

    @property
    def bookings_file(self) -> Path:
        return self.root / "bookings.jsonl"

    @property
    def today(self) -> date:
        return datetime.now(UTC).date()

    def env(self) -> dict[str, str]:
        base = {k: v for k, v in os.environ.items() if not k.startswith("BOOKYFLOW_")}
        return (
            base
            | {
                "BOOKYFLOW_API_URL": self.proxy.origin + self.engine.api_path,
                "BOOKYFLOW_CLIENT_ID": self.engine.client_id,
                "BOOKYFLOW_CLIENT_SECRET": self.engine.client_secret,
                "BOOKYFLOW_CHANNEL_NAME": self.channel,
                "BOOKYFLOW_INVENTORY": str(self.inventory),
                "BOOKYFLOW_STATE_DIR": str(self.state_dir),
                "BOOKYFLOW_BOOKINGS_FILE": str(self.bookings_file),
                "BOOKYFLOW_HORIZON_DAYS": str(HORIZON_DAYS),
                "BOOKYFLOW_LOG_FORMAT": "json",
                "BOOKYFLOW_LOG_LEVEL": "DEBUG",
                # A shared PHP host: polite, but faster than the default 5/s.
                "BOOKYFLOW_HTTP__RATE_LIMIT_PER_S": "20",
                "BOOKYFLOW_HTTP__RATE_LIMIT_BURST": "10",
                "BOOKYFLOW_JOBS__PROPERTIES__INTERVAL_S": "5",
                "BOOKYFLOW_JOBS__ARI__INTERVAL_S": "5",
                "BOOKYFLOW_JOBS__RESERVATIONS__INTERVAL_S": "2",
                "BOOKYFLOW_JOBS__BOOKINGS__INTERVAL_S": "2",
                "BOOKYFLOW_GRACE_S": "20",
            }
            | self.extra_env
        )

    def write_inventory(self) -> None:
        self.inventory.write_text(json.dumps(self.document, indent=1), encoding="utf-8")

    def property(self, remote_uid: str) -> dict[str, Any]:
        """The inventory's property (edit it, then ``write_inventory``)."""
        prop: dict[str, Any] = next(
            p for p in self.document["properties"] if p["remote_uid"] == remote_uid
        )
        return prop

    def set_reservation_status(self, reservation_id: str, status: str) -> None:
        """Change one reservation's status in the inventory document (and on disk)."""
        for prop in self.document["properties"]:
            for reservation in prop["reservations"]:
                if reservation["id"] == reservation_id:
                    reservation["status"] = status
        self.write_inventory()

    async def spawn(self, *args: str) -> WorkerRun:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "worker", *args,
            env=self.env(), cwd=self.root,
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        assert proc.stdout is not None
        assert proc.stderr is not None
        run = WorkerRun(args, proc, time.monotonic())
        run.readers = [
            asyncio.create_task(_collect(proc.stdout, run.stdout)),
            asyncio.create_task(_collect(proc.stderr, run.stderr)),
        ]
        self.runs.append(run)
        return run

    async def finish(self, run: WorkerRun, mark: int) -> WorkerRun:
        run.code = await run.proc.wait()
        await asyncio.gather(*run.readers)
        run.duration_s = time.monotonic() - run.started
        run.seen = self.proxy.since(mark)
        FIGURES.append(f"{self.test_name} [{self.channel}] {run.figures()}")
        return run

    async def run(self, *args: str, expect: int | None = 0) -> WorkerRun:
        """Run ``python -m worker ARGS`` to its end; assert its exit code unless ``expect=None``.

        The engine now and then answers a write HTTP 500 from its own logger (the write may or
        may not have happened): a run during which the engine answered 5xx may end 1, since a
        non-idempotent write is then left for the next run. That is tolerated and noted; the
        test's end-state checks decide whether the worker recovered.
        """
        mark = self.proxy.mark()
        run = await self.finish(await self.spawn(*args), mark)
        if expect is not None and run.code != expect:
            engine_5xx = [s.route for s in run.seen if s.status >= 500]
            assert engine_5xx, (run.figures(), run.problems())
            self.note(f"exit {run.code} tolerated: the engine answered 5xx to {engine_5xx}")
        return run

    async def sync_once(self, *args: str) -> WorkerRun:
        return await self.run("sync", "--once", *args)

    async def settle(self, attempts: int = 3) -> WorkerRun:
        """``sync --once`` until a run ends 0 with no 5xx from the engine (a clean baseline)."""
        for _ in range(attempts):
            run = await self.sync_once()
            if run.code == 0 and all(s.status < 500 for s in run.seen):
                return run
        raise AssertionError(f"no clean run in {attempts}: {run.figures()}")

    async def kill_on(self, event: asyncio.Event, *args: str, timeout_s: float) -> WorkerRun:
        """Start the worker; SIGKILL it the moment ``event`` is set (a ``hang_after`` fault).

        Without the event within ``timeout_s`` (or when the worker exits first) it is killed
        all the same, and the run comes back with the event unset for the test to report.
        """
        mark = self.proxy.mark()
        run = await self.spawn(*args)
        waiter = asyncio.create_task(event.wait())
        exited = asyncio.create_task(run.proc.wait())
        await asyncio.wait({waiter, exited}, timeout=timeout_s, return_when=asyncio.FIRST_COMPLETED)
        waiter.cancel()
        if run.proc.returncode is None:
            run.proc.send_signal(signal.SIGKILL)
        await self.finish(run, mark)
        await exited
        return run

    def note(self, text: str) -> None:
        """A figure of this test for the summary (``live figures``)."""
        FIGURES.append(f"{self.test_name} [{self.channel}] {text}")

    def delete_state(self) -> None:
        shutil.rmtree(self.state_dir)

    async def owned(self) -> dict[str, int]:
        """Remote uid → property uid; asserts no remote uid is owned twice."""
        pairs = await self.reader.owned()
        remotes = [remote for remote, _ in pairs]
        assert len(remotes) == len(set(remotes)), f"duplicate properties: {pairs}"
        return dict(pairs)

    def bookings_lines(self) -> list[dict[str, Any]]:
        if not self.bookings_file.exists():
            return []
        text = self.bookings_file.read_text(encoding="utf-8")
        return [json.loads(line) for line in text.splitlines() if line.strip()]

    def scripts(self, name: str) -> Path:
        """A site script of ``../shared/real-engine``, or a skip when it cannot be run here."""
        script = SCRIPTS / name
        if not script.is_file():
            pytest.skip(f"live suite: {script} is missing (it books on the hotel's site)")
        if shutil.which("php") is None:
            pytest.skip("live suite: no php on PATH for the site scripts")
        if not (self.engine.site_root / "wp-load.php").is_file():
            pytest.skip(f"live suite: no engine web root at {self.engine.site_root}")
        return script

    async def php(self, name: str, *args: str) -> dict[str, Any]:
        """Run a site script from the web root; its last output line is JSON."""
        script = self.scripts(name)
        www = str(self.engine.site_root)
        proc = await asyncio.create_subprocess_exec(
            "php", str(script), www, str(self.engine.php_port), *args,
            cwd=www, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
        )  # fmt: skip
        out, err = await proc.communicate()
        lines = [line for line in out.decode(errors="replace").splitlines() if line.strip()]
        assert proc.returncode == 0, (name, proc.returncode, out[-500:], err[-500:])
        assert lines, (name, err[-500:])
        answer: dict[str, Any] = json.loads(lines[-1])
        return answer


@pytest.fixture
async def live_site(
    live_engine: LiveEngine, tmp_path: Path, request: pytest.FixtureRequest
) -> AsyncIterator[LiveSite]:
    """A fresh channel, inventory and state directory; its properties are deleted afterwards."""
    channel = f"live_{os.getpid()}_{next(_counter)}_{int(time.time()) % 100000}"
    example = json.loads(EXAMPLE.read_text(encoding="utf-8"))
    async with (
        FaultProxy(live_engine.origin) as proxy,
        EngineReader(
            live_engine.api_url, live_engine.client_id, live_engine.client_secret, channel
        ) as reader,
    ):
        site = LiveSite(
            engine=live_engine,
            proxy=proxy,
            reader=reader,
            channel=channel,
            root=tmp_path,
            document=live_inventory(example, datetime.now(UTC).date()),
            test_name=request.node.name,
        )
        site.write_inventory()
        try:
            yield site
        finally:
            for run in site.runs:
                if run.proc.returncode is None:
                    run.proc.kill()
                    await run.proc.wait()
            if os.environ.get("BOOKYFLOW_LIVE_KEEP") != "1":
                await _clean_up(site)


async def _clean_up(site: LiveSite) -> None:
    """Delete the channel's properties (best effort: a failure only leaves them behind)."""
    try:
        for _, uid in await site.reader.owned():
            await site.reader.delete_property(uid)
    except (EngineAnswerError, aiohttp.ClientError) as exc:
        if "does not have access to this channel" not in str(exc):  # never announced: nothing
            site.note(f"clean-up failed: {exc!r}")
