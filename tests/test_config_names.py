"""Unknown setting names (``worker.config_names``): what is refused, warned or left alone."""

from __future__ import annotations

from worker.config_names import did_you_mean, scan_names
from worker.settings import Settings


def scan(
    environ: dict[str, str], toml: dict[str, object] | None = None
) -> tuple[list[str], list[str]]:
    report = scan_names(Settings, environ=environ, dotenv={}, toml=toml, toml_name="w.toml")
    return report.refused, [name for name, _ in report.warnings]


def test_close_names_are_refused_and_far_ones_warned() -> None:
    """HORIZN_DAYS is refused with its likely name; a name like no setting is only a warning."""
    refused, warned = scan({"BOOKYFLOW_HORIZN_DAYS": "3", "BOOKYFLOW_ZZZ": "1", "HOME": "/"})
    assert refused == [
        "unknown setting BOOKYFLOW_HORIZN_DAYS (did you mean BOOKYFLOW_HORIZON_DAYS?)"
    ]
    assert warned == ["BOOKYFLOW_ZZZ"]


def test_a_single_underscore_for_a_nested_key_is_caught() -> None:
    """BOOKYFLOW_JOBS_ARI_INTERVAL_S (one underscore) points at the double-underscore name."""
    refused, _ = scan({"BOOKYFLOW_JOBS_ARI_INTERVAL_S": "60"})
    assert refused == [
        "unknown setting BOOKYFLOW_JOBS_ARI_INTERVAL_S"
        " (did you mean BOOKYFLOW_JOBS__ARI__INTERVAL_S?)"
    ]


def test_valid_names_and_other_tools_variables_pass() -> None:
    """Every Settings name (nested too), the config file variable and Kubernetes links pass."""
    environ = {
        "BOOKYFLOW_API_URL": "x",
        "bookyflow_client_id": "x",  # case-insensitive like Settings
        "BOOKYFLOW_JOBS__ARI__INTERVAL_S": "1",
        "BOOKYFLOW_WEBHOOK__SECRET_FILE": "x",
        "BOOKYFLOW_CONFIG_FILE": "x",
        "BOOKYFLOW_LIVE_KEEP": "1",
        "BOOKYFLOW_SERVICE_HOST": "10.0.0.1",  # a Service named just "bookyflow"
        "BOOKYFLOW_PORT": "tcp://10.0.0.1:80",
        "BOOKYFLOW_METRICS_PORT_9090_UDP_PROTO": "udp",
    }
    assert scan(environ) == ([], [])


def test_toml_tables_are_checked_key_by_key() -> None:
    """A table's unknown key is refused even when far from any name (its model forbids it)."""
    toml = {"http": {"zzz": 1, "read_timeout_s": 3}, "jobs": {"ari": {"enabled": False}}, "x": 1}
    refused, warned = scan({}, toml)
    assert refused == ["unknown setting http.zzz in w.toml"]
    assert warned == ["x"]


def test_did_you_mean_only_suggests_close_names() -> None:
    """The suggestion is a real path, and nothing is suggested for a name unlike any."""
    assert did_you_mean(Settings, ("retry", "max_atempts")) == ("retry", "max_attempts")
    assert did_you_mean(Settings, ("completely", "different")) is None
