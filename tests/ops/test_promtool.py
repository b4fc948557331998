"""``promtool`` on the alert rules: they are valid, and their unit tests pass.

Skipped, with one line, where Prometheus's ``promtool`` is not installed (Debian: the
``prometheus`` package; ``.ci/run`` installs it).
"""

from __future__ import annotations

import shutil
import subprocess

import pytest

from tests.ops.monitoring import ALERTS, ALERTS_TEST, PROMETHEUS_DIR, alert_rules

PROMTOOL = shutil.which("promtool")
if PROMTOOL is None:
    pytest.skip("promtool not installed (Debian package `prometheus`)", allow_module_level=True)


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    assert PROMTOOL is not None
    return subprocess.run(  # noqa: S603 - promtool from PATH, our own file arguments
        [PROMTOOL, *args], cwd=PROMETHEUS_DIR, capture_output=True, text=True, timeout=30,
        check=False,
    )  # fmt: skip


def test_rules_are_valid() -> None:
    """`promtool check rules` accepts alerts.yml and counts every rule in it."""
    done = promtool("check", "rules", ALERTS.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in done.stdout


def test_rule_unit_tests_pass() -> None:
    """`promtool test rules` passes alerts_test.yml, in which every alert fires."""
    done = promtool("test", "rules", ALERTS_TEST.name)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "SUCCESS" in done.stdout


def test_example_scrape_config_is_valid() -> None:
    """`promtool check config` accepts prometheus.example.yml and the rule file it names."""
    done = promtool("check", "config", "prometheus.example.yml")
    assert done.returncode == 0, done.stdout + done.stderr
    assert "is valid prometheus config file syntax" in done.stdout
