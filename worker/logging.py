"""structlog set-up: one JSON object per line on stdout, secrets redacted before rendering.

Our own events and foreign stdlib records (aiohttp, apscheduler, asyncio) share one processor
chain, so every line has ``timestamp`` (UTC ISO-8601), ``level``, ``event`` and ``logger``.

Redaction happens in two ways, both before rendering:
- by key: values under keys such as ``client_secret``, ``access_token`` or ``authorization``;
- by value: every registered secret (the client secret, each issued token) and anything that
  looks like ``Bearer <token>`` or ``client_secret=...`` is masked wherever it appears in a
  string, including exception text and tracebacks.
"""

from __future__ import annotations

import logging
import re
import sys
import threading
from collections.abc import Iterable, MutableMapping
from typing import Any, TextIO

import structlog
from structlog.typing import EventDict, Processor, WrappedLogger

REDACTED = "[REDACTED]"
SENSITIVE_KEYS = frozenset(
    {"access_token", "authorization", "client_secret", "password", "secret", "token", "api_key"}
)
_PATTERNS = (
    re.compile(r"(?i)(bearer\s+)[A-Za-z0-9\-._~+/]+=*"),
    re.compile(r"(?i)(basic\s+)[A-Za-z0-9+/]+=*"),
    re.compile(r"(?i)((?:client_secret|access_token)[\"']?\s*[=:]\s*[\"']?)[^\s&\"',}]+"),
)
# Secrets shorter than this are not masked by value: they would mangle ordinary words.
_MIN_SECRET_LEN = 6


class Redactor:
    """Masks known secret values and credential-shaped substrings. Thread-safe registry."""

    def __init__(self) -> None:
        self._secrets: set[str] = set()
        self._lock = threading.Lock()

    def add_secret(self, value: str) -> None:
        if len(value) >= _MIN_SECRET_LEN:
            with self._lock:
                self._secrets.add(value)

    def redact_text(self, text: str) -> str:
        for secret in self._secrets_snapshot():
            if secret in text:
                text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(lambda m: m.group(1) + REDACTED, text)
        return text

    def redact_value(self, key: str, value: Any) -> Any:
        if key.lower() in SENSITIVE_KEYS or key.lower().endswith("_secret"):
            return REDACTED
        if isinstance(value, str):
            return self.redact_text(value)
        if isinstance(value, MutableMapping):
            return {k: self.redact_value(str(k), v) for k, v in value.items()}
        if isinstance(value, list | tuple):
            return [self.redact_value("", v) for v in value]
        return value

    def __call__(self, _: WrappedLogger, __: str, event_dict: EventDict) -> EventDict:
        """structlog processor: runs after exceptions are formatted, before rendering."""
        return {key: self.redact_value(key, value) for key, value in event_dict.items()}

    def _secrets_snapshot(self) -> Iterable[str]:
        with self._lock:
            return sorted(self._secrets, key=len, reverse=True)


# One per process: logging is process-global, and every component that learns a secret
# (settings, the token manager) registers it here so no output path can leak it.
redactor = Redactor()


def _shared_processors() -> list[Processor]:
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="timestamp"),
        structlog.stdlib.ExtraAdder(),
    ]


def configure_logging(
    *, log_format: str = "json", level: str = "INFO", stream: TextIO | None = None
) -> None:
    """Route structlog and stdlib logging through one redacting renderer on ``stream``."""
    renderer: Processor
    if log_format == "console":
        renderer = structlog.dev.ConsoleRenderer(colors=False)
    else:
        renderer = structlog.processors.JSONRenderer()
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=_shared_processors(),
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.format_exc_info,
            redactor,
            renderer,
        ],
    )
    handler = logging.StreamHandler(stream or sys.stdout)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    # aiohttp.access logs every sandbox request at INFO; the sandbox logs its own line instead.
    logging.getLogger("aiohttp.access").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(max(logging.WARNING, root.level))
    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *_shared_processors(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    logger: structlog.stdlib.BoundLogger = structlog.stdlib.get_logger(name)
    return logger
