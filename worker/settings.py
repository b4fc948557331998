"""One ``Settings`` object, built once at start-up and passed down.

Sources, highest precedence first: keyword arguments (the CLI) > ``BOOKYFLOW_*`` environment
variables (nested keys with ``__``) > ``.env`` > secret files in ``/run/secrets`` > the TOML file
named by ``BOOKYFLOW_CONFIG_FILE`` > defaults. ``load_settings`` turns every validation problem into
one readable line (naming the environment variable to fix) inside a ``ConfigError``.
"""

from __future__ import annotations

import base64
import ipaddress
import os
import tomllib
from collections.abc import Callable, Mapping, Sequence, Set
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dotenv import dotenv_values
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SecretsSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

from worker.backoff import Backoff
from worker.config_names import NameReport, did_you_mean, scan_names
from worker.errors import ConfigError
from worker.logging import get_logger
from worker.scopes import KNOWN_SCOPES, PRUNE_SCOPES, parse_scopes

ENV_PREFIX = "BOOKYFLOW_"
SECRETS_DIR = Path("/run/secrets")
JOB_NAMES = ("properties", "ari", "reservations", "bookings")
_URL_SCHEMES = ("http://", "https://")
log = get_logger("worker.settings")


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class JobSettings(_Frozen):
    enabled: bool = True
    interval_s: float = Field(gt=0)


class JobsSettings(_Frozen):
    """Per-job schedule; intervals are polite for shared PHP hosts."""

    properties: JobSettings = JobSettings(interval_s=600)
    ari: JobSettings = JobSettings(interval_s=300)
    reservations: JobSettings = JobSettings(interval_s=60)
    bookings: JobSettings = JobSettings(interval_s=120)

    def enabled(self) -> tuple[str, ...]:
        return tuple(name for name in JOB_NAMES if getattr(self, name).enabled)


MIB = 1024 * 1024


class HttpSettings(_Frozen):
    """Timeouts per attempt, connection pool, the polite per-site rate limit, the body cap.

    ``max_response_bytes`` bounds every answer *after* decompression, so memory per request is
    bounded whatever the server sends: without it a 2 MB gzip body inflating to 2 GiB took the
    worker to 6.4 GB (issue 11). Raise it for a site whose bookings list really is that large.
    """

    connect_timeout_s: float = Field(5.0, gt=0)
    read_timeout_s: float = Field(30.0, gt=0)
    total_timeout_s: float = Field(60.0, gt=0)
    max_connections_per_host: int = Field(4, ge=1)
    rate_limit_per_s: float = Field(5.0, gt=0)
    rate_limit_burst: int = Field(5, ge=1)
    max_response_bytes: int = Field(8 * MIB, ge=64 * 1024)
    ca_bundle: Path | None = None


class RetrySettings(_Frozen):
    """Full-jitter backoff bounded by attempts and total time; AWS-style retry budget; breaker."""

    max_attempts: int = Field(5, ge=1)
    max_total_s: float = Field(120.0, gt=0)
    base_delay_s: float = Field(0.5, gt=0)
    max_delay_s: float = Field(30.0, gt=0)
    retry_after_cap_s: float = Field(300.0, gt=0)
    budget_tokens: int = Field(500, ge=0)
    budget_retry_cost: int = Field(5, ge=0)
    budget_timeout_cost: int = Field(10, ge=0)
    budget_success_refund: int = Field(1, ge=0)
    breaker_failure_threshold: int = Field(5, ge=1)
    breaker_reset_s: float = Field(30.0, gt=0)

    def backoff(self) -> Backoff:
        """Full jitter over ``base_delay_s`` doubling up to ``max_delay_s``."""
        return Backoff(self.base_delay_s, max(self.base_delay_s, self.max_delay_s), jitter=1.0)


class BackoffSettings(_Frozen):
    """The waits that double with failures and are not one HTTP call's retries (``[backoff]``).

    Each becomes a ``worker.backoff.Backoff``; the HTTP retries are ``RetrySettings.backoff()``
    and the token endpoint's are ``TokenSettings.retry_backoff()``.
    """

    # A property's pause after an error of its own (a refusal, a bug): the peers' rule, a
    # minute, then doubling.
    property_first_s: float = Field(60.0, gt=0)
    property_max_s: float = Field(3600.0, gt=0)
    # A site's start-up (token, announce) after a failure, within one process.
    start_first_s: float = Field(1.0, gt=0)
    start_max_s: float = Field(300.0, gt=0)
    # The many-sites supervisor's restart of a site whose start-up failed for good.
    site_restart_first_s: float = Field(60.0, gt=0)
    site_restart_max_s: float = Field(900.0, gt=0)

    def property(self) -> Backoff:
        return Backoff(self.property_first_s, max(self.property_first_s, self.property_max_s))

    def start(self) -> Backoff:
        # Half jitter: replicas restarted together spread out, and none waits under half.
        return Backoff(self.start_first_s, max(self.start_first_s, self.start_max_s), jitter=0.5)

    def site_restart(self) -> Backoff:
        return Backoff(
            self.site_restart_first_s, max(self.site_restart_first_s, self.site_restart_max_s)
        )


class TokenSettings(_Frozen):
    """When to refresh ahead of expiry, and how hard to push a failing token endpoint."""

    refresh_min_fraction: float = Field(0.75, gt=0, lt=1)
    refresh_max_fraction: float = Field(0.85, gt=0, lt=1)
    max_age_s: float = Field(12 * 3600, gt=0)
    retry_min_interval_s: float = Field(30.0, gt=0)
    retry_max_interval_s: float = Field(300.0, gt=0)
    forced_refresh_cap: int = Field(5, ge=1)
    forced_refresh_window_s: float = Field(300.0, gt=0)

    @model_validator(mode="after")
    def _window_ordered(self) -> TokenSettings:
        if self.refresh_min_fraction > self.refresh_max_fraction:
            raise ValueError("refresh_min_fraction must not exceed refresh_max_fraction")
        return self

    def retry_backoff(self) -> Backoff:
        """A failing token endpoint: full jitter, but never more than one request per interval."""
        floor = self.retry_min_interval_s
        return Backoff(floor, max(floor, self.retry_max_interval_s), jitter=1.0, min_s=floor)


# Standard Webhooks secrets are ``whsec_`` and base64; fewer bytes than this is no real key.
_WEBHOOK_SECRET_PREFIX = "whsec_"  # noqa: S105 - the format's prefix, not a secret
_WEBHOOK_SECRET_MIN_BYTES = 16


def _vendor_url(value: str | None, *, example: str, credentials: str) -> str | None:
    """A vendor-side http(s) URL with a host and no user info; ``credentials`` says where
    authentication comes from instead."""
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"must be an http(s) URL such as {example}")
    if parts.username or parts.password:
        raise ValueError(f"must not carry credentials; {credentials}")
    return value


class WebhookSettings(_Frozen):
    """The vendor's endpoint for site bookings (``BOOKYFLOW_SINK=webhook``) and how to try it.

    The delays feed the shared ``RetryPolicy`` (full jitter): ``max_delay_s`` bounds how long a
    receiver that recovered waits to hear from the worker again (about a minute by default);
    ``max_age_s`` is how long a booking is retried before it is dead-lettered. ``poll_s`` is how
    often the idle delivery loop looks at the outbox for rows another process re-drove, and
    ``drain_s`` how long a stop waits for deliveries that can go at once.
    """

    url: str | None = None
    secret: SecretStr | None = None
    secret_file: Path | None = None
    max_age_s: float = Field(24 * 3600, gt=0)
    connect_timeout_s: float = Field(5.0, gt=0)
    timeout_s: float = Field(15.0, gt=0)
    base_delay_s: float = Field(1.0, gt=0)
    max_delay_s: float = Field(60.0, gt=0)
    retry_after_cap_s: float = Field(300.0, gt=0)
    poll_s: float = Field(5.0, gt=0)
    drain_s: float = Field(5.0, ge=0)

    @model_validator(mode="before")
    @classmethod
    def _secret_from_file(cls, data: Any) -> Any:
        """``BOOKYFLOW_WEBHOOK__SECRET_FILE`` fills the secret (as the client secret's file)."""
        if not isinstance(data, dict) or data.get("secret"):
            return data
        path = data.get("secret_file")
        if not isinstance(path, str | os.PathLike) or not path:
            return data
        try:
            secret = Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ValueError(f"secret_file {path} cannot be read: {exc.strerror}") from None
        return {**data, "secret": secret}

    @field_validator("url")
    @classmethod
    def _url_shape(cls, value: str | None) -> str | None:
        """An http(s) URL with a host and no user info (plain http: ``Settings._webhook_sink``)."""
        return _vendor_url(
            value,
            example="https://vendor.example/bookings",
            credentials="the signature authenticates the worker",
        )

    @field_validator("secret")
    @classmethod
    def _secret_shape(cls, value: SecretStr | None) -> SecretStr | None:
        """A Standard Webhooks secret; the message never repeats it."""
        if value is None:
            return None
        text = value.get_secret_value()
        encoded = text.removeprefix(_WEBHOOK_SECRET_PREFIX)
        try:
            key = base64.b64decode(encoded + "=" * (-len(encoded) % 4), validate=True)
        except ValueError:
            key = b""
        if not text.startswith(_WEBHOOK_SECRET_PREFIX) or len(key) < _WEBHOOK_SECRET_MIN_BYTES:
            raise ValueError(
                f"must be a Standard Webhooks secret: whsec_ and the base64 of at least "
                f"{_WEBHOOK_SECRET_MIN_BYTES} bytes"
            )
        return value


def is_loopback_host(host: str | None) -> bool:
    if host is None:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class Settings(BaseSettings):
    """The operator contract (``../shared/design.md``), as one validated object."""

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        frozen=True,
        case_sensitive=False,
    )

    api_url: str
    client_id: str = Field(min_length=1)
    client_secret: SecretStr
    client_secret_file: Path | None = None
    scopes: str | None = None
    channel_name: str = Field(min_length=1)
    channel_friendly_name: str | None = None
    inventory: Path | None = None
    # ``BOOKYFLOW_INVENTORY=https://...`` lands here (``_inventory_url``): read over HTTP(S).
    inventory_url: str | None = None
    inventory_token_file: Path | None = None
    # A larger inventory file is refused (the last good one stays in force), never read whole.
    inventory_max_bytes: int = Field(64 * MIB, ge=1024)
    state_dir: Path = Path("state")
    bookings_file: Path | None = None
    source: str | None = None
    sink: str | None = None
    jobs: JobsSettings = JobsSettings()
    horizon_days: int = Field(365, ge=1, le=730)
    prune: bool = False
    # Safe prune (``worker.sync.prune_plan``): a cycle that would delete more than this share of
    # the owned properties deletes none; ``prune_force`` lifts that and the reservation rule.
    prune_max_fraction: float = Field(0.1, ge=0, le=1)
    prune_force: bool = False
    log_format: Literal["json", "console"] = "json"
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    health_port: int = Field(0, ge=0, le=65535)
    # Bind address of /healthz /readyz /metrics (when health_port is set). Every interface by
    # default, as before, so probes and Prometheus reach it in a pod; "127.0.0.1" keeps it local.
    health_host: str = "0.0.0.0"  # noqa: S104 - deliberate, see above
    timezone: str = "UTC"
    # Change-driven pushes (``worker.sync.coalesce``): how often the inventory source is asked
    # whether it changed (0: never, the schedule only), and how long a burst of changes is
    # collected, from its first change, before the changed properties are pushed.
    change_poll_s: float = Field(1.0, ge=0)
    change_window_s: float = Field(2.0, ge=0)
    grace_s: float = Field(25.0, gt=0)
    allow_insecure_http: bool = False
    # Static sharding across replicas (worker.sharding); the index may be a pod name "worker-3".
    shard_count: int = Field(1, ge=1)
    shard_index: int = Field(0, ge=0)
    http: HttpSettings = HttpSettings()
    retry: RetrySettings = RetrySettings()
    token: TokenSettings = TokenSettings()
    backoff: BackoffSettings = BackoffSettings()
    webhook: WebhookSettings = WebhookSettings()

    @model_validator(mode="before")
    @classmethod
    def _secret_from_file(cls, data: Any) -> Any:
        """``BOOKYFLOW_CLIENT_SECRET_FILE`` fills the secret when it is not given directly."""
        if (
            isinstance(data, dict)
            and not data.get("client_secret")
            # Only a path is read; anything else (a TOML number, say) is left for the field's
            # own validation, since Path(5) raises a TypeError pydantic would not catch. (fuzz)
            and isinstance(data.get("client_secret_file"), str | os.PathLike)
            and data.get("client_secret_file")
        ):
            path = Path(data["client_secret_file"])
            try:
                data = {**data, "client_secret": path.read_text(encoding="utf-8").strip()}
            except OSError as exc:
                raise ValueError(
                    f"client_secret_file {path} cannot be read: {exc.strerror}"
                ) from None
        return data

    @model_validator(mode="before")
    @classmethod
    def _inventory_url(cls, data: Any) -> Any:
        """``BOOKYFLOW_INVENTORY`` holding an ``http(s)://`` URL names the HTTP source.

        A ``Path`` would fold the URL's ``//``, so the value is moved to ``inventory_url``
        before validation; every other user of ``inventory`` keeps seeing a path or None.
        """
        if not isinstance(data, dict):
            return data
        value = data.get("inventory")
        if isinstance(value, str) and value.lower().startswith(_URL_SCHEMES):
            if data.get("inventory_url"):
                raise ValueError("set the inventory URL once, in BOOKYFLOW_INVENTORY")
            return {**data, "inventory": None, "inventory_url": value}
        return data

    # Checks of a single field are field validators, so they are reported together with every
    # other field's problem; the model validator below only sees fields that were all valid.
    @field_validator("api_url")
    @classmethod
    def _url_shape(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError("must be an http(s) URL such as https://hotel.example/bookyflow/api")
        if parts.username or parts.password or parts.query:
            raise ValueError("must not carry credentials or a query string")
        return value

    @field_validator("inventory_url")
    @classmethod
    def _inventory_url_shape(cls, value: str | None) -> str | None:
        """An http(s) URL with a host and no user info: the token comes from its own file."""
        return _vendor_url(
            value,
            example="https://vendor.example/inventory.json",
            credentials="use BOOKYFLOW_INVENTORY_TOKEN_FILE",
        )

    @field_validator("timezone")
    @classmethod
    def _iana_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"{value!r} is not an IANA zone name") from None
        return value

    @field_validator("shard_index", mode="before")
    @classmethod
    def _shard_ordinal(cls, value: Any) -> Any:
        """``BOOKYFLOW_SHARD_INDEX`` may be a StatefulSet pod name such as ``worker-3``."""
        if isinstance(value, str):
            from worker.sharding import shard_index_from  # sharding imports settings' users

            return shard_index_from(value)
        return value

    @model_validator(mode="after")
    def _webhook_sink(self) -> Settings:
        """``BOOKYFLOW_SINK=webhook`` needs an endpoint and a secret; plain http as for the API."""
        if self.sink != "webhook":
            return self
        hook = self.webhook
        missing = [
            name
            for name, value in (("URL", hook.url), ("SECRET_FILE", hook.secret))
            if value is None
        ]
        if missing:
            needed = " and ".join(f"BOOKYFLOW_WEBHOOK__{name}" for name in missing)
            raise ValueError(f"BOOKYFLOW_SINK=webhook needs {needed}")
        parts = urlsplit(hook.url or "")
        if parts.scheme == "http" and not (
            is_loopback_host(parts.hostname) or self.allow_insecure_http
        ):
            raise ValueError(
                "webhook.url uses plain http to a non-loopback host; use https "
                "or set BOOKYFLOW_ALLOW_INSECURE_HTTP=true"
            )
        return self

    @model_validator(mode="after")
    def _check(self) -> Settings:
        parts = urlsplit(self.api_url)
        insecure = parts.scheme == "http" and not is_loopback_host(parts.hostname)
        if insecure and not self.allow_insecure_http:
            raise ValueError(
                "api_url uses plain http to a non-loopback host; use https "
                "or set BOOKYFLOW_ALLOW_INSECURE_HTTP=true"
            )
        if self.inventory_url is not None and not self._inventory_url_allowed():
            raise ValueError(
                "inventory uses plain http to a non-loopback host; use https "
                "or set BOOKYFLOW_ALLOW_INSECURE_HTTP=true"
            )
        if self.prune and not set(PRUNE_SCOPES) <= set(self.requested_scopes):
            raise ValueError(f"prune needs the {' '.join(PRUNE_SCOPES)} scope in BOOKYFLOW_SCOPES")
        if self.shard_index >= self.shard_count:
            raise ValueError("shard_index must be below shard_count (indexes start at 0)")
        if self.prune and self.shard_count > 1:
            # A replica cannot tell another shard's property from one the vendor removed.
            raise ValueError("prune cannot be used with shard_count > 1")
        return self

    def _inventory_url_allowed(self) -> bool:
        """The API URL's rule: plain http only to loopback, or when explicitly allowed."""
        parts = urlsplit(self.inventory_url or "")
        return (
            parts.scheme == "https" or is_loopback_host(parts.hostname) or self.allow_insecure_http
        )

    @property
    def base_url(self) -> str:
        return self.api_url.rstrip("/")

    @property
    def friendly_name(self) -> str:
        return self.channel_friendly_name or self.channel_name

    @property
    def requested_scopes(self) -> tuple[str, ...]:
        """``BOOKYFLOW_SCOPES`` (space or comma separated), else every scope the spec names.

        A ``Worker`` fills an unset ``scopes`` with what its jobs need (``requesting``), so the
        fallback is only for a client built without one.
        """
        return parse_scopes(self.scopes) or KNOWN_SCOPES

    def requesting(self, needed: Sequence[str]) -> Settings:
        """These settings, asking for ``needed`` unless ``BOOKYFLOW_SCOPES`` says otherwise."""
        if parse_scopes(self.scopes):
            return self
        return self.model_copy(update={"scopes": " ".join(needed)})

    @property
    def bookings_path(self) -> Path:
        return self.bookings_file or self.state_dir / "bookings.jsonl"

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings, dotenv_settings]
        if SECRETS_DIR.is_dir():
            sources.append(SecretsSettingsSource(settings_cls, secrets_dir=SECRETS_DIR))
        config_file = os.environ.get(f"{ENV_PREFIX}CONFIG_FILE")
        if config_file:
            sources.append(TomlConfigSettingsSource(settings_cls, toml_file=Path(config_file)))
        return tuple(sources)


def _env_name(loc: tuple[int | str, ...]) -> str:
    return ENV_PREFIX + "__".join(str(part) for part in loc).upper()


def describe_error(error: Any, name: Callable[[tuple[int | str, ...]], str] = _env_name) -> str:
    """One problem as ``NAME: message``; an unknown key of a table says what was probably meant.

    Only pydantic's wording and our own messages are used, never the input value.
    """
    loc: tuple[int | str, ...] = error["loc"]
    where = name(loc) if loc else "settings"
    if error["type"] == "extra_forbidden":
        guess = did_you_mean(Settings, tuple(str(part) for part in loc))
        return f"unknown setting {where}" + (f" (did you mean {name(guess)}?)" if guess else "")
    return f"{where}: {str(error['msg']).removeprefix('Value error, ')}"


def describe_validation_error(
    exc: ValidationError, *, named: Set[tuple[str, ...]] = frozenset()
) -> str:
    """All problems on one line: ``BOOKYFLOW_API_URL: Field required; ...``.

    ``named`` are key paths already reported by the name scan (``worker.config_names``).
    """
    problems = [
        describe_error(error)
        for error in exc.errors()
        if not (error["type"] == "extra_forbidden" and tuple(map(str, error["loc"])) in named)
    ]
    return "; ".join(problems)


def config_file() -> str | None:
    """``BOOKYFLOW_CONFIG_FILE``, or a ``ConfigError`` when it names no file."""
    path = os.environ.get(f"{ENV_PREFIX}CONFIG_FILE")
    if path and not Path(path).is_file():
        raise ConfigError(f"invalid configuration: BOOKYFLOW_CONFIG_FILE {path} does not exist")
    return path or None


def read_toml(path: str | None) -> dict[str, Any] | None:
    """The TOML document named by ``BOOKYFLOW_CONFIG_FILE``, or a ``ConfigError``."""
    if not path:
        return None
    try:
        with open(path, "rb") as file:
            return tomllib.load(file)
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        raise ConfigError(
            f"invalid configuration: cannot read BOOKYFLOW_CONFIG_FILE {path}: {exc}"
        ) from None


def scan_setting_names(*, also_top: frozenset[str] = frozenset()) -> NameReport:
    """Unknown names in the environment, ``.env`` and the TOML file (``worker.config_names``)."""
    path = config_file()
    env_file = Path(str(Settings.model_config.get("env_file") or ".env"))
    dotenv = dotenv_values(env_file) if env_file.is_file() else {}
    return scan_names(
        Settings,
        environ=os.environ,
        dotenv=dotenv,
        toml=read_toml(path),
        toml_name=path or "",
        also_top=also_top,
    )


def warn_unknown(report: NameReport) -> None:
    """Unknown names that resemble no setting: one warning each, the worker goes on."""
    for name, source in report.warnings:
        log.warning("config.unknown_setting", setting=name, source=source, action="ignored")


def load_settings(**overrides: Any) -> Settings:
    """Build ``Settings`` from every source, or raise ``ConfigError`` with one readable line.

    Misspelt setting names are refused and other unknown ones warned about first.
    """
    return settings_from(overrides)


def settings_from(overrides: Mapping[str, Any], *, check_names: bool = True) -> Settings:
    """``load_settings``; without ``check_names`` unknown names are not looked for."""
    path = config_file()
    names = scan_setting_names() if check_names else NameReport()
    try:
        settings = Settings(**overrides)
    except ValidationError as exc:
        problems = [*names.refused, describe_validation_error(exc, named=names.paths)]
        raise ConfigError(f"invalid configuration: {'; '.join(filter(None, problems))}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as exc:
        # A malformed or unreadable TOML file fails inside the settings source, before
        # validation; it is still bad configuration (exit 78), not a crash. Found by tests/fuzz.
        source = f"BOOKYFLOW_CONFIG_FILE {path}" if path else "a .env or secret file"
        raise ConfigError(f"invalid configuration: cannot read {source}: {exc}") from None
    if names.refused:
        raise ConfigError(f"invalid configuration: {'; '.join(names.refused)}")
    warn_unknown(names)
    return settings


class StateLocation(BaseSettings):
    """Only where the state lives, from the same sources as ``Settings`` (``healthcheck``).

    A healthcheck must not fail on a setting it does not need (a missing secret, a typo).
    """

    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX,
        env_nested_delimiter="__",
        env_file=".env",
        extra="ignore",
        frozen=True,
        case_sensitive=False,
    )

    state_dir: Path = Path("state")
    shard_count: int = Field(1, ge=1)
    shard_index: int = Field(0, ge=0)

    @field_validator("shard_index", mode="before")
    @classmethod
    def _shard_ordinal(cls, value: Any) -> Any:
        """As ``Settings``: the index may be a pod name such as ``worker-3``."""
        return Settings._shard_ordinal(value)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return Settings.settings_customise_sources(
            settings_cls, init_settings, env_settings, dotenv_settings, file_secret_settings
        )
