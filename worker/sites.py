"""Which sites this process serves: the single-site settings, or the TOML ``[[sites]]`` list.

Without ``sites`` nothing changes: ``Settings`` is loaded as always (same required fields, same
errors). With ``sites`` in the file named by ``BOOKYFLOW_CONFIG_FILE``, every ``[[sites]]``
table becomes its own ``Settings``: its keys win, anything it does not set is inherited from the
top level (environment, ``.env``, secret files, the TOML file's top-level keys, defaults). Each
site gets its own state directory, ``<state_dir>/<label>``, where the label is the site's
``name`` or a stable hash of its API URL. Process-wide keys (logging, health port, state root,
grace period, sharding) can only be set at the top level.

Sharding (``worker.sharding``): with many sites, whole sites are assigned to shards by API URL;
with one site, its properties are (by remote uid, inside ``Worker``). Either way a shard keeps its
own state root, ``<state_dir>/shard-<index>``, when there is more than one shard.

Every problem of every site is reported at once, on one line, with the site's index:
``sites[3].client_secret: Field required``.
"""

from __future__ import annotations

import difflib
import hashlib
import os
import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from worker.config_names import CUTOFF, NameReport
from worker.errors import ConfigError
from worker.settings import (
    ENV_PREFIX,
    Settings,
    StateLocation,
    describe_error,
    describe_validation_error,
    read_toml,
    scan_setting_names,
    settings_from,
    warn_unknown,
)
from worker.sharding import ShardFilter, shard_index_from

__all__ = [
    "Deployment",
    "SiteSettings",
    "deployment_from",
    "load_deployment",
    "shard_root",
    "site_label",
    "state_root",
]

# Keys a [[sites]] table may set; the rest of Settings is process-wide.
SITE_KEYS = frozenset(
    {
        "name", "api_url", "client_id", "client_secret", "client_secret_file", "scopes",
        "channel_name", "channel_friendly_name", "inventory", "bookings_file", "source", "sink",
        "jobs", "horizon_days", "prune", "timezone", "allow_insecure_http", "http", "retry",
        "token", "change_poll_s", "change_window_s",
    }
)  # fmt: skip
_LABEL = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")


@dataclass(frozen=True)
class SiteSettings:
    """One site: a label for logs, metrics and its state directory, and its own ``Settings``."""

    label: str
    settings: Settings

    def __repr__(self) -> str:
        return f"SiteSettings({self.label!r}, site={self.settings.base_url!r})"


@dataclass(frozen=True)
class Deployment:
    """What this process runs: process-wide settings and this shard's sites.

    ``process`` carries the process-wide values (logging, health port, this shard's state root,
    grace period). ``multi`` is True when ``[[sites]]`` is configured; then ``process`` is not a
    site of its own.
    """

    process: Settings
    sites: tuple[SiteSettings, ...]
    multi: bool


def shard_root(state_dir: Path, shard_count: int, shard_index: int) -> Path:
    """A shard's own state root: ``<state_dir>/shard-<index>`` when there is more than one."""
    return state_dir if shard_count <= 1 else state_dir / f"shard-{shard_index}"


def env_shard_root(state_dir: Path, environ: Mapping[str, str] = os.environ) -> Path:
    """``shard_root`` from ``BOOKYFLOW_SHARD_COUNT``/``_INDEX`` (for ``healthcheck``)."""
    try:
        count = int(environ.get(f"{ENV_PREFIX}SHARD_COUNT", "1"))
        index = shard_index_from(environ.get(f"{ENV_PREFIX}SHARD_INDEX", "0"))
    except ValueError:
        return state_dir
    return shard_root(state_dir, count, index)


def state_root() -> Path:
    """This shard's state root alone, from the same sources as ``Settings`` (``healthcheck``)."""
    try:
        where = StateLocation()
    except ValidationError as exc:
        raise ConfigError(f"invalid configuration: {describe_validation_error(exc)}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(f"invalid configuration: cannot read the configuration: {exc}") from None
    return shard_root(where.state_dir, where.shard_count, where.shard_index)


def site_label(api_url: str) -> str:
    """The label of a site without a ``name``: stable across processes and releases."""
    digest = hashlib.blake2b(api_url.rstrip("/").encode(), digest_size=5).hexdigest()
    return f"site-{digest}"


def _sites_table(config_file: str | None) -> list[Any] | None:
    """The raw ``sites`` list of the TOML file, or None when there is none."""
    if not config_file or not Path(config_file).is_file():
        return None  # load_settings reports a missing file
    sites = (read_toml(config_file) or {}).get("sites")
    if sites is None:
        return None
    return sites if isinstance(sites, list) else [sites]


def load_deployment(**overrides: Any) -> Deployment:
    """The process's sites (this shard's), or a ``ConfigError`` naming every problem.

    Misspelt setting names are refused, other unknown ones warned about
    (``worker.config_names``); the ``[[sites]]`` tables' own keys are checked here.
    """
    return deployment_from(overrides)


def deployment_from(overrides: Mapping[str, Any], *, check_names: bool = True) -> Deployment:
    """``load_deployment``; without ``check_names`` unknown names are not looked for."""
    tables = _sites_table(os.environ.get(f"{ENV_PREFIX}CONFIG_FILE"))
    if tables is None:
        settings = settings_from(overrides, check_names=check_names)
        root = shard_root(settings.state_dir, settings.shard_count, settings.shard_index)
        single = settings.model_copy(update={"state_dir": root})
        return Deployment(single, (SiteSettings("default", single),), multi=False)
    names = scan_setting_names(also_top=frozenset({"sites"})) if check_names else NameReport()
    try:
        sites = expand_sites(tables, overrides)
    except ConfigError as exc:
        if not names.refused:
            raise
        detail = str(exc).removeprefix("invalid configuration: ")
        raise ConfigError(f"invalid configuration: {'; '.join([*names.refused, detail])}") from None
    if names.refused:
        raise ConfigError(f"invalid configuration: {'; '.join(names.refused)}")
    warn_unknown(names)
    process = sites[0].settings
    root = shard_root(process.state_dir, process.shard_count, process.shard_index)
    shard = ShardFilter.from_settings(process)
    mine = tuple(
        SiteSettings(site.label, _site_copy(site.settings, root / site.label))
        for site in sites
        if shard.owns_site(site.settings.base_url)
    )
    return Deployment(process.model_copy(update={"state_dir": root}), mine, multi=True)


def _site_copy(settings: Settings, state_dir: Path) -> Settings:
    """A site's settings as its ``Worker`` sees them: own state dir, no shard, no health port."""
    update = {"state_dir": state_dir, "shard_count": 1, "shard_index": 0, "health_port": 0}
    return settings.model_copy(update=update)


def expand_sites(tables: Sequence[Any], overrides: Mapping[str, Any]) -> list[SiteSettings]:
    """Every ``[[sites]]`` table as ``SiteSettings`` (state dirs not yet placed), or raise."""
    problems: list[str] = []
    sites: dict[int, SiteSettings] = {}
    if not tables:
        problems.append("sites: is empty (leave it out to configure a single site)")
    for index, table in enumerate(tables):
        site = _expand_one(index, table, overrides, problems)
        if site is not None:
            sites[index] = site
    _check_distinct(sites, problems)
    if problems:
        raise ConfigError(f"invalid configuration: {'; '.join(dict.fromkeys(problems))}")
    return list(sites.values())


def _expand_one(
    index: int, table: Any, overrides: Mapping[str, Any], problems: list[str]
) -> SiteSettings | None:
    where = f"sites[{index}]"
    if not isinstance(table, dict):
        problems.append(f"{where}: must be a table ([[sites]])")
        return None
    bad = [key for key in table if key not in SITE_KEYS]
    problems += [f"{where}.{key}: {_why_not(key)}" for key in bad]
    name = table.get("name")
    if name is not None and not (isinstance(name, str) and _LABEL.match(name)):
        problems.append(f"{where}.name: must be 1-64 letters, digits, '.', '_' or '-'")
        return None
    values = {key: value for key, value in table.items() if key in SITE_KEYS - {"name"}}
    if "client_secret_file" in values and "client_secret" not in values:
        # The site's own file wins over an inherited secret (Settings reads it when unset).
        values["client_secret"] = None
    try:
        settings = Settings(**{**values, **overrides})
    except ValidationError as exc:
        problems += [_describe(where, table, error) for error in exc.errors()]
        return None
    if bad:
        return None
    return SiteSettings(name or site_label(settings.base_url), settings)


def _why_not(key: str) -> str:
    if key in Settings.model_fields:
        return "is process-wide; set it at the top level"
    guess = difflib.get_close_matches(key, SITE_KEYS, n=1, cutoff=CUTOFF)
    return "is not a site setting" + (f" (did you mean {guess[0]}?)" if guess else "")


def _describe(where: str, table: Mapping[str, Any], error: Any) -> str:
    """A site's own key is named ``sites[i].key``; an inherited one by its top-level name."""
    loc: tuple[int | str, ...] = error["loc"]
    if loc and (loc[0] in table or error["type"] == "missing"):
        return describe_error(error, lambda path: f"{where}.{'.'.join(map(str, path))}")
    if not loc:
        return f"{where}: {str(error['msg']).removeprefix('Value error, ')}"
    return describe_error(error)


def _check_distinct(sites: Mapping[int, SiteSettings], problems: list[str]) -> None:
    """Two sites must not share a label (their state) or a bookings file (their deliveries)."""
    labels: dict[str, int] = {}
    bookings: dict[Path, str] = {}
    for index, site in sites.items():
        if site.label in labels:
            problems.append(
                f"sites[{index}].name: label {site.label!r} is already used by another site "
                "(sites on the same API URL need distinct names)"
            )
        labels.setdefault(site.label, index)
        path = site.settings.bookings_file
        if path is not None and path in bookings:
            problems.append(
                f"sites[{index}].bookings_file: {path} is also used by site {bookings[path]!r}"
            )
        if path is not None:
            bookings.setdefault(path, site.label)
