"""Fuzzing ``load_settings``: any input gives a valid ``Settings`` or one ``ConfigError``.

Inputs come as keyword arguments (what the CLI and TOML values look like after parsing) and as raw
TOML file content named by ``BOOKYFLOW_CONFIG_FILE``. The secret never shows in the error text.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any
from unittest import mock
from urllib.parse import urlsplit

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import fuzz_settings, json_scalars, json_values
from worker.errors import ConfigError
from worker.settings import Settings, is_loopback_host, load_settings

CANARY = "canary-secret-4e1f9b"
BASE: dict[str, Any] = {
    "api_url": "https://hotel.example/bookyflow/api",
    "client_id": "demo",
    "client_secret": CANARY,
    "channel_name": "acme",
    "_env_file": None,  # the developer's .env must not leak into the suite
}
hosts = st.sampled_from(
    ["hotel.example", "localhost", "127.0.0.9", "[::1]", "[::2]", "10.0.0.1", "", "[::1", "h:x"]
)
urls = st.one_of(
    st.builds(
        "{}://{}{}{}".format,
        st.sampled_from(["http", "https", "ftp", "HTTPS", ""]),
        st.sampled_from(["", "user:pw@", "user@"]),
        hosts,
        st.sampled_from(["/bookyflow/api", "", ":99999/x", ":0/", "/a?client_secret=x", "/#f"]),
    ),
    st.text(max_size=30),
    json_scalars,
)
fields: dict[str, st.SearchStrategy[Any]] = {
    "api_url": urls,
    "client_id": json_scalars,
    "client_secret": st.one_of(st.just(""), json_scalars),
    "client_secret_file": st.one_of(json_scalars, st.just("/nonexistent/secret"), st.just("a\0b")),
    "scopes": st.one_of(json_scalars, st.just("read,write  delete")),
    "channel_name": json_scalars,
    "timezone": st.one_of(
        st.text(max_size=30), st.sampled_from(["Europe/Lisbon", "../../etc/passwd", "a" * 5000])
    ),
    "log_level": json_scalars,
    "health_port": json_values,
    "horizon_days": json_values,
    "allow_insecure_http": json_scalars,
    "prune": json_scalars,
    "jobs": json_values,
    "http": st.one_of(json_values, st.fixed_dictionaries({"ca_bundle": json_scalars})),
    "retry": json_values,
    "token": st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"refresh_min_fraction": json_scalars, "refresh_max_fraction": json_scalars}
        ),
    ),
}
overrides = st.dictionaries(st.sampled_from(sorted(fields)), st.none(), max_size=5).flatmap(
    lambda chosen: st.fixed_dictionaries({name: fields[name] for name in chosen})
)


def _load(**changes: Any) -> Settings | ConfigError:
    try:
        return load_settings(**{**BASE, **changes})
    except ConfigError as exc:
        return exc


def _check(outcome: Settings | ConfigError) -> None:
    if isinstance(outcome, ConfigError):
        assert str(outcome).startswith("invalid configuration: ")
        assert CANARY not in str(outcome)
        return
    parts = urlsplit(outcome.api_url)
    assert (
        parts.scheme == "https" or is_loopback_host(parts.hostname) or outcome.allow_insecure_http
    )
    assert CANARY not in repr(outcome)
    assert CANARY not in outcome.model_dump_json()


@fuzz_settings(300)
@given(changes=overrides)
@example(changes={"client_secret": "", "client_secret_file": 5})  # was a TypeError
@example(changes={"api_url": "http://[::1/api"})
def test_any_keyword_settings_validate_or_raise_config_error(changes: dict[str, Any]) -> None:
    """Every combination of keyword values gives Settings or one ConfigError without the secret."""
    _check(_load(**changes))


@pytest.fixture(scope="module")
def toml_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("toml") / "worker.toml"


toml_texts = st.one_of(
    st.binary(max_size=60),
    st.text(max_size=60).map(str.encode),
    st.sampled_from(
        [
            b"api_url = ",
            b"\xef\xbb\xbfchannel_name = 'x'",
            b"client_secret_file = 5",
            b"[http]\nca_bundle = [1, 2]",
            b"[jobs.ari]\ninterval_s = -1",
            b"horizon_days = 1e999",
            b"timezone = 'Nowhere/Never'",
        ]
    ),
)


@fuzz_settings(150)
@given(content=toml_texts)
@example(content=b"api_url = ")  # was an unhandled TOMLDecodeError
@example(content=b"\xff\xfe")  # was an unhandled UnicodeDecodeError
def test_any_toml_file_validates_or_raises_config_error(toml_path: Path, content: bytes) -> None:
    """A config file of any content gives Settings or one ConfigError, never a traceback."""
    toml_path.write_bytes(content)
    fields_only = {k: v for k, v in BASE.items() if k != "channel_name"}
    with mock.patch.dict(os.environ, {"BOOKYFLOW_CONFIG_FILE": str(toml_path)}):
        _check(_load(**fields_only))
