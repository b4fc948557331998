"""The one-screen summary that ends ``sync --once`` (printed by the CLI unless ``--json``).

Per job (and per site with ``[[sites]]``): ok or FAILED and what it counted; the writes it sent
per endpoint (``ClientStats.writes_by_route``, by route template); what is held, and why (the
state store, as ``status`` reads it, and the inventory document's problems); how long it took;
and the exit code with its reason. Long lists are cut to a few lines: the full story is in the
logs and in ``bookyflow-worker status``.

``collect`` gathers one site after its run; ``render`` is pure.
"""

from __future__ import annotations

import textwrap
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from worker.demo import render_table
from worker.settings import Settings
from worker.sync.job import JobResult

__all__ = ["SiteOutcome", "collect", "render"]

MAX_LINES = 8
WIDTH = 100
# Counters that say nothing on their own; "failed" and "held" have their columns.
_QUIET = frozenset({"failed", "held"})


@dataclass(frozen=True)
class SiteOutcome:
    """One site's ``sync --once``: its job results, or the error that stopped it first."""

    label: str
    results: Sequence[JobResult] = ()
    writes: Mapping[str, int] = field(default_factory=dict)
    held: Sequence[str] = ()
    duration_s: float = 0.0
    error: str | None = None


async def collect(
    label: str,
    settings: Settings,
    results: Sequence[JobResult],
    *,
    writes: Mapping[str, int],
    duration_s: float,
    error: str | None = None,
) -> SiteOutcome:
    """One site's outcome; its held items come from its state store (never a request)."""
    from worker import status

    report = await status.collect(settings)
    held = [
        f"{prop['remote_uid']}: {item}"
        for prop in report.get("properties", [])
        for item in prop.get("held") or []
    ]
    return SiteOutcome(label, results, dict(writes), held, duration_s, error)


def render(
    sites: Sequence[SiteOutcome],
    *,
    exit_code: int,
    duration_s: float,
    problems: Sequence[str] = (),
) -> str:
    """The summary text: a table of jobs, then writes, held items, problems and the verdict."""
    many = len(sites) > 1
    header = [*(["site"] if many else []), "job", "result", "held", "counts"]
    rows = [row for site in sites for row in _rows(site, many)]
    lines = [_headline(sites, duration_s), "", render_table(header, rows), ""]
    lines += _writes(sites, many)
    lines += _listed("held", [f"{s.label}: {h}" if many else h for s in sites for h in s.held])
    lines += _listed("inventory problems", problems)
    lines.append(f"exit {exit_code}" + _why(sites, exit_code, problems))
    return "\n".join(lines)


def _headline(sites: Sequence[SiteOutcome], duration_s: float) -> str:
    jobs = [r for s in sites for r in s.results]
    failed = sum(not r.ok for r in jobs) + sum(s.error is not None for s in sites)
    held = sum(r.counts["held"] for r in jobs)
    where = f"{len(sites)} sites, " if len(sites) > 1 else ""
    return (
        f"sync --once: {where}{len(jobs)} job(s), {failed} failed, {held} held, "
        f"in {duration_s:.1f} s"
    )


def _rows(site: SiteOutcome, many: bool) -> list[list[str]]:
    lead = [site.label] if many else []
    if site.error is not None:
        return [[*lead, "-", "FAILED", "-", site.error]]
    return [
        [
            *lead,
            result.job,
            "ok" if result.ok else "FAILED",
            str(result.counts["held"]),
            _counts(result),
        ]
        for result in site.results
    ]


def _counts(result: JobResult) -> str:
    shown = [f"{k}={v}" for k, v in sorted(result.counts.items()) if v and k not in _QUIET]
    return " ".join(shown) or "-"


def _writes(sites: Sequence[SiteOutcome], many: bool) -> list[str]:
    """``writes: N`` and, wrapped, each endpoint (route template) with its count, most first."""
    total = sum(sum(site.writes.values()) for site in sites)
    lines = [f"writes: {total}" + ("" if total else " (nothing to change)")]
    for site in sites:
        routes = sorted(site.writes.items(), key=lambda kv: (-kv[1], kv[0]))
        text = ", ".join(f"{route} {count}" for route, count in routes)
        if text:
            lead = f"  {site.label}: " if many else "  "
            lines += textwrap.wrap(text, WIDTH, initial_indent=lead, subsequent_indent="    ")
    return _cut(lines)


def _listed(title: str, items: Sequence[str]) -> list[str]:
    if not items:
        return []
    return _cut([f"{title}: {len(items)}", *(f"  {item}" for item in items)])


def _cut(lines: list[str]) -> list[str]:
    """At most ``MAX_LINES`` lines under a title; the rest counted."""
    if len(lines) <= MAX_LINES + 1:
        return lines
    kept = lines[: MAX_LINES + 1]
    return [*kept, f"  ... and {len(lines) - len(kept)} more (see `bookyflow-worker status`)"]


def _why(sites: Sequence[SiteOutcome], exit_code: int, problems: Sequence[str]) -> str:
    if exit_code == 0:
        return ""
    reasons = []
    if any(s.error is not None for s in sites):
        reasons.append("a site did not start")
    if any(not r.ok for s in sites for r in s.results):
        reasons.append("a job failed")
    if any(r.counts["held"] for s in sites for r in s.results):
        reasons.append("something was held")
    if problems:
        reasons.append("the inventory has problems")
    return f": {', '.join(reasons)}" if reasons else ""
