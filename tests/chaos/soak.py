"""The chaos soak: ``python -m tests.chaos.soak`` (``SOAK_S`` seconds, ``SOAK_LEGACY=1``).

The sandbox runs in this process (persisted to SQLite, token TTL 10 s) so its journal, faults and
store are used directly; the worker is the real daemon, ``python -m worker run``, as a subprocess.
For ``SOAK_S`` seconds, together: 20 % random 5xx with HTML bodies, added latency, and every few
seconds one of a 429 burst with ``Retry-After``, a connection reset (before or after the site
applied the request) or a truncated body; all tokens revoked every ~30 s; the channel table lost
once; the sandbox restarted once on the same file and port; guests booking, changing and
cancelling on the site; and the vendor editing the inventory (``tests.chaos.scenario``). Then
faults stop, the worker gets ``SOAK_SETTLE_S`` to converge, is stopped with SIGTERM, and every
invariant of ``tests.chaos.invariants`` is checked. Output: ``name=value`` figures, then one
``invariant=<name> result=PASS|FAIL detail=...`` line each; the exit status is 1 if any failed.
"""

from __future__ import annotations

import asyncio
import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from tests.chaos.figures import rate_bounded, rate_figures, status_counts
from tests.chaos.invariants import (
    Verdict,
    json_log_lines,
    no_duplicates,
    no_secret,
    server_matches_inventory,
    site_bookings_once,
    token_discipline,
)
from tests.chaos.timeline import CHANNEL, Chaos, ChaosConfig
from tests.e2e.conftest import WorkerProcess
from worker.sandbox import DEFAULT_CLIENT, Sandbox
from worker.sandbox.image_host import ImageHost


@dataclass(frozen=True)
class SoakConfig:
    """One run's knobs, from the environment."""

    seconds: float
    legacy: bool
    settle_s: float
    rate_per_s: float
    burst: int
    seed: int

    @classmethod
    def from_env(cls) -> SoakConfig:
        env = os.environ
        return cls(
            seconds=float(env.get("SOAK_S", "30")),
            legacy=env.get("SOAK_LEGACY", "0") not in ("", "0", "false"),
            settle_s=float(env.get("SOAK_SETTLE_S", "90")),
            rate_per_s=float(env.get("SOAK_RATE_PER_S", "20")),
            burst=int(env.get("SOAK_BURST", "10")),
            seed=int(env.get("SOAK_SEED", str(int(time.time())))),
        )


def worker_env(
    sandbox: Sandbox, config: SoakConfig, workdir: Path, inventory: Path
) -> dict[str, str]:
    """The daemon's environment: this sandbox, short intervals, the soak's rate limit."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BOOKYFLOW_", "SOAK_"))}
    return base | {
        "BOOKYFLOW_API_URL": sandbox.api_url,
        "BOOKYFLOW_CLIENT_ID": DEFAULT_CLIENT.client_id,
        "BOOKYFLOW_CLIENT_SECRET": DEFAULT_CLIENT.secret,
        "BOOKYFLOW_CHANNEL_NAME": CHANNEL,
        "BOOKYFLOW_INVENTORY": str(inventory),
        "BOOKYFLOW_STATE_DIR": str(workdir / "state"),
        "BOOKYFLOW_HTTP__RATE_LIMIT_PER_S": str(config.rate_per_s),
        "BOOKYFLOW_HTTP__RATE_LIMIT_BURST": str(config.burst),
        "BOOKYFLOW_JOBS__PROPERTIES__INTERVAL_S": "4",
        "BOOKYFLOW_JOBS__ARI__INTERVAL_S": "4",
        "BOOKYFLOW_JOBS__RESERVATIONS__INTERVAL_S": "2",
        "BOOKYFLOW_JOBS__BOOKINGS__INTERVAL_S": "2",
        "BOOKYFLOW_GRACE_S": "10",
    }


async def _collect(stream: asyncio.StreamReader, into: list[str]) -> None:
    while line := await stream.readline():
        into.append(line.decode(errors="replace").rstrip("\n"))


async def start_worker(env: dict[str, str], cwd: Path) -> WorkerProcess:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "worker", "run", env=env, cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None
    assert proc.stderr is not None
    worker = WorkerProcess(proc)
    worker.readers = [
        asyncio.create_task(_collect(proc.stdout, worker.stdout)),
        asyncio.create_task(_collect(proc.stderr, worker.stderr)),
    ]
    return worker


async def settle(chaos: Chaos, settle_s: float) -> float:
    """Faults off; seconds until the site equals the inventory and the sink is complete."""
    chaos.sandbox.faults.clear()
    started = time.monotonic()
    while time.monotonic() - started < settle_s:
        await asyncio.sleep(2.0)
        if all(verdict.ok for verdict in chaos_state_verdicts(chaos)):
            break
    return round(time.monotonic() - started, 1)


def chaos_state_verdicts(chaos: Chaos) -> list[Verdict]:
    """Nothing lost, nothing duplicated: the site against the inventory, the bookings file
    (with what a logrotate moved away) against the site."""
    store, client = chaos.sandbox.store, chaos.client
    parked = [booking_id for kind, booking_id in chaos.poisoned.items() if kind == "unparsable"]
    return [
        server_matches_inventory(store, client, CHANNEL, chaos.inventory.document, chaos.today),
        no_duplicates(store, client, CHANNEL),
        site_bookings_once(
            store, client, CHANNEL, chaos.sink_path, rotated=chaos.rotated, parked=parked
        ),
    ]


async def stop_worker(worker: WorkerProcess) -> int:
    if worker.proc.returncode is None:
        worker.proc.send_signal(signal.SIGTERM)
    try:
        return await asyncio.wait_for(worker.wait(), timeout=30)
    except TimeoutError:
        worker.proc.kill()
        return await worker.wait()


def output_texts(chaos: Chaos, worker: WorkerProcess) -> dict[str, str]:
    texts = {"worker stdout": "\n".join(worker.stdout), "worker stderr": "\n".join(worker.stderr)}
    for path in (chaos.workdir / "state").rglob("*"):
        if path.is_file():
            texts[path.name] = path.read_bytes().decode("utf-8", "replace")
    return texts


def verdicts(
    chaos: Chaos, worker: WorkerProcess, exit_code: int, config: SoakConfig
) -> tuple[list[Verdict], dict[str, object]]:
    entries = list(chaos.sandbox.journal.entries)
    rates = rate_figures(entries)
    secrets = {DEFAULT_CLIENT.secret, *chaos.issued_tokens()}
    checks = [
        *chaos_state_verdicts(chaos),
        token_discipline(entries, chaos.refused_at),
        rate_bounded(rates, config.rate_per_s, config.burst),
        json_log_lines(worker.stdout + [f"stderr: {line}" for line in worker.stderr]),
        no_secret(secrets, output_texts(chaos, worker)),
        Verdict("clean_stop", exit_code == 0, f"exit={exit_code}"),
    ]
    figures: dict[str, object] = {
        "requests": rates.requests,
        "peak_rps": rates.peak_rps,
        "mean_rps": rates.mean_rps,
        "retries_pct": rates.retries_pct,
        **status_counts(entries),
        **chaos.counts,
        "log_lines": len(worker.stdout),
    }
    return checks, figures


def save_log(worker: WorkerProcess) -> None:
    """``SOAK_WORKER_LOG=path``: keep the worker's output for a post-mortem."""
    if target := os.environ.get("SOAK_WORKER_LOG"):
        Path(target).write_text("\n".join(worker.stdout + worker.stderr) + "\n")


async def run(config: SoakConfig, workdir: Path) -> list[str]:
    """One soak run; returns its output lines (figures, then verdicts)."""
    sandbox = Sandbox(token_ttl_s=10.0, legacy=config.legacy, db_path=workdir / "sandbox.db")
    await sandbox.start()
    images = await ImageHost().start()
    chaos = Chaos(sandbox, workdir, ChaosConfig.for_run(config.seconds, config.seed), images)
    worker = await start_worker(worker_env(sandbox, config, workdir, chaos.inventory.path), workdir)
    try:
        await chaos.run(config.seconds, alive=lambda: worker.proc.returncode is None)
        settle_s = await settle(chaos, config.settle_s)
        exit_code = await stop_worker(worker)
        checks, figures = verdicts(chaos, worker, exit_code, config)
        save_log(worker)
    finally:
        if worker.proc.returncode is None:
            worker.proc.kill()
            await worker.wait()
        await sandbox.close()
        await images.close()
    head = {"mode": "legacy" if config.legacy else "modern", "soak_s": config.seconds,
            "seed": config.seed, "settle_s": settle_s}  # fmt: skip
    lines = [f"{name}={value}" for name, value in {**head, **figures}.items()]
    return lines + [check.line() for check in checks]


def main() -> int:
    config = SoakConfig.from_env()
    with tempfile.TemporaryDirectory(prefix="soak-") as tmp:
        lines = asyncio.run(run(config, Path(tmp)))
    for line in lines:
        print(line, flush=True)
    return 1 if any("result=FAIL" in line for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
