"""``BOOKYFLOW_INVENTORY=https://...``: the settings rule and the wiring (a job: tests/sync)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from worker.errors import ConfigError
from worker.inventory.http_source import HttpInventorySource
from worker.settings import Settings, load_settings
from worker.vendor_io import make_source

BASE: dict[str, Any] = {
    "api_url": "http://127.0.0.1:8080/bookyflow/api",
    "client_id": "demo",
    "client_secret": "s3cret-value",
    "channel_name": "acme",
}


def test_an_https_inventory_names_the_http_source(monkeypatch: pytest.MonkeyPatch) -> None:
    """The URL keeps its ``//`` (it is not a path), and make_source builds the HTTP source."""
    for key, value in BASE.items():
        monkeypatch.setenv(f"BOOKYFLOW_{key.upper()}", value)
    monkeypatch.setenv("BOOKYFLOW_INVENTORY", "https://vendor.example/inventory.json")
    monkeypatch.setenv("BOOKYFLOW_INVENTORY_TOKEN_FILE", "/run/secrets/inventory-token")
    settings = load_settings()
    assert settings.inventory is None
    assert settings.inventory_url == "https://vendor.example/inventory.json"
    source = make_source(settings)
    assert isinstance(source, HttpInventorySource)
    assert source.token_file == Path("/run/secrets/inventory-token")


def test_plain_http_is_for_loopback_or_when_allowed() -> None:
    """The API URL's rule: http to another host needs BOOKYFLOW_ALLOW_INSECURE_HTTP."""
    with pytest.raises(ConfigError, match="inventory uses plain http"):
        load_settings(**BASE, inventory="http://vendor.example/inventory.json")
    allowed = Settings(
        **BASE, inventory="http://vendor.example/inventory.json", allow_insecure_http=True
    )
    assert allowed.inventory_url == "http://vendor.example/inventory.json"
    assert Settings(**BASE, inventory="http://127.0.0.1:9/i.json").inventory_url is not None


def test_credentials_in_the_inventory_url_are_refused() -> None:
    """User info in the URL would be logged and sent everywhere: the token file is the way."""
    with pytest.raises(ConfigError, match="BOOKYFLOW_INVENTORY_TOKEN_FILE"):
        load_settings(**BASE, inventory="https://user:pw@vendor.example/inventory.json")


def test_a_path_stays_a_path() -> None:
    """A file path is untouched: the file source, as before."""
    settings = Settings(**BASE, inventory="config/inventory.example.json")
    assert settings.inventory == Path("config/inventory.example.json")
    assert settings.inventory_url is None
