"""Command line: ``bookyflow-worker run | demo | check | sync --once | sandbox | healthcheck``.

Exit codes (operator contract): 0 clean stop, 1 unexpected failure, 2 usage error (argparse),
78 invalid configuration, rejected credentials or scopes, a missing inventory path, a state
directory that cannot be written, or one already held by another daemon (``state.locked``,
naming its pid). ``run`` and ``sync`` hold the state directory's lock; ``check`` and
``healthcheck`` are read-only and work beside a running daemon, as does ``webhooks redrive``
(it only flips dead-lettered rows of the state store back to pending).

``run`` lasts until SIGTERM/SIGINT: a site that is down at start-up (5xx, an HTML page, a refused
connection, a failing token endpoint) is tried again with backoff (``Worker(retry_start=True)``),
one site as the supervisor does for many. ``sync --once`` and ``check`` are one-shot commands and
still fail fast (exit 1): their caller (cron, CI, an operator) decides when to try again.

``sync --once`` also exits 1 when anything was held or the inventory document has problems
(``sync_exit_code``) and ends with ``worker.summary``'s one screen on stdout (not with
``--json``). Global options (``--log-format``, ``--log-level``) go before or after the command;
any ``ConfigError`` of any command (a port in use included) is one line and exit 78.
``healthcheck`` reads the state root as ``run`` does (``heartbeat_path``).

``check``, ``status`` and ``schema`` print their report alone on stdout and log to stderr
(``REPORT_COMMANDS``); ``check`` always prints one (``worker.check``), takes ``--site LABEL``
with ``[[sites]]``, and ``schema`` prints the inventory's JSON Schema.
"""

from __future__ import annotations

import argparse
import asyncio
import errno
import json
import os
import sys
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, TextIO, TypeVar

from worker import __version__, summary
from worker.errors import (
    BookyFlowError,
    ConfigError,
    CredentialsRejected,
    ScopeRejected,
    StateLocked,
)
from worker.health import HEARTBEAT_FILE, evaluate_heartbeat, read_heartbeat
from worker.inventory.document import InventorySnapshot
from worker.lock import StateDirLock
from worker.logging import configure_logging, get_logger
from worker.service import Worker, default_jobs
from worker.settings import JOB_NAMES, Settings
from worker.signals import SignalStop
from worker.sites import Deployment, SiteSettings, deployment_from, load_deployment, state_root
from worker.supervisor import Supervisor
from worker.sync.job import JobResult

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 78

log = get_logger("worker.cli")

T = TypeVar("T")
Command = Callable[[argparse.Namespace], Coroutine[Any, Any, int]]


def _client_spec(value: str) -> tuple[str, str, tuple[str, ...]]:
    """``ID:SECRET:SCOPES`` with comma-separated scopes, e.g. ``demo:s3cret:read,write``."""
    client_id, sep, rest = value.partition(":")
    secret, sep2, scopes = rest.rpartition(":")
    if not (sep and sep2 and client_id and secret and scopes):
        raise argparse.ArgumentTypeError("expected ID:SECRET:SCOPES, e.g. demo:s3cret:read,write")
    return client_id, secret, tuple(s for s in scopes.split(",") if s)


def _add_sandbox_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    sandbox = commands.add_parser("sandbox", help="run the embedded BookyFlow sandbox server alone")
    sandbox.add_argument("--host", default="127.0.0.1", help="address to listen on (127.0.0.1)")
    sandbox.add_argument(
        "--port", type=int, default=8080, help="port to listen on (8080; 0 = any free port)"
    )
    sandbox.add_argument(
        "--client",
        dest="clients",
        action="append",
        type=_client_spec,
        default=[],
        metavar="ID:SECRET:SCOPES",
        help="an API client (repeatable); each client is its own owner",
    )
    sandbox.add_argument(
        "--token-ttl",
        type=float,
        default=None,
        metavar="S",
        help="token lifetime (default 3600; 31536000 with --engine-auth)",
    )
    sandbox.add_argument("--legacy", action="store_true", help="serve the Compatibility behaviours")
    sandbox.add_argument(
        "--engine-auth",
        action="store_true",
        help="the real engine's auth: one channel_management scope, one-year tokens, its 401s",
    )
    sandbox.add_argument(
        "--db", default=None, metavar="PATH", help="persist state to this SQLite file"
    )
    sandbox.add_argument(
        "--admin-token",
        default=None,
        help="token for the /_sandbox control routes (default: printed at start-up)",
    )
    sandbox.set_defaults(command=_cmd_sandbox)


def add_worker_parsers(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``run``, ``demo``, ``check``, ``sync --once`` and ``healthcheck`` (operator contract)."""
    run = commands.add_parser("run", help="the daemon: scheduled jobs until SIGTERM/SIGINT")
    run.set_defaults(command=_cmd_run)
    demo = commands.add_parser("demo", help="sync config/inventory.example.json to a sandbox")
    demo.add_argument(
        "--seconds", type=float, default=20.0, metavar="N", help="how long to run (20)"
    )
    demo.add_argument(
        "--inventory",
        type=Path,
        default=None,
        metavar="PATH",
        help="inventory to sync (config/inventory.example.json)",
    )
    demo.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="where the demo keeps its state (a temporary directory)",
    )
    demo.set_defaults(command=_cmd_demo)
    check = commands.add_parser("check", help="validate config, token, scopes, announce, owned")
    check.add_argument("--json", action="store_true", help="print the report as JSON")
    check.add_argument("--site", default=None, metavar="LABEL", help="one of several [[sites]]")
    check.set_defaults(command=_cmd_check)
    schema = commands.add_parser("schema", help="print the inventory's JSON Schema")
    schema.set_defaults(command=_cmd_schema)
    sync = commands.add_parser("sync", help="run every enabled job (or one) once and exit")
    sync.add_argument(
        "--once", action="store_true", required=True, help="run once and exit (required)"
    )
    sync.add_argument("--job", choices=JOB_NAMES, default=None, help="only this job")
    sync.add_argument(
        "--dry-run", action="store_true", help="plan against the live site; send no write"
    )
    sync.add_argument(
        "--json",
        action="store_true",
        help="with --dry-run: the plan as JSON; without: no summary at the end",
    )
    sync.set_defaults(command=_cmd_sync)
    status = commands.add_parser(
        "status", help="per site and property: published, last pushes, pending, held (no request)"
    )
    status.add_argument("--json", action="store_true", help="print the report as JSON")
    status.add_argument("--site", default=None, metavar="LABEL", help="one of several [[sites]]")
    status.set_defaults(command=_cmd_status)
    health = commands.add_parser(
        "healthcheck", help="exit 0 if the running worker's heartbeat is fresh, else 1"
    )
    health.add_argument(
        "--state-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help="the worker's state directory (default: from its configuration, as `run` reads it)",
    )
    health.set_defaults(command=_cmd_healthcheck)
    _add_webhooks_parser(commands)


def _add_webhooks_parser(commands: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """``webhooks redrive --all | --id REVISION``: works beside the running daemon."""
    webhooks = commands.add_parser("webhooks", help="the webhook sink's outbox")
    actions = webhooks.add_subparsers(dest="webhooks_action", required=True, metavar="ACTION")
    redrive = actions.add_parser("redrive", help="dead-lettered bookings back to pending")
    which = redrive.add_mutually_exclusive_group(required=True)
    which.add_argument("--all", action="store_true", help="every dead-lettered booking")
    which.add_argument("--id", dest="revision", metavar="REVISION", help="one, by webhook-id")
    redrive.add_argument("--site", default=None, metavar="LABEL", help="one of several [[sites]]")
    redrive.set_defaults(command=_cmd_webhooks_redrive)


LOG_FORMATS = ("json", "console")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR")


def _add_global_options(parser: argparse.ArgumentParser, default: Any) -> None:
    """``--log-format`` and ``--log-level``, before the command or after it (any case)."""
    parser.add_argument(
        "--log-format",
        type=str.lower,
        choices=LOG_FORMATS,
        default=default,
        help="json (one object per line, the default) or console (key=value for people)",
    )
    parser.add_argument(
        "--log-level",
        type=str.upper,
        choices=LOG_LEVELS,
        default=default,
        help="least severe level logged (INFO); overrides BOOKYFLOW_LOG_LEVEL",
    )


def _subparsers(parser: argparse.ArgumentParser) -> list[argparse.ArgumentParser]:
    """Every command's parser, nested ones (``webhooks redrive``) included."""
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for sub in dict.fromkeys(action.choices.values()):
                found += [sub, *_subparsers(sub)]
    return found


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bookyflow-worker", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    _add_global_options(parser, None)
    commands = parser.add_subparsers(dest="command_name", required=True, metavar="COMMAND")
    _add_sandbox_parser(commands)
    add_worker_parsers(commands)
    for sub in _subparsers(parser):
        # After the command too; SUPPRESS leaves the value given before it (or None) alone.
        _add_global_options(sub, argparse.SUPPRESS)
    return parser


# A listening socket that cannot be had: the operator's to fix (another port or host), not a bug.
_LISTEN_ERRORS = frozenset({errno.EADDRINUSE, errno.EADDRNOTAVAIL, errno.EACCES})


async def _cmd_sandbox(args: argparse.Namespace) -> int:
    from worker.sandbox.server import serve_forever

    try:
        await serve_forever(
            host=args.host,
            port=args.port,
            clients=args.clients,
            token_ttl_s=args.token_ttl,
            legacy=args.legacy,
            engine_auth=args.engine_auth,
            db_path=args.db,
            admin_token=args.admin_token,
        )
    except OSError as exc:
        if exc.errno not in _LISTEN_ERRORS:
            raise
        reason = os.strerror(exc.errno).lower()
        raise ConfigError(
            f"invalid configuration: the sandbox cannot listen on {args.host}:{args.port}: "
            f"{reason} (choose another --port or --host)"
        ) from None
    return EXIT_OK


def _deployment(args: argparse.Namespace, **overrides: Any) -> Deployment:
    """Load the site(s), then apply their log format and level unless the command line set them.

    One site (no ``[[sites]]``) runs a plain ``Worker``; ``[[sites]]`` runs a ``Supervisor``.
    """
    deployment = load_deployment(**overrides)
    process = deployment.process
    configure_logging(
        log_format=args.log_format or process.log_format,
        level=(args.log_level or process.log_level).upper(),
        stream=log_stream(args),
    )
    return deployment


# Commands whose stdout is their report: their logs go to stderr (operator contract), so that
# ``check --json | python -m json.tool`` and ``schema > inventory.schema.json`` work.
REPORT_COMMANDS = frozenset({"check", "status", "schema"})


def log_stream(args: argparse.Namespace) -> TextIO:
    """Where this command's logs go: stderr for the report commands, else stdout."""
    return sys.stderr if args.command_name in REPORT_COMMANDS else sys.stdout


async def _until_stopped(worker: Worker | Supervisor, body: Callable[[], Awaitable[T]]) -> T | None:
    """Run ``body`` inside the worker's lifecycle; a signal ends it cleanly (returns None)."""
    task = asyncio.current_task()
    assert task is not None
    with SignalStop(worker, task) as signals:
        try:
            async with worker:
                return await body()
        except asyncio.CancelledError:
            if not signals.received:
                raise
            task.uncancel()
            return None


async def _process_lock(deployment: Deployment) -> StateDirLock:
    """Many sites: the process's state root is locked too (each site's Worker locks its own),
    so a second supervisor exits 78 instead of retrying every site as ``site.failed``."""
    return await asyncio.to_thread(StateDirLock.acquire, deployment.process.state_dir)


async def _cmd_run(args: argparse.Namespace) -> int:
    deployment = _deployment(args)
    if deployment.multi:
        with await _process_lock(deployment):
            supervisor = Supervisor(deployment.process, deployment.sites)
            await _until_stopped(supervisor, supervisor.run)
        return EXIT_OK
    worker = Worker(deployment.sites[0].settings, retry_start=True)
    await _until_stopped(worker, worker.run)
    return EXIT_OK


async def _cmd_sync(args: argparse.Namespace) -> int:
    deployment = _deployment(args)
    jobs = default_jobs()
    if args.job is not None:
        if any(args.job not in site.settings.jobs.enabled() for site in deployment.sites):
            raise ConfigError(f"invalid configuration: job {args.job} is disabled")
        jobs = {args.job: jobs[args.job]}
    if args.dry_run:
        return await _dry_run(args, deployment, jobs)
    if deployment.multi:
        return await _sync_sites(args, deployment, jobs)
    settings = deployment.sites[0].settings
    worker = Worker(settings, jobs=jobs)

    async def once() -> tuple[list[JobResult], InventorySnapshot]:
        results = await worker.run_once()
        assert worker.ctx is not None
        return results, await worker.ctx.source.load()  # unchanged: no re-read, no re-parse

    started = time.perf_counter()
    outcome = await _until_stopped(worker, once)
    if outcome is None:
        return EXIT_OK
    code = sync_exit_code(*outcome)
    if wants_summary(args, deployment):
        duration_s = time.perf_counter() - started
        results, snapshot = outcome
        site = await summary.collect(
            settings.base_url, settings, results, writes=_writes(worker), duration_s=duration_s
        )
        problems = [str(problem) for problem in snapshot.problems]
        print(summary.render([site], exit_code=code, duration_s=duration_s, problems=problems))
    return code


def wants_summary(args: argparse.Namespace, deployment: Deployment) -> bool:
    """The summary is for people: not with ``--json``, and not into a pipe of JSON log lines.

    With JSON logs stdout is one JSON object per line (operator contract) unless it is a
    terminal; ``sync.finished`` carries the outcome there. Console logs always get it.
    """
    if args.json:
        return False
    log_format = args.log_format or deployment.process.log_format
    return log_format == "console" or sys.stdout.isatty()


class _OnceWorker(Worker):
    """A site's worker in ``sync --once`` with ``[[sites]]``: keeps its results for the summary."""

    def __init__(self, settings: Settings, **kwargs: Any) -> None:
        super().__init__(settings, **kwargs)
        self.results: list[JobResult] = []
        self.duration_s = 0.0

    async def run_once(self, names: Sequence[str] | None = None) -> list[JobResult]:
        started = time.perf_counter()
        self.results = await super().run_once(names)
        self.duration_s = time.perf_counter() - started
        return self.results


def _writes(worker: Worker) -> dict[str, int]:
    """Writes the worker's client sent, by route template."""
    return dict(worker.client.stats.writes_by_route) if worker.client is not None else {}


async def _sync_sites(args: argparse.Namespace, deployment: Deployment, jobs: Any) -> int:
    """``sync --once`` of every ``[[sites]]`` side by side; a summary row per site and job."""
    started = time.perf_counter()
    with await _process_lock(deployment):
        supervisor = Supervisor(
            deployment.process,
            deployment.sites,
            new_worker=lambda s: _OnceWorker(s, jobs=jobs, heartbeat=False),
        )
        outcomes = await _until_stopped(supervisor, supervisor.run_once)
    code = EXIT_OK if outcomes is None or all(outcomes.values()) else EXIT_FAILURE
    if outcomes is None or not wants_summary(args, deployment):
        return code
    sites, problems = [], []
    for label, run in supervisor.runs.items():
        worker = run.worker
        assert isinstance(worker, _OnceWorker)
        failed = None if outcomes[label] or worker.results else run.last_error_type or "failed"
        site = await summary.collect(
            label,
            run.site.settings,
            worker.results,
            writes=_writes(worker),
            duration_s=worker.duration_s,
            error=failed,
        )
        sites.append(site)
        snapshot = worker.inventory
        problems += [f"{label}: {p}" for p in (snapshot.problems if snapshot else [])]
    duration_s = time.perf_counter() - started
    print(summary.render(sites, exit_code=code, duration_s=duration_s, problems=problems))
    return code


def sync_exit_code(results: Sequence[JobResult], snapshot: InventorySnapshot) -> int:
    """``sync --once``: 1 when a job failed, anything was held, or the document has problems.

    Held (``counts["held"]``) is what the worker itself left waiting: a property or record with
    a bad entry, a refused prune, a parked booking, an unsafe cancel. What the site reports
    (an incomplete property, content it cannot store) is reported, not held: it does not fail
    the run. A one-line ``sync.finished`` says why.
    """
    held = sum(result.counts["held"] for result in results)
    failed = [result.job for result in results if not result.ok]
    code = EXIT_FAILURE if failed or held or snapshot.problems else EXIT_OK
    (log.info if code == EXIT_OK else log.warning)(
        "sync.finished",
        exit_code=code,
        failed_jobs=failed,
        held=held,
        problems=[str(problem) for problem in snapshot.problems[:5]],
    )
    return code


async def _dry_run(args: argparse.Namespace, deployment: Deployment, jobs: Any) -> int:
    """``sync --once --dry-run`` of one site: its plan on stdout (``worker.dry_run``)."""
    from worker.dry_run import WriteRecorder, render_plan, state_copy

    if deployment.multi:
        raise ConfigError("invalid configuration: --dry-run plans one site; use one site's config")
    settings = deployment.sites[0].settings
    with state_copy(settings.state_dir) as copy:
        dry = settings.model_copy(
            update={"state_dir": copy, "bookings_file": copy / "bookings.jsonl", "sink": None}
        )
        worker = Worker(dry, jobs=jobs, exclusive=False)
        worker.dry_run = recorder = WriteRecorder()
        results = await _until_stopped(worker, worker.run_once)
    plan = recorder.plan()
    # One JSON line with --json: the log lines around it are JSON lines too.
    print(json.dumps({"plan": plan}) if args.json else render_plan(plan), flush=True)
    failed = [e for r in results or [] for e in r.errors if "DryRunCreate" not in e]
    return EXIT_FAILURE if failed else EXIT_OK


async def _cmd_check(args: argparse.Namespace) -> int:
    """Read-only, beside a running daemon; always prints a report (``worker.check``)."""
    from worker import check

    try:
        site = _check_site(args)
    except ConfigError as exc:
        _log_failure(exc)
        return _print_check(args, check.failure_report(None, None, exc), exc)
    label = site.label if args.site is not None or site.label != "default" else None
    worker = Worker(site.settings, exclusive=False)
    try:
        facts = await _until_stopped(worker, worker.report)
    except Exception as exc:  # whatever stopped it, the report says so (a bug: exit 1)
        _log_failure(exc)
        return _print_check(
            args, check.failure_report(site.settings, worker, exc, label=label), exc
        )
    if facts is None:
        return EXIT_OK
    return _print_check(args, check.success_report(facts, label=label))


def _check_site(args: argparse.Namespace) -> SiteSettings:
    """The one site ``check`` looks at: the only one, or ``--site LABEL`` of ``[[sites]]``."""
    deployment = _deployment(args)
    labels = [site.label for site in deployment.sites]
    if args.site is None and not deployment.multi:
        return deployment.sites[0]
    if args.site is None:
        raise ConfigError(
            f"invalid configuration: check looks at one site: --site {'|'.join(labels)}"
        )
    for site in deployment.sites:
        if site.label == args.site or (not deployment.multi and args.site == "default"):
            return site
    raise ConfigError(
        f"invalid configuration: no site labelled {args.site!r} (sites: {', '.join(labels)})"
    )


def _print_check(
    args: argparse.Namespace, report: dict[str, Any], exc: BaseException | None = None
) -> int:
    from worker.check import exit_code, render_report

    print(json.dumps(report) if args.json else render_report(report), flush=True)
    return exit_code(report, exc)


def _log_failure(exc: BaseException) -> None:
    """The same event ``main`` logs for this failure (on stderr for ``check``)."""
    if isinstance(exc, ConfigError):
        log.error("config.invalid", error=str(exc))
    elif isinstance(exc, CredentialsRejected | ScopeRejected):
        event = (
            "credentials.rejected" if isinstance(exc, CredentialsRejected) else "scopes.rejected"
        )
        log.error(event, error=str(exc))
    elif isinstance(exc, BookyFlowError):
        log.error("worker.failed", error=str(exc), error_type=type(exc).__name__)
    else:
        log.error("worker.crashed", error_type=type(exc).__name__, exc_info=exc)


async def _cmd_schema(args: argparse.Namespace) -> int:
    """The inventory's JSON Schema, generated from the pydantic models (``docs/inventory.md``)."""
    from worker.inventory.models import Inventory

    print(json.dumps(Inventory.model_json_schema(), indent=2), flush=True)
    return EXIT_OK


async def _cmd_status(args: argparse.Namespace) -> int:
    """Read-only: the state directory of each site (or ``--site``); never a request, no lock."""
    from worker import status

    deployment = _deployment(args)
    sites = [s for s in deployment.sites if args.site in (None, s.label)]
    if not sites:
        raise ConfigError(f"invalid configuration: no site labelled {args.site!r}")
    label = (lambda site: site.label) if deployment.multi else (lambda site: None)
    reports = [await status.collect(site.settings, label=label(site)) for site in sites]
    if args.json:
        print(json.dumps({"sites": reports}, indent=1), flush=True)
    else:
        print(status.render(reports), flush=True)
    return EXIT_OK


async def _cmd_webhooks_redrive(args: argparse.Namespace) -> int:
    """Flip dead-lettered rows to pending in each site's state store; no lock is taken, the
    daemon's delivery loop picks them up. Exit 1 when ``--id`` named no dead letter."""
    from worker.inventory.webhook import redrive

    deployment = _deployment(args)
    sites = [s for s in deployment.sites if args.site in (None, s.label)]
    if not sites:
        raise ConfigError(f"invalid configuration: no site labelled {args.site!r}")
    redriven = [await redrive(site.settings.state_dir, args.revision) for site in sites]
    return EXIT_FAILURE if args.revision is not None and not any(redriven) else EXIT_OK


async def _cmd_healthcheck(args: argparse.Namespace) -> int:
    """One line naming the heartbeat file and the verdict; exit 0 healthy, else 1."""
    path = heartbeat_path(args.state_dir)
    verdict = evaluate_heartbeat(read_heartbeat(path), time.time())
    (log.info if verdict.ok else log.error)(
        "health.checked", ok=verdict.ok, reason=verdict.reason, heartbeat_file=str(path)
    )
    return EXIT_OK if verdict.ok else EXIT_FAILURE


def heartbeat_path(state_dir: Path | None) -> Path:
    """The file ``run`` writes: its state root from the same configuration (TOML included).

    When the whole configuration does not load (a secret only the daemon's environment has, a
    setting the healthcheck does not need), only the state root is read, from the same sources:
    the Docker HEALTHCHECK never fails on an unrelated setting.
    """
    if state_dir is not None:
        return state_dir / HEARTBEAT_FILE
    try:
        root = deployment_from({}, check_names=False).process.state_dir
    except ConfigError:
        root = state_root()
    return root / HEARTBEAT_FILE


async def _cmd_demo(args: argparse.Namespace) -> int:
    from worker.demo import run_demo

    return await run_demo(seconds=args.seconds, inventory=args.inventory, state_dir=args.state_dir)


def _early(args: argparse.Namespace, name: str, choices: Sequence[str], default: str) -> str:
    """Logging before the configuration is read: the option, else a valid variable's value."""
    value: str | None = getattr(args, name)
    if value is None:
        value = os.environ.get(f"BOOKYFLOW_{name.upper()}", "")
        value = value.lower() if name == "log_format" else value.upper()
    return value if value in choices else default


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(
        log_format=_early(args, "log_format", LOG_FORMATS, "json"),
        level=_early(args, "log_level", LOG_LEVELS, "INFO"),
        stream=log_stream(args),
    )
    command: Command = args.command
    try:
        return asyncio.run(command(args))
    except StateLocked as exc:
        log.error("state.locked", error=str(exc), holder_pid=exc.holder_pid)
        return EXIT_CONFIG
    except ConfigError as exc:
        log.error("config.invalid", error=str(exc))
        return EXIT_CONFIG
    except (CredentialsRejected, ScopeRejected) as exc:
        # Retrying cannot help: the operator must fix the client id, secret or scopes.
        event = (
            "credentials.rejected" if isinstance(exc, CredentialsRejected) else "scopes.rejected"
        )
        log.error(event, error=str(exc))
        return EXIT_CONFIG
    except BookyFlowError as exc:
        log.error("worker.failed", error=str(exc), error_type=type(exc).__name__)
        return EXIT_FAILURE
    except KeyboardInterrupt:
        return EXIT_OK
    except Exception:
        log.exception("worker.crashed")
        return EXIT_FAILURE


if __name__ == "__main__":
    sys.exit(main())
