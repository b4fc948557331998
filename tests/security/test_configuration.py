"""Configuration controls: https unless loopback or allowed, no credentials in the URL, secrets
from files, and an image that runs as non-root with every write in the state directory."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from worker.errors import ConfigError
from worker.settings import load_settings

ROOT = Path(__file__).resolve().parents[2]
FIELDS = {"client_id": "demo", "channel_name": "acme", "_env_file": None}
WITH_SECRET = {**FIELDS, "client_secret": "canary-secret-77c1"}


@pytest.mark.parametrize(
    "host",
    [
        "hotel.example",
        "10.0.0.1",
        "[::2]",
        "localhost.evil.example",
        "127.0.0.1.nip.io",
        "0.0.0.0",  # noqa: S104 - a URL host under test, not a bind address
    ],
)
def test_plain_http_to_a_remote_host_is_refused(host: str) -> None:
    """http:// to anything but a loopback address is a ConfigError naming the opt-in variable."""
    with pytest.raises(ConfigError, match="BOOKYFLOW_ALLOW_INSECURE_HTTP"):
        load_settings(api_url=f"http://{host}/bookyflow/api", **WITH_SECRET)


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "127.8.9.10", "[::1]"])
def test_plain_http_to_loopback_is_accepted(host: str) -> None:
    """Loopback (the sandbox, a sidecar proxy) may use plain http without opting in."""
    assert (
        load_settings(api_url=f"http://{host}:8080/api", **WITH_SECRET).allow_insecure_http is False
    )


def test_allow_insecure_http_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """``BOOKYFLOW_ALLOW_INSECURE_HTTP=true`` is the explicit opt-in for remote plain http."""
    monkeypatch.setenv("BOOKYFLOW_ALLOW_INSECURE_HTTP", "true")
    settings = load_settings(api_url="http://hotel.example/bookyflow/api", **WITH_SECRET)
    assert settings.allow_insecure_http is True


@pytest.mark.parametrize(
    "url",
    [
        "https://demo:canary-secret-77c1@hotel.example/api",
        "https://hotel.example/api?client_secret=canary-secret-77c1",
        "https://hotel.example/api?access_token=abc",
    ],
)
def test_credentials_or_a_query_in_the_api_url_are_refused(url: str) -> None:
    """userinfo and query strings are refused, and the error does not echo the secret."""
    with pytest.raises(ConfigError) as info:
        load_settings(api_url=url, **WITH_SECRET)
    assert "canary-secret-77c1" not in str(info.value)


def test_secret_file_from_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """``BOOKYFLOW_CLIENT_SECRET_FILE`` supplies the secret (trailing newline dropped)."""
    secret_file = tmp_path / "client_secret"
    secret_file.write_text("file-secret-9a8b\n", encoding="utf-8")
    monkeypatch.setenv("BOOKYFLOW_CLIENT_SECRET_FILE", str(secret_file))
    settings = load_settings(api_url="https://hotel.example/api", **FIELDS)
    assert settings.client_secret.get_secret_value() == "file-secret-9a8b"
    assert "file-secret-9a8b" not in repr(settings)


def test_unreadable_secret_file_is_a_config_error(monkeypatch: pytest.MonkeyPatch) -> None:
    """A missing secret file is named in a ConfigError (exit 78), not a traceback."""
    monkeypatch.setenv("BOOKYFLOW_CLIENT_SECRET_FILE", "/nonexistent/client_secret")
    with pytest.raises(ConfigError, match="client_secret_file"):
        load_settings(api_url="https://hotel.example/api", **FIELDS)


def test_secret_from_a_docker_secrets_directory(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A file ``bookyflow_client_secret`` in the secrets directory (``/run/secrets``) is read."""
    (tmp_path / "bookyflow_client_secret").write_text("docker-secret-5d4c", encoding="utf-8")
    monkeypatch.setattr("worker.settings.SECRETS_DIR", tmp_path)
    settings = load_settings(api_url="https://hotel.example/api", **FIELDS)
    assert settings.client_secret.get_secret_value() == "docker-secret-5d4c"


def _dockerfile() -> str:
    return (ROOT / "Dockerfile").read_text(encoding="utf-8")


def test_image_runs_as_a_numeric_non_root_user() -> None:
    """The final USER is a numeric uid other than 0 (Kubernetes runAsNonRoot can verify it)."""
    users = re.findall(r"^USER\s+(\S+)", _dockerfile(), flags=re.MULTILINE)
    assert users
    assert users[-1].isdigit()
    assert int(users[-1]) != 0


def test_image_writes_only_to_the_state_volume() -> None:
    """State dir is the volume, bytecode is not written, so the root filesystem can be read-only."""
    text = _dockerfile()
    state_dir = re.search(r"BOOKYFLOW_STATE_DIR=(\S+)", text)
    assert state_dir
    assert f'VOLUME ["{state_dir.group(1)}"]' in text
    assert "PYTHONDONTWRITEBYTECODE=1" in text
    settings = load_settings(
        api_url="https://hotel.example/api", state_dir=state_dir.group(1), **WITH_SECRET
    )
    assert settings.bookings_path.is_relative_to(settings.state_dir)


def test_image_installs_from_the_pinned_lock() -> None:
    """The image copies requirements.lock and installs through the script that uses it."""
    text = _dockerfile()
    assert re.search(r"^COPY .*requirements\.lock", text, flags=re.MULTILINE)
    assert "scripts/bootstrap.sh" in text
    assert "requirements.lock" in (ROOT / "scripts" / "bootstrap.sh").read_text(encoding="utf-8")
