"""Command line: ``bookyflow-worker run | demo | check | sync --once | sandbox | healthcheck``.

Exit codes (operator contract): 0 clean stop, 1 unexpected failure, 2 usage error (argparse),
78 invalid configuration, rejected credentials or scopes, or a missing inventory path.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Callable, Coroutine, Sequence
from typing import Any

from worker import __version__
from worker.errors import ConfigError
from worker.logging import configure_logging, get_logger

EXIT_OK = 0
EXIT_FAILURE = 1
EXIT_CONFIG = 78

log = get_logger("worker.cli")

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
    sandbox.add_argument("--host", default="127.0.0.1")
    sandbox.add_argument("--port", type=int, default=8080)
    sandbox.add_argument(
        "--client",
        dest="clients",
        action="append",
        type=_client_spec,
        default=[],
        metavar="ID:SECRET:SCOPES",
        help="an API client (repeatable); each client is its own owner",
    )
    sandbox.add_argument("--token-ttl", type=float, default=3600.0, metavar="S")
    sandbox.add_argument("--legacy", action="store_true", help="serve the Compatibility behaviours")
    sandbox.add_argument(
        "--db", default=None, metavar="PATH", help="persist state to this SQLite file"
    )
    sandbox.add_argument(
        "--admin-token",
        default=None,
        help="token for the /_sandbox control routes (default: printed at start-up)",
    )
    sandbox.set_defaults(command=_cmd_sandbox)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="bookyflow-worker", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    parser.add_argument("--log-format", choices=("json", "console"), default=None)
    parser.add_argument("--log-level", default=None)
    commands = parser.add_subparsers(dest="command_name", required=True, metavar="COMMAND")
    _add_sandbox_parser(commands)
    return parser


async def _cmd_sandbox(args: argparse.Namespace) -> int:
    from worker.sandbox.server import serve_forever

    await serve_forever(
        host=args.host,
        port=args.port,
        clients=args.clients,
        token_ttl_s=args.token_ttl,
        legacy=args.legacy,
        db_path=args.db,
        admin_token=args.admin_token,
    )
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    configure_logging(
        log_format=args.log_format or "json", level=(args.log_level or "INFO").upper()
    )
    command: Command = args.command
    try:
        return asyncio.run(command(args))
    except ConfigError as exc:
        log.error("config.invalid", error=str(exc))
        return EXIT_CONFIG
    except KeyboardInterrupt:
        return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
