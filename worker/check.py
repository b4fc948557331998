"""What ``bookyflow-worker check`` reports, and with which exit code.

The report is printed alone on stdout (the logs go to stderr), and it is printed **always**, so a
script or a person always has one to read and ``check --json`` always parses:

- everything answered: site, token, granted scopes, channel id, server versions, owned
  properties, incomplete properties, inventory validity; exit 0, or 1 when the inventory is
  invalid (``Worker.report``);
- a failure on the way is the report's ``error`` line, with what was learnt before it (a token's
  scopes, the inventory): rejected credentials (``invalid_client``), refused scopes and invalid
  configuration exit 78, anything else (the site down, say) exits 1.

The JSON object has the same keys either way, plus ``ok``, ``error``, ``error_type`` and, with
``[[sites]]``, ``site_label``; ``inventory`` is null when it was not read.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from worker.errors import ConfigError, CredentialsRejected, ScopeRejected
from worker.inventory.document import InventorySnapshot

if TYPE_CHECKING:
    from worker.service import Worker
    from worker.settings import Settings

__all__ = ["EXIT_CONFIG", "exit_code", "failure_report", "render_report", "success_report"]

EXIT_CONFIG = 78
# Failures only the operator can fix: the same exit code as the daemon gives them.
_OPERATORS = (ConfigError, CredentialsRejected, ScopeRejected)


def success_report(report: dict[str, Any], *, label: str | None = None) -> dict[str, Any]:
    """``Worker.report``'s facts with the verdict keys every ``check`` report has."""
    valid = bool(report["inventory"]["valid"])
    verdict = {"ok": valid, "error": None, "error_type": None}
    return {**report, **verdict, **_label(label)}


def failure_report(
    settings: Settings | None,
    worker: Worker | None,
    exc: BaseException,
    *,
    label: str | None = None,
) -> dict[str, Any]:
    """The report of a ``check`` that failed with ``exc``: what was learnt, then the error."""
    client = worker.client if worker is not None else None
    tokens = client.tokens if client is not None else None
    rejected = isinstance(exc, CredentialsRejected | ScopeRejected)
    return {
        "site": settings.base_url if settings is not None else None,
        "token_ok": bool(tokens is not None and tokens.ready and not rejected),
        "granted_scopes": sorted(tokens.granted_scopes) if tokens is not None else [],
        "channel": settings.channel_name if settings is not None else None,
        "channel_id": worker.channel_id if worker is not None else None,
        "versions": worker.versions if worker is not None else None,
        "owned_properties": [],
        "incomplete_properties": [],
        "inventory": _inventory(worker.inventory if worker is not None else None),
        "ok": False,
        "error": str(exc),
        "error_type": type(exc).__name__,
        **_label(label),
    }


def exit_code(report: dict[str, Any], exc: BaseException | None = None) -> int:
    """0 when all is well, 78 for what only the operator can fix, else 1."""
    if exc is not None:
        return EXIT_CONFIG if isinstance(exc, _OPERATORS) else 1
    return 0 if report["ok"] else 1


def render_report(report: dict[str, Any]) -> str:
    """The report for people: one fact per line, the error (if any) first."""
    lines = [f"error:            {report['error']}"] if report.get("error") else []
    if report.get("site_label"):
        lines.append(f"site label:       {report['site_label']}")
    owned = ", ".join(f"{uid} ({remote})" for uid, remote in report["owned_properties"]) or "none"
    lines += [
        f"site:             {report['site'] or 'unknown'}",
        f"token:            {_token_line(report)}",
        f"granted scopes:   {' '.join(report['granted_scopes']) or 'none'}",
        f"channel:          {report['channel'] or 'unknown'} (id {report['channel_id']})",
        f"server versions:  {report['versions'] or 'unknown'}",
        f"owned properties: {len(report['owned_properties'])}: {owned}",
        *_inventory_lines(report["inventory"]),
    ]
    for item in report.get("incomplete_properties", []):
        lines.append(f"incomplete:       {item['property_uid']} ({item['remote_uid']})")
        lines += [f"  warning: {warning}" for warning in item["warnings"]]
    return "\n".join(lines)


def _token_line(report: dict[str, Any]) -> str:
    if report["token_ok"]:
        return "ok"
    if report.get("error_type") == "CredentialsRejected":
        return "REJECTED (invalid_client: check the client id and secret)"
    if report.get("error_type") == "ScopeRejected":
        return "REJECTED (invalid_scope: check BOOKYFLOW_SCOPES)"
    return "NOT VALID"


def _inventory_lines(inventory: dict[str, Any] | None) -> list[str]:
    if inventory is None:
        return ["inventory:        not read"]
    verdict = "valid" if inventory["valid"] else "INVALID"
    lines = [f"inventory:        {verdict}, {inventory['properties']} properties"]
    return lines + [f"  problem: {problem}" for problem in inventory["problems"]]


def _inventory(snapshot: InventorySnapshot | None) -> dict[str, Any] | None:
    if snapshot is None:
        return None
    return {
        "valid": not snapshot.problems,
        "properties": len(snapshot.properties),
        "problems": [str(problem) for problem in snapshot.problems],
    }


def _label(label: str | None) -> dict[str, Any]:
    return {"site_label": label} if label is not None else {}
