"""The alert rules and the Grafana dashboard as plain values, for the tests of tests/ops.

``alert_rules()`` reads ``deploy/prometheus/alerts.yml``; ``panel_queries()`` lists every query of
``deploy/grafana/bookyflow.json`` (its panels and its variables); ``expand()`` substitutes Grafana's
variables so a query can be sent to a real Prometheus as Grafana would send it; ``metric_names()``
finds the series names an expression reads.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml  # type: ignore[import-untyped, unused-ignore]  # PyYAML ships no type stubs

REPO = Path(__file__).resolve().parents[2]
PROMETHEUS_DIR = REPO / "deploy" / "prometheus"
ALERTS = PROMETHEUS_DIR / "alerts.yml"
ALERTS_TEST = PROMETHEUS_DIR / "alerts_test.yml"
DASHBOARD = REPO / "deploy" / "grafana" / "bookyflow.json"
METRICS_DOC = REPO / "docs" / "metrics.md"

# Series names: the worker's own, and `up`, which Prometheus records for every target.
_METRIC = re.compile(r"\b(bookyflow_[a-z0-9_]+|up)\b(?!\s*\()")
_VARIABLE = re.compile(r"\$\{?(\w+)\}?")
_SELECTOR = re.compile(r"\b(bookyflow_[a-z0-9_]+|up)\s*\{([^}]*)\}")
_MATCHER = re.compile(r'(\w+)\s*(=~|!~|!=|=)\s*"((?:[^"\\]|\\.)*)"')


@dataclass(frozen=True)
class Rule:
    """One alerting rule of alerts.yml."""

    name: str
    expr: str
    labels: dict[str, str]
    annotations: dict[str, str]


@dataclass(frozen=True)
class PanelQuery:
    """One query of the dashboard: a panel's target, or a template variable's query."""

    where: str  # "panel 'Retries' A" or "variable site"
    expr: str
    legend: str = ""


def load_yaml(path: Path) -> Any:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


def alert_rules() -> list[Rule]:
    rules = []
    for group in load_yaml(ALERTS)["groups"]:
        for rule in group["rules"]:
            rules.append(
                Rule(
                    rule["alert"],
                    rule["expr"],
                    dict(rule.get("labels") or {}),
                    dict(rule.get("annotations") or {}),
                )
            )
    return rules


def dashboard() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    return data


def panels(board: dict[str, Any]) -> list[dict[str, Any]]:
    """Every panel that queries, rows' nested panels included."""
    found: list[dict[str, Any]] = []
    for panel in board["panels"]:
        found.extend(panels({"panels": panel.get("panels", [])}))
        if panel.get("targets"):
            found.append(panel)
    return found


def panel_queries(board: dict[str, Any]) -> list[PanelQuery]:
    queries = [
        PanelQuery(
            f"panel {panel['title']!r} {target['refId']}",
            target["expr"],
            target.get("legendFormat", ""),
        )
        for panel in panels(board)
        for target in panel["targets"]
    ]
    for variable in board["templating"]["list"]:
        if variable["type"] == "query":
            queries.append(PanelQuery(f"variable {variable['name']}", variable["definition"]))
    return queries


def label_values(expr: str) -> tuple[str, str] | None:
    """``label_values(metric, label)`` (a Grafana variable query) as (metric, label)."""
    match = re.fullmatch(r"\s*label_values\(\s*(\w+)\s*,\s*(\w+)\s*\)\s*", expr)
    return (match[1], match[2]) if match else None


def expand(expr: str, values: dict[str, str]) -> str:
    """``expr`` with Grafana's ``$name`` / ``${name}`` variables replaced from ``values``."""

    def substitute(match: re.Match[str]) -> str:
        name = match[1]
        if name not in values:
            raise KeyError(f"no value for ${name} in {expr!r}")
        return values[name]

    return _VARIABLE.sub(substitute, expr)


def metric_names(expr: str) -> set[str]:
    """The series names ``expr`` selects (histograms by their ``_bucket``/``_count`` names)."""
    without_strings = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    return set(_METRIC.findall(without_strings))


def matchers(expr: str) -> list[tuple[str, str, str, str]]:
    """Every label matcher of ``expr``'s selectors: (metric, label, operator, value)."""
    return [
        (metric, label, operator, value)
        for metric, body in _SELECTOR.findall(expr)
        for label, operator, value in _MATCHER.findall(body)
    ]


def legend_labels(legend: str) -> set[str]:
    """The labels a Grafana legend format such as ``{{site}} {{job}}`` shows."""
    return set(re.findall(r"\{\{\s*(\w+)\s*\}\}", legend))
