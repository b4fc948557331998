"""The many-sites chaos soak: ``python -m tests.chaos.many_sites`` (``SOAK_S`` seconds).

One daemon, ``bookyflow-worker run`` with five ``[[sites]]`` (``BOOKYFLOW_CONFIG_FILE``): the
many-sites supervisor, every site with its own in-process sandbox, API client, inventory and
bookings file, and its own ``Chaos`` profile for ``SOAK_S`` seconds:

- ``calm``: no faults; guests book, the vendor edits; halfway its bookings file is rotated away
  and the daemon gets SIGHUP (the supervisor reloads every running site).
- ``steady``: the single-site soak's chaos (random 5xx, 429 bursts, resets, truncated bodies,
  tokens revoked, the channel table lost, the sandbox restarted on its file and port).
- ``revoked``: every token of the site revoked every 2 s.
- ``down``: nothing listens on its port until 40 % of the run: its start-up fails and is tried
  again by its worker on the start-up backoff (a transient failure is not a ``site.failed``),
  and the site catches up once it listens.
- ``garbage``: bursts of 200 answers that are no JSON or cut short, and two poisoned site
  bookings (a lone surrogate in a guest's name; a total the client cannot parse).

Then faults stop, the sites get ``SOAK_SETTLE_S`` to converge, and the daemon gets SIGTERM. Every
site is checked with the same invariants — its site equals its inventory, no duplicates, each
site booking revision delivered once (an unparsable one parked instead), token discipline, its
own rate bound, poisoned bookings set aside — and the process with the shared ones (JSON log
lines, no secret of any site in any output, a clean stop) plus ``sites_isolated`` (no site ever
``site.failed``: every start-up trouble here is transient; ``down`` logged ``worker.start_failed``
and became ready once, ``calm`` never had a failed job run whatever the others did) and
``sighup_reloaded`` (each running site reloaded).
Output as ``tests.chaos.soak``: figures (per site prefixed ``<site>.``), then one
``invariant=<site>:<name>`` line each; the exit status is 1 if any failed.
"""

from __future__ import annotations

import asyncio
import json
import math
import os
import secrets
import signal
import socket
import sys
import tempfile
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from tests.chaos.figures import rate_bounded, rate_figures, status_counts
from tests.chaos.invariants import (
    Verdict,
    json_log_lines,
    no_secret,
    poison_set_aside,
    sink_lines,
    token_discipline,
)
from tests.chaos.soak import SoakConfig, chaos_state_verdicts, start_worker, stop_worker
from tests.chaos.timeline import CHANNEL, Chaos, ChaosConfig
from tests.e2e.conftest import WorkerProcess
from worker.sandbox import ClientSpec, Sandbox
from worker.sandbox.image_host import ImageHost

SCOPES = ("read", "write", "delete")
Profile = Callable[[float, int], ChaosConfig]


# No random 5xx, no periodic faults, no revocation, no channel loss, no restart.
QUIET: dict[str, Any] = {
    "random_5xx": 0.0, "latency_s": 0.005, "jitter_s": 0.01, "fault_every_s": math.inf,
    "revoke_every_s": math.inf, "channel_loss_at": math.inf, "restart_at": math.inf,
}  # fmt: skip


def _calm(seconds: float, seed: int, **changes: Any) -> ChaosConfig:
    """No faults at all, guests booking every few seconds; ``changes`` make the other profiles."""
    return replace(ChaosConfig.for_run(seconds, seed), **{**QUIET, **changes})


PROFILES: dict[str, Profile] = {
    "calm": lambda seconds, seed: _calm(seconds, seed, rotate_at=0.5),
    "steady": ChaosConfig.for_run,
    "revoked": lambda seconds, seed: _calm(seconds, seed, revoke_every_s=2.0),
    "down": lambda seconds, seed: _calm(seconds, seed, down_until=0.4),
    "garbage": lambda seconds, seed: _calm(seconds, seed, garbage_every_s=3.0, poison=True),
}
# The site that is down at start-up retries it (transient: never ``site.failed``); ``calm`` must
# not even feel the others.
RETRIES_START = "down"
UNTOUCHED = "calm"


@dataclass
class Site:
    """One ``[[sites]]`` table: its sandbox, credentials and chaos."""

    label: str
    sandbox: Sandbox
    secret: str
    chaos: Chaos

    def table(self) -> str:
        return (
            f'[[sites]]\nname = "{self.label}"\napi_url = "{self.sandbox.api_url}"\n'
            f'client_id = "{self.label}"\nclient_secret = "{self.secret}"\n'
            f'inventory = "{self.chaos.inventory.path}"\n'
            f'bookings_file = "{self.chaos.sink_path}"\n\n'
        )


def _free_port() -> int:
    """A port nobody listens on now, for the site that comes up later."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def make_site(
    label: str, config: SoakConfig, workdir: Path, images: ImageHost, hangup: Callable[[], None]
) -> Site:
    """A site of ``label``'s profile; started now, unless it is to come up later."""
    chaos_config = PROFILES[label](config.seconds, config.seed)
    secret = f"soak-{label}-{secrets.token_hex(8)}"
    persisted = chaos_config.restart_at <= 1.0  # a restart reloads the sandbox from its file
    (workdir / label).mkdir(parents=True, exist_ok=True)
    sandbox = Sandbox(
        clients=[ClientSpec(label, secret, SCOPES)],
        token_ttl_s=10.0,
        db_path=workdir / label / "sandbox.db" if persisted else None,
        port=_free_port() if chaos_config.down_until else 0,
    )
    if not chaos_config.down_until:
        await sandbox.start()
    chaos = Chaos(sandbox, workdir / label, chaos_config, images, client=label, hangup=hangup)
    return Site(label, sandbox, secret, chaos)


def worker_env(config: SoakConfig, workdir: Path, sites_file: Path) -> dict[str, str]:
    """The daemon's environment: the sites file, short intervals, each site's rate limit."""
    base = {k: v for k, v in os.environ.items() if not k.startswith(("BOOKYFLOW_", "SOAK_"))}
    return base | {
        "BOOKYFLOW_CONFIG_FILE": str(sites_file),
        "BOOKYFLOW_CHANNEL_NAME": CHANNEL,
        "BOOKYFLOW_STATE_DIR": str(workdir / "state"),
        "BOOKYFLOW_HTTP__RATE_LIMIT_PER_S": str(config.rate_per_s),
        "BOOKYFLOW_HTTP__RATE_LIMIT_BURST": str(config.burst),
        "BOOKYFLOW_JOBS__PROPERTIES__INTERVAL_S": "4",
        "BOOKYFLOW_JOBS__ARI__INTERVAL_S": "4",
        "BOOKYFLOW_JOBS__RESERVATIONS__INTERVAL_S": "2",
        "BOOKYFLOW_JOBS__BOOKINGS__INTERVAL_S": "2",
        "BOOKYFLOW_GRACE_S": "10",
    }


def site_verdicts(
    site: Site, records: Sequence[Mapping[str, Any]], config: SoakConfig
) -> list[Verdict]:
    """The same invariants for every site, named ``<site>:<invariant>``."""
    chaos, entries = site.chaos, list(site.sandbox.journal.entries)
    lines = sink_lines(chaos.sink_path, *chaos.rotated)
    own = [record for record in records if record.get("site") == site.label]
    checks = [
        *chaos_state_verdicts(chaos),
        token_discipline(entries, chaos.refused_at),
        rate_bounded(rate_figures(entries), config.rate_per_s, config.burst),
        poison_set_aside(lines, own, chaos.poisoned),
    ]
    return [Verdict(f"{site.label}:{check.name}", check.ok, check.detail) for check in checks]


def sites_isolated(records: Sequence[Mapping[str, Any]]) -> Verdict:
    """One site's trouble stays its own (see the module docstring)."""
    failed = [str(record.get("site")) for record in records if record["event"] == "site.failed"]
    retried = [str(r.get("site")) for r in records if r["event"] == "worker.start_failed"]
    ready = [str(record.get("site")) for record in records if record["event"] == "site.ready"]
    problems = [f"{label} failed to start (site.failed)" for label in sorted(set(failed))]
    if RETRIES_START not in retried or ready.count(RETRIES_START) != 1:
        problems.append(
            f"{RETRIES_START}: start retried x{retried.count(RETRIES_START)}, "
            f"ready x{ready.count(RETRIES_START)}"
        )
    calm_failures = [
        record for record in records
        if record.get("site") == UNTOUCHED and record["event"] == "job.finished"
        and not record.get("ok")
    ]  # fmt: skip
    if calm_failures:
        problems.append(f"{UNTOUCHED}: {len(calm_failures)} failed job runs")
    detail = (
        f"no site.failed; {RETRIES_START} start retried x{retried.count(RETRIES_START)}, "
        f"{UNTOUCHED} untouched"
    )
    return Verdict("sites_isolated", not problems, "; ".join(problems) or detail)


def sighup_reloaded(records: Sequence[Mapping[str, Any]], hangups: int) -> Verdict:
    """Each SIGHUP reloaded every running site: one ``worker.reload ok=true`` per site named."""
    summaries = [record for record in records if record["event"] == "supervisor.reload"]
    reloads = [record for record in records if record["event"] == "worker.reload"]
    named = sorted(label for summary in summaries for label in summary.get("sites", []))
    done = sorted(str(r.get("site")) for r in reloads if r.get("ok") and r.get("sink_reopened"))
    ok = len(summaries) == hangups and named == done and (hangups == 0 or UNTOUCHED in done)
    detail = f"sighups={hangups} reloaded={done} not_running={_not_running(summaries)}"
    return Verdict("sighup_reloaded", ok, detail)


def _not_running(summaries: Sequence[Mapping[str, Any]]) -> list[str]:
    return sorted(label for summary in summaries for label in summary.get("not_running", []))


def records_of(worker: WorkerProcess) -> list[dict[str, Any]]:
    """The daemon's JSON log records (a line that is not JSON fails ``log_lines_json``)."""
    records: list[dict[str, Any]] = []
    for line in worker.stdout:
        try:
            record = json.loads(line)
        except ValueError:
            continue
        if isinstance(record, dict) and "event" in record:
            records.append(record)
    return records


def output_texts(workdir: Path, worker: WorkerProcess) -> dict[str, str]:
    """Everything the daemon wrote: its output, state files and bookings files."""
    texts = {"worker stdout": "\n".join(worker.stdout), "worker stderr": "\n".join(worker.stderr)}
    for path in workdir.rglob("*"):
        if path.is_file() and path.suffix != ".toml" and path.name != "sandbox.db":
            texts[str(path.relative_to(workdir))] = path.read_bytes().decode("utf-8", "replace")
    return texts


def site_figures(site: Site, records: Sequence[Mapping[str, Any]]) -> dict[str, object]:
    entries = list(site.sandbox.journal.entries)
    rates = rate_figures(entries)
    own = [record for record in records if record.get("site") == site.label]
    runs = [record for record in own if record["event"] == "job.finished"]
    figures: dict[str, object] = {
        "requests": rates.requests,
        "peak_rps": rates.peak_rps,
        "retries_pct": rates.retries_pct,
        **status_counts(entries),
        "job_runs": len(runs),
        "job_runs_failed": sum(1 for record in runs if not record.get("ok")),
        **site.chaos.counts,
    }
    return {f"{site.label}.{name}": value for name, value in figures.items()}


async def settle(sites: Sequence[Site], settle_s: float) -> float:
    """Faults off everywhere; seconds until every site equals its inventory and sink."""
    for site in sites:
        site.sandbox.faults.clear()
    started = time.monotonic()
    while time.monotonic() - started < settle_s:
        await asyncio.sleep(2.0)
        for site in sites:
            site.chaos.book_if_none()
        if all(v.ok for site in sites for v in chaos_state_verdicts(site.chaos)):
            break
    return round(time.monotonic() - started, 1)


async def run(config: SoakConfig, workdir: Path) -> list[str]:
    """One many-sites soak run; returns its output lines (figures, then verdicts)."""
    images = await ImageHost().start()
    hangup: list[Callable[[], None]] = []
    sites = [
        await make_site(label, config, workdir, images, lambda: hangup[0]()) for label in PROFILES
    ]
    sites_file = workdir / "sites.toml"
    sites_file.write_text("".join(site.table() for site in sites), encoding="utf-8")
    worker = await start_worker(worker_env(config, workdir, sites_file), workdir)
    hangup.append(lambda: worker.proc.send_signal(signal.SIGHUP))
    try:
        alive = lambda: worker.proc.returncode is None  # noqa: E731 - one shared predicate
        await asyncio.gather(*(site.chaos.run(config.seconds, alive=alive) for site in sites))
        settle_s = await settle(sites, config.settle_s)
        exit_code = await stop_worker(worker)
    finally:
        if worker.proc.returncode is None:
            worker.proc.kill()
            await worker.wait()
        for site in sites:
            await site.sandbox.close()
        await images.close()
    return report(config, workdir, sites, worker, exit_code, settle_s)


def report(
    config: SoakConfig,
    workdir: Path,
    sites: Sequence[Site],
    worker: WorkerProcess,
    exit_code: int,
    settle_s: float,
) -> list[str]:
    """Figures, then one verdict line per invariant."""
    records = records_of(worker)
    tokens = {token for site in sites for token in site.chaos.issued_tokens()}
    hangups = sum(site.chaos.counts["sighups"] for site in sites)
    checks = [verdict for site in sites for verdict in site_verdicts(site, records, config)]
    checks += [
        json_log_lines(worker.stdout + [f"stderr: {line}" for line in worker.stderr]),
        no_secret({*(site.secret for site in sites), *tokens}, output_texts(workdir, worker)),
        Verdict("clean_stop", exit_code == 0, f"exit={exit_code}"),
        sites_isolated(records),
        sighup_reloaded(records, hangups),
    ]
    head: dict[str, object] = {"mode": "many-sites", "sites": len(sites),
                               "soak_s": config.seconds, "seed": config.seed,
                               "settle_s": settle_s, "log_lines": len(worker.stdout)}  # fmt: skip
    for site in sites:
        head |= site_figures(site, records)
    if target := os.environ.get("SOAK_WORKER_LOG"):
        Path(target).write_text("\n".join(worker.stdout + worker.stderr) + "\n")
    return [f"{name}={value}" for name, value in head.items()] + [c.line() for c in checks]


def main() -> int:
    config = SoakConfig.from_env()
    with tempfile.TemporaryDirectory(prefix="soak-sites-") as tmp:
        lines = asyncio.run(run(config, Path(tmp)))
    for line in lines:
        print(line, flush=True)
    return 1 if any("result=FAIL" in line for line in lines) else 0


if __name__ == "__main__":
    sys.exit(main())
