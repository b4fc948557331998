"""Settings: the operator contract's variables, precedence and one-line errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from worker.errors import ConfigError
from worker.settings import Settings, load_settings

BASE = {
    "api_url": "http://127.0.0.1:8080/bookyflow/api",
    "client_id": "demo",
    "client_secret": "s3cret-value",
    "channel_name": "acme",
}


def test_environment_variables_fill_nested_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """Nested keys such as BOOKYFLOW_JOBS__ARI__INTERVAL_S reach the job settings."""
    for key, value in BASE.items():
        monkeypatch.setenv(f"BOOKYFLOW_{key.upper()}", value)
    monkeypatch.setenv("BOOKYFLOW_JOBS__ARI__INTERVAL_S", "42")
    settings = load_settings()
    assert settings.jobs.ari.interval_s == 42
    assert settings.requested_scopes == ("read", "write", "delete")


def test_keyword_arguments_beat_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """CLI overrides (keyword arguments) win over environment variables."""
    monkeypatch.setenv("BOOKYFLOW_CHANNEL_NAME", "from-env")
    settings = load_settings(**{**BASE, "channel_name": "from-cli"})
    assert settings.channel_name == "from-cli"


def test_toml_file_is_lowest_precedence_source(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """BOOKYFLOW_CONFIG_FILE supplies values the environment does not."""
    config = tmp_path / "worker.toml"
    config.write_text('channel_name = "from-toml"\nhorizon_days = 30\n', encoding="utf-8")
    monkeypatch.setenv("BOOKYFLOW_CONFIG_FILE", str(config))
    monkeypatch.setenv("BOOKYFLOW_HORIZON_DAYS", "60")
    settings = load_settings(**{k: v for k, v in BASE.items() if k != "channel_name"})
    assert settings.channel_name == "from-toml"
    assert settings.horizon_days == 60


def test_every_problem_is_reported_on_one_line() -> None:
    """Missing and invalid values are all named, by environment variable, in one line."""
    with pytest.raises(ConfigError) as caught:
        load_settings(api_url="ftp://x", log_level="LOUD", timezone="Mars/Base")
    text = str(caught.value)
    assert "\n" not in text
    names = ("API_URL", "CLIENT_ID", "CLIENT_SECRET", "LOG_LEVEL", "TIMEZONE")
    for name in (f"BOOKYFLOW_{n}" for n in names):
        assert name in text


def test_plain_http_refused_for_remote_hosts() -> None:
    """http:// is only accepted for loopback hosts unless explicitly allowed."""
    with pytest.raises(ConfigError, match="ALLOW_INSECURE_HTTP"):
        load_settings(**{**BASE, "api_url": "http://hotel.example/bookyflow/api"})
    allowed = load_settings(
        **{**BASE, "api_url": "http://hotel.example/bookyflow/api", "allow_insecure_http": True}
    )
    assert allowed.base_url == "http://hotel.example/bookyflow/api"


def test_secret_read_from_file_and_hidden_in_repr(tmp_path: Path) -> None:
    """BOOKYFLOW_CLIENT_SECRET_FILE supplies the secret, which never shows in repr."""
    secret_file = tmp_path / "secret"
    secret_file.write_text("file-secret-123\n", encoding="utf-8")
    fields = {k: v for k, v in BASE.items() if k != "client_secret"}
    settings = load_settings(**fields, client_secret_file=str(secret_file))
    assert settings.client_secret.get_secret_value() == "file-secret-123"
    assert "file-secret-123" not in repr(settings)


def test_scopes_accept_commas_and_spaces() -> None:
    """BOOKYFLOW_SCOPES may be space or comma separated."""
    settings = Settings(**{**BASE, "scopes": "read,write  read"})  # type: ignore[arg-type]
    assert settings.requested_scopes == ("read", "write")


def test_size_caps_come_from_their_variables(monkeypatch: pytest.MonkeyPatch) -> None:
    """BOOKYFLOW_INVENTORY_MAX_BYTES and BOOKYFLOW_HTTP__MAX_RESPONSE_BYTES set the two caps."""
    defaults = load_settings(**BASE)
    assert defaults.inventory_max_bytes == 64 * 1024 * 1024
    assert defaults.http.max_response_bytes == 8 * 1024 * 1024
    monkeypatch.setenv("BOOKYFLOW_INVENTORY_MAX_BYTES", "2048")
    monkeypatch.setenv("BOOKYFLOW_HTTP__MAX_RESPONSE_BYTES", "1048576")
    settings = load_settings(**BASE)
    assert settings.inventory_max_bytes == 2048
    assert settings.http.max_response_bytes == 1024 * 1024
    monkeypatch.setenv("BOOKYFLOW_HTTP__MAX_RESPONSE_BYTES", "10")
    with pytest.raises(ConfigError, match="BOOKYFLOW_HTTP__MAX_RESPONSE_BYTES"):
        load_settings(**BASE)
