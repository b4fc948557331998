"""The alert rules, their unit tests and the Grafana dashboard as files (no Prometheus needed).

promtool proves the tests pass (test_promtool.py) and a real Prometheus proves the expressions run
on what the worker exports (test_prometheus_live.py); this module proves what neither checks: every
alert has a unit test in which it fires and one in which it does not, every alert tells the
operator what it means, and the dashboard is a well-formed, importable Grafana model.
"""

from __future__ import annotations

import re
from collections import defaultdict

from tests.ops.monitoring import (
    ALERTS_TEST,
    METRICS_DOC,
    alert_rules,
    dashboard,
    load_yaml,
    matchers,
    metric_names,
    panel_queries,
    panels,
)

DATASOURCE = {"type": "prometheus", "uid": "${datasource}"}


def _unit_tests() -> dict[str, list[bool]]:
    """Per alert name, whether each of its promtool cases expects it to fire."""
    cases: dict[str, list[bool]] = defaultdict(list)
    for test in load_yaml(ALERTS_TEST)["tests"]:
        for case in test.get("alert_rule_test", []):
            cases[case["alertname"]].append(bool(case.get("exp_alerts")))
    return cases


def test_every_alert_fires_in_a_unit_test_and_is_quiet_in_another() -> None:
    """Each rule of alerts.yml has a promtool case where it fires and one where it must not."""
    cases = _unit_tests()
    names = {rule.name for rule in alert_rules()}
    assert len(names) == len(alert_rules()), "two rules share an alert name"
    assert set(cases) == names, "a rule without tests, or tests of a rule that does not exist"
    never_fires = sorted(name for name in names if not any(cases[name]))
    always_fires = sorted(name for name in names if all(cases[name]))
    assert never_fires == []
    assert always_fires == []


def test_every_alert_says_what_it_means_and_where_to_look() -> None:
    """Each rule has a severity, a summary naming the site and a description pointing somewhere."""
    for rule in alert_rules():
        assert rule.labels.get("severity") in {"critical", "warning"}, rule.name
        assert set(rule.annotations) == {"summary", "description"}, rule.name
        if rule.name != "BookyFlowWorkerDown":  # a whole worker, all of its sites
            assert "$labels.site" in rule.annotations["summary"], rule.name
        description = rule.annotations["description"]
        assert len(description) > 200, rule.name
        # An operator is sent to a command or to named log events.
        assert re.search(r"`bookyflow-worker \w+|\b[a-z]+\.[a-z_]+\b", description), rule.name


def test_dashboard_is_a_grafana_model_on_a_datasource_variable() -> None:
    """The dashboard has a uid, a Prometheus datasource variable used by every query, unique ids."""
    board = dashboard()
    assert board["uid"]
    assert board["title"]
    assert board["schemaVersion"] >= 30
    variables = {variable["name"]: variable for variable in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"
    assert variables["datasource"]["query"] == "prometheus"
    assert variables["site"]["includeAll"]
    assert variables["site"]["allValue"] == ".*"
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    for panel in panels(board):
        assert panel["datasource"] == DATASOURCE, panel["title"]
        assert all(target["datasource"] == DATASOURCE for target in panel["targets"])
        assert panel["gridPos"]["x"] + panel["gridPos"]["w"] <= 24, panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]


def test_every_dashboard_query_is_filtered_by_site_or_worker() -> None:
    """Each panel query narrows to the chosen sites, or (histograms: no site label) workers."""
    for query in panel_queries(dashboard()):
        if query.where.startswith("variable"):
            continue
        for selector in re.findall(r"\b(bookyflow_\w+)(\{[^}]*\})?", query.expr):
            assert re.search(r'(site|instance)=~"\$(site|instance)"', selector[1]), query


def test_the_dashboard_covers_every_alert_metric() -> None:
    """Every series an alert reads is on the dashboard too: what pages someone can be seen."""
    on_board = set().union(*(metric_names(query.expr) for query in panel_queries(dashboard())))
    in_alerts = set().union(*(metric_names(rule.expr) for rule in alert_rules())) - {"up"}
    assert in_alerts - on_board == set()


def _used_exprs() -> list[str]:
    return [rule.expr for rule in alert_rules()] + [q.expr for q in panel_queries(dashboard())]


def test_every_metric_used_is_documented() -> None:
    """Every series the rules and the dashboard read is listed in docs/metrics.md."""
    documented = METRICS_DOC.read_text(encoding="utf-8")
    used = set().union(*(metric_names(expr) for expr in _used_exprs())) - {"up"}
    assert used, "no metric found: the extraction would prove nothing"
    missing = sorted(
        name for name in used if f"`{re.sub(r'_(bucket|count|sum)$', '', name)}`" not in documented
    )
    assert missing == []


def test_every_label_value_matched_is_documented() -> None:
    """Each value the expressions match a worker label against is one docs/metrics.md lists."""
    documented = METRICS_DOC.read_text(encoding="utf-8")
    values = {
        (label, value)
        for expr in _used_exprs()
        for _, label, operator, pattern in matchers(expr)
        if label in {"status_class", "outcome", "reason"} and operator in {"=", "=~"}
        for value in pattern.split("|")
    }
    assert len(values) >= 5, "too few matchers found: the check would prove little"
    assert sorted(v for v in values if f"`{v[1]}`" not in documented) == []
