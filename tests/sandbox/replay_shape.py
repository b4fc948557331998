"""Comparing an answer of the sandbox with a real one by shape: key sets and JSON value types.

Ids, names, dates and amounts differ between installs, so values are not compared, except the
texts that carry meaning (``error_message``, ``message``, ``error``, ``error_description`` and
review ``warnings``), with digit runs masked because they hold ids. Objects keyed by ids or dates
(``{"2": ..., "3": ...}``, a calendar) are compared as maps: same number of entries, entries
compared in order. Transcripts keep only the first 2 KB of a body, so ``parse_prefix`` reads a cut
JSON document as far as it goes and marks every container the cut left open (``OpenDict``,
``OpenList``); an open container is only checked for what the real prefix shows.
"""

from __future__ import annotations

import json
import re
from typing import Any

TEXT_KEYS = frozenset({"error_message", "message", "error", "error_description", "warnings"})
_ID_KEY = re.compile(r"\d+|\d{4}-\d{2}-\d{2}")
_DIGITS = re.compile(r"\d+")
_NUMBER = re.compile(r"-?\d+(\.\d+)?([eE][+-]?\d+)?")


class OpenDict(dict[str, Any]):
    """An object the cut left open: more keys may have followed."""


class OpenList(list[Any]):
    """A list the cut left open: more items may have followed."""


class _End(Exception):
    """The text ended inside a value."""


class _Prefix:
    """A recursive-descent JSON reader that stops cleanly at the end of a cut document."""

    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def _peek(self) -> str:
        while self.at < len(self.text) and self.text[self.at] in " \t\r\n":
            self.at += 1
        if self.at >= len(self.text):
            raise _End
        return self.text[self.at]

    def value(self) -> Any:
        char = self._peek()
        if char == "{":
            return self._object()
        if char == "[":
            return self._list()
        return self._scalar()

    def _scalar(self) -> Any:
        decoder = json.JSONDecoder()
        try:
            value, end = decoder.raw_decode(self.text, self.at)
        except json.JSONDecodeError:
            raise _End from None
        if end >= len(self.text) and _NUMBER.fullmatch(self.text[self.at : end]):
            raise _End  # a number at the very end may have been cut short
        self.at = end
        return value

    def _object(self) -> dict[str, Any]:
        found: dict[str, Any] = {}
        self.at += 1
        try:
            while self._peek() != "}":
                key = self._scalar()
                self._expect(":")
                found[key] = self.value()
                if isinstance(found[key], OpenDict | OpenList):
                    return OpenDict(found)
                if self._peek() == ",":
                    self.at += 1
        except _End:
            return OpenDict(found)
        self.at += 1
        return found

    def _list(self) -> list[Any]:
        found: list[Any] = []
        self.at += 1
        try:
            while self._peek() != "]":
                found.append(self.value())
                if isinstance(found[-1], OpenDict | OpenList):
                    return OpenList(found)
                if self._peek() == ",":
                    self.at += 1
        except _End:
            return OpenList(found)
        self.at += 1
        return found

    def _expect(self, char: str) -> None:
        if self._peek() != char:
            raise _End
        self.at += 1


def parse_prefix(text: str) -> Any:
    """The JSON value a (possibly cut) text starts with."""
    return _Prefix(text).value()


def kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "list" if isinstance(value, list) else "object"


def _is_map(value: dict[str, Any]) -> bool:
    return bool(value) and all(_ID_KEY.fullmatch(key) for key in value)


def mask(text: str) -> str:
    return _DIGITS.sub("#", text)


def differences(real: Any, got: Any, path: str = "$", key: str = "") -> list[str]:
    """Where ``got`` does not have the shape of ``real`` (empty when it does)."""
    if kind(real) != kind(got):
        return [f"{path}: {kind(real)} expected, got {kind(got)} ({str(got)[:60]!r})"]
    if isinstance(real, dict):
        return _object_differences(real, got, path)
    if isinstance(real, list):
        return _list_differences(real, got, path, key)
    if key in TEXT_KEYS and isinstance(real, str) and mask(real) != mask(got):
        return [f"{path}: text {real!r} expected, got {got!r}"]
    return []


def _object_differences(real: dict[str, Any], got: dict[str, Any], path: str) -> list[str]:
    cut = isinstance(real, OpenDict)
    if _is_map(real) or (not real and _is_map(got)):
        if not _is_map(got) and got:
            return [f"{path}: a map keyed by ids expected, got keys {sorted(got)[:5]}"]
        if not cut and len(real) != len(got):
            return [f"{path}: {len(real)} entries expected, got {len(got)}"]
        pairs = zip(real.items(), got.values(), strict=False)
        return [d for (k, a), b in pairs for d in differences(a, b, f"{path}[{k}]")]
    missing, extra = set(real) - set(got), set(got) - set(real)
    found = [f"{path}: missing keys {sorted(missing)}"] if missing else []
    if extra and not cut:
        found.append(f"{path}: unexpected keys {sorted(extra)}")
    for name, value in real.items():
        if name in got:
            found += differences(value, got[name], f"{path}.{name}", name)
    return found


def _list_differences(real: list[Any], got: list[Any], path: str, key: str) -> list[str]:
    cut = isinstance(real, OpenList)
    if len(got) < len(real) or (not cut and len(got) != len(real)):
        return [f"{path}: {len(real)} items expected, got {len(got)}"]
    return [
        d
        for index, (a, b) in enumerate(zip(real, got, strict=False))
        for d in differences(a, b, f"{path}[{index}]", key)
    ]
