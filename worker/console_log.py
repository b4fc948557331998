"""``--log-format console``: one readable ``key=value`` line per event, for people.

``2026-05-01T03:00:00.123Z warning job.finished job=ari pushed=1 held=2 logger=worker.sync``

No Python reprs: ``None`` values and empty collections are left out, booleans are
``true``/``false``, a nested mapping becomes dotted keys (``counts.pushed=1``), a list of plain
values is comma-joined, and a string with spaces, quotes or ``=`` is JSON-quoted. A traceback
follows its line. Colour (the level, the event) only when asked for (``configure_logging``
asks when the stream is a TTY and ``NO_COLOR`` is unset). The JSON format is the operator
contract; this one is for reading and may change.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from structlog.typing import EventDict, WrappedLogger

__all__ = ["ConsoleRenderer", "format_value"]

_BARE = re.compile(r"[^\s\"'=\\]+")
_RESET = "\033[0m"
_BOLD = "\033[1m"
_LEVEL_COLOURS = {
    "debug": "\033[2m",
    "info": "\033[32m",
    "warning": "\033[33m",
    "error": "\033[31m",
    "critical": "\033[1;31m",
}
_HEAD = ("timestamp", "level", "event", "logger")
_TAIL = ("exception", "stack")


def format_value(value: Any) -> str | None:
    """One value as the console shows it, or None to leave it out (see the module)."""
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple | set | frozenset):
        return _format_list(list(value))
    text = value if isinstance(value, str) else str(value)
    return text if _BARE.fullmatch(text) else json.dumps(text, ensure_ascii=False)


def _format_list(items: list[Any]) -> str | None:
    if not items:
        return None
    parts = [format_value(item) for item in items]
    if all(p is not None and "," not in p and not p.startswith('"') for p in parts):
        return ",".join(p for p in parts if p is not None)
    return json.dumps(items, ensure_ascii=False, default=str)


def pairs(key: str, value: Any) -> Iterator[str]:
    """``key=value`` items; a mapping becomes its dotted keys, empty ones nothing."""
    if isinstance(value, Mapping):
        for sub, inner in value.items():
            yield from pairs(f"{key}.{sub}", inner)
        return
    text = format_value(value)
    if text is not None:
        yield f"{key}={text}"


class ConsoleRenderer:
    """structlog renderer: ``timestamp level event key=value ...`` (and a traceback below)."""

    def __init__(self, *, colors: bool = False) -> None:
        self.colors = colors

    def __call__(self, _: WrappedLogger, __: str, event_dict: EventDict) -> str:
        level = str(event_dict.get("level", ""))
        event = str(event_dict.get("event", ""))
        if self.colors:
            level = f"{_LEVEL_COLOURS.get(level, '')}{level:<7}{_RESET}"
            event = f"{_BOLD}{event}{_RESET}"
        else:
            level = f"{level:<7}"
        head = [str(event_dict.get("timestamp", "")), level, event]
        rest = [
            item
            for key, value in event_dict.items()
            if key not in _HEAD and key not in _TAIL
            for item in pairs(str(key), value)
        ]
        rest += pairs("logger", event_dict.get("logger"))
        line = " ".join(part for part in [*head, *rest] if part)
        tails = [str(event_dict[key]) for key in _TAIL if event_dict.get(key)]
        return "\n".join([line, *tails])
