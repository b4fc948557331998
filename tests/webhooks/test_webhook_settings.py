"""Configuration of the webhook sink: what BOOKYFLOW_SINK=webhook needs, and how it is wired."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.webhooks.support import SECRET
from worker.api.client import ClientStats
from worker.errors import ConfigError
from worker.inventory.sink import JsonLinesBookingSink
from worker.inventory.webhook import WebhookSink
from worker.logging import redactor
from worker.metrics import WorkerMetrics
from worker.settings import Settings, load_settings
from worker.state import StateStore
from worker.vendor_io import make_sink

BASE: dict[str, Any] = {
    "api_url": "http://127.0.0.1:8080/bookyflow/api",
    "client_id": "demo",
    "client_secret": "s3cret-value",
    "channel_name": "acme",
}


def secret_file(tmp_path: Path, value: str = SECRET) -> Path:
    path = tmp_path / "webhook.secret"
    path.write_text(value + "\n", encoding="utf-8")
    return path


def test_environment_names_the_endpoint_and_the_secret_file(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """BOOKYFLOW_WEBHOOK__URL, __SECRET_FILE and __MAX_AGE_S reach the webhook settings."""
    for key, value in BASE.items():
        monkeypatch.setenv(f"BOOKYFLOW_{key.upper()}", value)
    monkeypatch.setenv("BOOKYFLOW_SINK", "webhook")
    monkeypatch.setenv("BOOKYFLOW_WEBHOOK__URL", "https://vendor.example/hooks?route=a")
    monkeypatch.setenv("BOOKYFLOW_WEBHOOK__SECRET_FILE", str(secret_file(tmp_path)))
    monkeypatch.setenv("BOOKYFLOW_WEBHOOK__MAX_AGE_S", "3600")
    settings = load_settings()
    assert settings.webhook.url == "https://vendor.example/hooks?route=a"
    assert settings.webhook.secret is not None
    assert settings.webhook.secret.get_secret_value() == SECRET
    assert settings.webhook.max_age_s == 3600
    assert SECRET not in repr(settings)


def test_defaults_keep_the_file_sink_and_a_day_of_retries() -> None:
    """Without BOOKYFLOW_SINK nothing needs a webhook; its age limit defaults to 24 hours."""
    settings = load_settings(**BASE)
    assert settings.sink is None
    assert settings.webhook.max_age_s == 24 * 3600
    assert settings.webhook.max_delay_s == 60


@pytest.mark.parametrize(
    ("webhook", "message"),
    [
        ({}, "needs BOOKYFLOW_WEBHOOK__URL and BOOKYFLOW_WEBHOOK__SECRET_FILE"),
        ({"url": "https://vendor.example/h"}, "needs BOOKYFLOW_WEBHOOK__SECRET_FILE"),
        ({"url": "http://vendor.example/h", "secret": SECRET}, "plain http to a non-loopback"),
        ({"url": "ftp://vendor.example/h", "secret": SECRET}, "BOOKYFLOW_WEBHOOK__URL: must be"),
        ({"url": "https://u:p@vendor.example/h", "secret": SECRET}, "must not carry credentials"),
        ({"url": "https://vendor.example/h", "secret": "whsec_c2hvcnQ="}, "Standard Webhooks"),
        ({"url": "https://vendor.example/h", "secret": SECRET[6:]}, "Standard Webhooks"),
        ({"url": "https://vendor.example/h", "secret": "whsec_!!!notbase64!!!"}, "base64"),
    ],
)
def test_problems_are_one_readable_line(webhook: dict[str, str], message: str) -> None:
    """Each mistake names the variable to fix, and no message repeats the secret."""
    with pytest.raises(ConfigError) as refused:
        load_settings(**BASE, sink="webhook", webhook=webhook)
    assert message in str(refused.value)
    assert SECRET not in str(refused.value)
    assert "whsec_!!!" not in str(refused.value)


def test_plain_http_is_for_loopback_or_when_allowed() -> None:
    """The API URL's rule: http to 127.0.0.1 is fine, elsewhere only with the explicit flag."""
    local = {"url": "http://127.0.0.1:9000/h", "secret": SECRET}
    assert load_settings(**BASE, sink="webhook", webhook=local).webhook.url == local["url"]
    remote = {"url": "http://vendor.example/h", "secret": SECRET}
    allowed = load_settings(**BASE, sink="webhook", webhook=remote, allow_insecure_http=True)
    assert allowed.webhook.url == remote["url"]


def test_an_unreadable_secret_file_is_a_config_error(tmp_path: Path) -> None:
    """A missing secret file is reported with its path, like the client secret's."""
    webhook = {"url": "https://v.example/h", "secret_file": str(tmp_path / "nope")}
    with pytest.raises(ConfigError, match=r"secret_file .*nope cannot be read"):
        load_settings(**BASE, sink="webhook", webhook=webhook)


async def test_make_sink_chooses_by_setting(tmp_path: Path) -> None:
    """``file`` and no setting give the JSON-lines sink; ``webhook`` the outbox sink, which
    reports to the metrics, registers its secret with the redactor, and needs the state store."""
    state = await StateStore.open(tmp_path / "state")
    metrics = WorkerMetrics({})
    try:
        for sink_setting in (None, "file"):
            settings = Settings(**BASE, sink=sink_setting, state_dir=tmp_path / "state")
            plain = await make_sink(settings, state=state)
            assert isinstance(plain, JsonLinesBookingSink)
            await plain.close()
        webhook = {"url": "https://vendor.example/h", "secret": SECRET}
        settings = Settings(**BASE, sink="webhook", webhook=webhook, state_dir=tmp_path / "state")
        with pytest.raises(ConfigError, match="state store"):
            await make_sink(settings)
        sink = await make_sink(settings, state=state, metrics=metrics)
        try:
            assert isinstance(sink, WebhookSink)
            assert "vendor.example" in repr(sink)
            assert metrics.snapshot(ClientStats(), ready=True)["webhooks"]["pending"] == 0
            assert redactor.redact_text(f"leak {SECRET}") == "leak [REDACTED]"
        finally:
            await sink.close()
    finally:
        await state.close()
