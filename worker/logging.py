"""structlog set-up: one JSON object per line on stdout, secrets redacted before rendering.

Our own events and foreign stdlib records (aiohttp, apscheduler, asyncio) share one processor
chain, so every line has ``timestamp`` (UTC ISO-8601), ``level``, ``event`` and ``logger``.

Redaction happens in two ways, both before rendering:
- by key: values under keys such as ``client_secret``, ``access_token`` or ``authorization``;
- by value: every registered secret (the client secret), the last few tokens of each site, and
  anything that looks like ``Bearer <token>`` or ``client_secret=...`` is masked wherever it
  appears in a string, including exception text and tracebacks.

The redactor is defence in depth: the worker never logs a token or a secret itself (headers are
never logged; errors carry status codes, error codes and the server's text). It is bounded so
that a daemon running for months does not slow down with every token rotation (``Redactor``).
"""

from __future__ import annotations

import logging
import os
import re
import sys
import threading
from collections import OrderedDict, deque
from collections.abc import MutableMapping
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
    # ``client_secret=v``, ``"client_secret": "v"``, ``client_secret:v``, ``access_token: v``
    # with a digit in v or 16+ characters; never the word after an unquoted name, as in
    # ``BOOKYFLOW_CLIENT_SECRET: Field required``: that is a message, not a value (and a
    # registered value is masked wherever it appears anyway).
    re.compile(
        r"(?i)((?:client_secret|access_token)(?:[\"']?\s*=\s*[\"']?|[\"']\s*:\s*[\"']?"
        r"|\s*:\s*[\"']|:|\s*:\s*(?=[^\s&\"',}]*\d|[^\s&\"',}]{16})))[^\s&\"',}]+"
    ),
)
# Secrets shorter than this are not masked by value: they would mangle ordinary words.
_MIN_SECRET_LEN = 6
TOKENS_PER_OWNER = 4
# Values added since the last compile are masked by a substring search each until this many
# have collected; then everything held is compiled into one pattern again. At a thousand sites
# tokens rotate every few seconds, and one compile of every held value costs tens of
# milliseconds: compiling at every rotation took a quarter of a 100-site worker's CPU.
RECENT_MAX = 32
MAX_OWNERS = 1024
MAX_SECRETS = 1024


class Redactor:
    """Masks known secret values and credential-shaped substrings. Thread-safe and bounded.

    What it holds, and the eviction rule that keeps it small whatever the uptime:

    - secrets (``add_secret``): values from configuration (client secrets, a webhook secret, the
      sandbox's admin token), a handful per site; at most ``max_secrets``, least recently added
      dropped first (no real deployment comes near it).
    - tokens (``add_token(value, owner=...)``): the last ``tokens_per_owner`` issued to each owner
      (one site's token manager); a new one evicts that owner's oldest. At most ``max_owners``
      owners, the one that least recently got a token dropped first. With refreshes at 75–85 %
      of a token's lifetime at most two tokens of a site are unexpired at a time, so an evicted
      token (four refreshes old) has expired; and since the worker never logs a token itself,
      forgetting one costs at most this second line of defence for a dead value. ``Bearer
      <token>``-shaped text is masked by pattern whatever token it holds.

    Cost per line: one compiled alternation of every held value (longest first), plus one
    substring search for each of the few values added since it was compiled (at most
    ``RECENT_MAX``); the pattern is compiled again only once that many have collected, or at once
    when a new value overlaps a held one (so the longest match still wins). It depends on the
    number of sites — bounded by configuration — and not on how many tokens were ever issued
    (``bench/redaction.py``). An evicted value may stay masked until the next compile: masking
    a dead value a little longer costs nothing.
    """

    def __init__(
        self,
        *,
        tokens_per_owner: int = TOKENS_PER_OWNER,
        max_owners: int = MAX_OWNERS,
        max_secrets: int = MAX_SECRETS,
        recent_max: int = RECENT_MAX,
    ) -> None:
        self.tokens_per_owner = tokens_per_owner
        self.max_owners = max_owners
        self.max_secrets = max_secrets
        self.recent_max = recent_max
        self._secrets: OrderedDict[str, None] = OrderedDict()
        self._tokens: OrderedDict[str, deque[str]] = OrderedDict()
        self._lock = threading.Lock()
        self._pattern: re.Pattern[str] | None = None
        # Added since the compile, longest first; replaced whole (never mutated) so that a line
        # is redacted against one consistent list without taking the lock.
        self._recent: tuple[str, ...] = ()
        self._dirty = False
        self.rebuilds = 0

    @property
    def held(self) -> int:
        """How many distinct values are masked by value right now."""
        with self._lock:
            return len(self._held_values())

    def add_secret(self, value: str) -> None:
        """A value from configuration: kept (bounded by ``max_secrets``) for the process."""
        if len(value) < _MIN_SECRET_LEN:
            return
        with self._lock:
            if value in self._secrets:
                self._secrets.move_to_end(value)
                return
            self._secrets[value] = None
            while len(self._secrets) > self.max_secrets:
                self._secrets.popitem(last=False)
            self._added(value)

    def add_token(self, value: str, *, owner: str) -> None:
        """A token issued to ``owner``: its last ``tokens_per_owner`` are kept (see the class)."""
        if len(value) < _MIN_SECRET_LEN:
            return
        with self._lock:
            recent = self._tokens.setdefault(owner, deque(maxlen=self.tokens_per_owner))
            self._tokens.move_to_end(owner)
            if value not in recent:
                recent.append(value)
                self._added(value)
            while len(self._tokens) > self.max_owners:
                self._tokens.popitem(last=False)

    def _added(self, value: str) -> None:
        """``value`` is held from now on; the caller holds the lock."""
        if self._dirty or len(self._recent) >= self.recent_max or self._overlaps(value):
            self._dirty = True  # compiled with the rest before the next line
            return
        self._recent = tuple(sorted((*self._recent, value), key=len, reverse=True))

    def _overlaps(self, value: str) -> bool:
        """Whether ``value`` contains, or is part of, another held value."""
        return any(
            other != value and (other in value or value in other) for other in self._held_values()
        )

    def redact_text(self, text: str) -> str:
        pattern = self._current_pattern()
        if pattern is not None:
            text = pattern.sub(REDACTED, text)
        for value in self._recent:  # none of them overlaps another held value
            if value in text:
                text = text.replace(value, REDACTED)
        for shape in _PATTERNS:
            text = shape.sub(lambda m: m.group(1) + REDACTED, text)
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

    def _held_values(self) -> set[str]:
        """Every value masked by value; the caller holds the lock."""
        return {*self._secrets, *(t for recent in self._tokens.values() for t in recent)}

    def _current_pattern(self) -> re.Pattern[str] | None:
        """The alternation of the held values; compiled again once ``_added`` asked for it."""
        if self._dirty:
            with self._lock:
                if self._dirty:
                    self._dirty = False
                    self.rebuilds += 1
                    self._pattern = _compile_values(self._held_values())
                    self._recent = ()
        return self._pattern


def _compile_values(values: set[str]) -> re.Pattern[str] | None:
    """One pattern matching every value, longest first, as a trie of alternations.

    A trie tries at most one branch per distinct next character instead of one per value, so
    the per-line cost stays near flat with many sites' tokens too; a plain alternation (longest
    first) is the fallback should a pathological set nest too deep for the regex compiler.
    """
    if not values:
        return None
    trie: dict[str, Any] = {}
    for value in values:
        node = trie
        for char in value:
            node = node.setdefault(char, {})
        node[""] = {}  # a value ends here
    try:
        return re.compile(_trie_regex(trie))
    except (RecursionError, re.error):
        ordered = sorted(values, key=len, reverse=True)
        return re.compile("|".join(map(re.escape, ordered)))


def _trie_regex(node: dict[str, Any]) -> str:
    """The regex of a trie node: runs of single children inline, branches as ``(?:a|b)``."""
    prefix = []
    while len(node) == 1 and "" not in node:
        ((char, node),) = node.items()
        prefix.append(re.escape(char))
    branches = [re.escape(char) + _trie_regex(child) for char, child in node.items() if char]
    if not branches:
        return "".join(prefix)
    group = "(?:" + "|".join(branches) + ")"
    # Greedy "?" after a value that ends here: the longer value is tried first.
    return "".join(prefix) + group + ("?" if "" in node else "")


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


def wants_colour(stream: TextIO) -> bool:
    """Colour on a terminal only, and never when ``NO_COLOR`` is set (no-color.org)."""
    isatty = getattr(stream, "isatty", None)
    return bool(isatty and isatty()) and not os.environ.get("NO_COLOR")


def configure_logging(
    *,
    log_format: str = "json",
    level: str = "INFO",
    stream: TextIO | None = None,
    colors: bool | None = None,
) -> None:
    """Route structlog and stdlib logging through one redacting renderer on ``stream``.

    ``console`` is ``worker.console_log``'s key=value line, coloured when ``colors`` (by
    default: when the stream is a TTY and ``NO_COLOR`` is unset); anything else is JSON.
    """
    from worker.console_log import ConsoleRenderer

    stream = stream or sys.stdout
    renderer: Processor
    if log_format == "console":
        renderer = ConsoleRenderer(colors=wants_colour(stream) if colors is None else colors)
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
    handler = logging.StreamHandler(stream)
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
