"""``[[sites]]``: each table is its own Settings, inheriting the top level; errors name it."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from worker.errors import ConfigError
from worker.sites import env_shard_root, load_deployment, shard_root, site_label

TOP = """
channel_name = "acme"
client_id = "vendor"
client_secret = "top-secret-value"
state_dir = "{state}"
[jobs.ari]
interval_s = 42
"""


def _config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, sites: str, top: str = TOP) -> Path:
    path = tmp_path / "worker.toml"
    path.write_text(top.format(state=tmp_path / "state") + sites, encoding="utf-8")
    monkeypatch.setenv("BOOKYFLOW_CONFIG_FILE", str(path))
    return path


def _site(n: int, extra: str = "") -> str:
    return f'\n[[sites]]\napi_url = "http://127.0.0.1:{8000 + n}/bookyflow/api"\n{extra}\n'


def test_without_sites_the_single_site_errors_are_unchanged(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No ``sites``: the top-level site fields stay required, named by their variables."""
    _config(tmp_path, monkeypatch, "", top='state_dir = "{state}"\n')
    with pytest.raises(ConfigError) as caught:
        load_deployment()
    assert "BOOKYFLOW_API_URL: Field required" in str(caught.value)
    assert "BOOKYFLOW_CLIENT_ID: Field required" in str(caught.value)


def test_a_single_site_is_one_default_site_with_the_shard_state_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One site, three shards: shard 2 keeps its state under ``<state_dir>/shard-2``."""
    _config(tmp_path, monkeypatch, "", top='api_url = "http://127.0.0.1:1/bookyflow/api"\n' + TOP)
    monkeypatch.setenv("BOOKYFLOW_SHARD_COUNT", "3")
    monkeypatch.setenv("BOOKYFLOW_SHARD_INDEX", "worker-2")
    deployment = load_deployment()
    assert not deployment.multi
    (site,) = deployment.sites
    assert site.settings.state_dir == tmp_path / "state" / "shard-2"
    assert site.settings.shard_count == 3  # its properties are sharded inside the Worker


def test_each_site_inherits_what_it_does_not_set(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sites take the top-level values they leave out, their own win, each has a state dir."""
    secret_file = tmp_path / "bravo.secret"
    secret_file.write_text("bravo-secret-value\n", encoding="utf-8")
    sites = _site(1, 'name = "alpha"\nchannel_name = "alpha-channel"') + _site(
        2, f'client_secret_file = "{secret_file}"\n[sites.jobs.ari]\ninterval_s = 7'
    )
    _config(tmp_path, monkeypatch, sites)
    deployment = load_deployment()
    alpha, bravo = deployment.sites
    assert deployment.multi
    assert (alpha.label, alpha.settings.channel_name) == ("alpha", "alpha-channel")
    assert alpha.settings.client_secret.get_secret_value() == "top-secret-value"
    assert alpha.settings.jobs.ari.interval_s == 42
    assert bravo.label == site_label("http://127.0.0.1:8002/bookyflow/api")
    assert bravo.settings.client_secret.get_secret_value() == "bravo-secret-value"
    assert (bravo.settings.channel_name, bravo.settings.jobs.ari.interval_s) == ("acme", 7)
    assert alpha.settings.state_dir == tmp_path / "state" / "alpha"
    assert bravo.settings.bookings_path == tmp_path / "state" / bravo.label / "bookings.jsonl"
    assert deployment.process.state_dir == tmp_path / "state"
    assert "secret-value" not in repr(deployment)


def test_a_site_may_watch_its_inventory_on_its_own_terms(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``change_poll_s`` and ``change_window_s`` are a site's own (0: the schedule only)."""
    sites = _site(1, "change_poll_s = 0") + _site(2, "change_window_s = 5")
    _config(tmp_path, monkeypatch, sites)
    polled, pushed = load_deployment().sites
    assert (polled.settings.change_poll_s, polled.settings.change_window_s) == (0, 2)
    assert (pushed.settings.change_poll_s, pushed.settings.change_window_s) == (1, 5)


def test_every_problem_of_every_site_is_reported_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """One line names each site's problem by index, and an inherited one by its variable."""
    sites = (
        _site(0)
        + '\n[[sites]]\nclient_id = "x"\n'
        + _site(2, "horizon_days = 0\nlog_level = 'DEBUG'\nprice = 3")
        + _site(3, f'client_secret_file = "{tmp_path}/missing"')
    )
    _config(tmp_path, monkeypatch, sites, top='timezone = "Mars/Base"\n' + TOP)
    with pytest.raises(ConfigError) as caught:
        load_deployment()
    message = str(caught.value)
    assert "\n" not in message
    assert "sites[1].api_url: Field required" in message
    assert "sites[2].horizon_days: Input should be greater than or equal to 1" in message
    assert "sites[2].log_level: is process-wide; set it at the top level" in message
    assert "sites[2].price: is not a site setting" in message
    assert "sites[3]: client_secret_file" in message
    assert "cannot be read" in message
    assert message.count("BOOKYFLOW_TIMEZONE: 'Mars/Base' is not an IANA zone name") == 1


def test_sites_on_one_url_need_distinct_names(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two unnamed sites on one API URL would share a state dir: that is refused."""
    _config(tmp_path, monkeypatch, _site(1, 'client_id = "a"') + _site(1, 'client_id = "b"'))
    with pytest.raises(ConfigError, match=r"sites\[1\]\.name: label 'site-"):
        load_deployment()


def test_three_shards_take_every_site_exactly_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Sites are assigned by API URL: three shards over the same file partition the sites."""
    _config(tmp_path, monkeypatch, "".join(_site(n) for n in range(30)))
    monkeypatch.setenv("BOOKYFLOW_SHARD_COUNT", "3")
    taken: Counter[str] = Counter()
    for index in range(3):
        monkeypatch.setenv("BOOKYFLOW_SHARD_INDEX", str(index))
        deployment = load_deployment()
        assert deployment.process.state_dir == tmp_path / "state" / f"shard-{index}"
        for site in deployment.sites:
            assert site.settings.state_dir == tmp_path / "state" / f"shard-{index}" / site.label
            assert site.settings.shard_count == 1  # a site is whole on its shard
        taken.update(site.label for site in deployment.sites)
    assert len(taken) == 30
    assert set(taken.values()) == {1}


def test_the_healthcheck_finds_the_shard_state_root() -> None:
    """``healthcheck`` reads the same shard root the worker writes its heartbeat to."""
    assert shard_root(Path("s"), 1, 0) == Path("s")
    env = {"BOOKYFLOW_SHARD_COUNT": "4", "BOOKYFLOW_SHARD_INDEX": "worker-3"}
    assert env_shard_root(Path("s"), env) == Path("s/shard-3")
    assert env_shard_root(Path("s"), {"BOOKYFLOW_SHARD_COUNT": "x"}) == Path("s")
