"""The PHP and MySQL semantics the real engine's answers follow, as small pure functions.

The real BookyFlow is PHP on MySQL, and several of its quirks come straight from the language:
``json_encode`` of an array is a JSON list only when its keys are 0..n-1 (so an empty "object" is
``[]``), ``(int)`` casts take the leading digits of a string, MySQL compares a string column with a
number by the string's leading numeric prefix, and ``FILTER_SANITIZE_SPECIAL_CHARS`` turns quotes,
``&``, ``<``, ``>`` and control characters into ``&#NN;`` entities. Modelling them here, once, keeps
the sandbox's answers as odd as the real ones in exactly the same places.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

_LEADING_INT = re.compile(r"\s*([+-]?\d+)")
_LEADING_NUMBER = re.compile(r"\s*([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)")
_SQL_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")
_SPECIAL = frozenset("&\"'<>")
# What the engine's storage layer turns back into characters after sanitising; ``'`` stays.
_DECODED_ON_STORE = re.compile("&#(34|38|60|62);")


def php_array(items: Mapping[int, Any]) -> Any:
    """``json_encode`` of a PHP array with integer keys: a list if they are 0..n-1, else an
    object keyed by the decimal keys (an empty array is ``[]``)."""
    keys = list(items)
    if keys == list(range(len(keys))):
        return [items[key] for key in keys]
    return {str(key): value for key, value in items.items()}


def empty_as_list(value: dict[str, Any]) -> Any:
    """A PHP array that may be empty: ``[]`` when it is, the object otherwise."""
    return value if value else []


def intval(value: object) -> int:
    """PHP's ``(int)``: a number as is, a string by its leading digits, anything else 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    match = _LEADING_INT.match(str(value))
    return int(match.group(1)) if match else 0


def mysql_number(value: str) -> float:
    """What MySQL makes of a string compared with a number: its leading numeric prefix, or 0."""
    match = _LEADING_NUMBER.match(value)
    return float(match.group(1)) if match else 0.0


def is_sql_number(value: str) -> bool:
    """Whether ``value`` pasted unquoted into SQL is a numeric literal (else a syntax error)."""
    return bool(_SQL_NUMBER.fullmatch(value))


def sanitize_special_chars(value: str) -> str:
    """``filter_var(.., FILTER_SANITIZE_SPECIAL_CHARS)``: ``'"<>&`` and ASCII < 32 → ``&#NN;``."""
    return "".join(f"&#{ord(ch)};" if ch in _SPECIAL or ord(ch) < 32 else ch for ch in value)


def stored_text(value: str) -> str:
    """A sanitised value as the engine reads it back later: only ``'`` (and control characters)
    stay encoded, the other entities are decoded again by its storage layer."""
    encoded = sanitize_special_chars(value)
    return _DECODED_ON_STORE.sub(lambda match: chr(int(match.group(1))), encoded)


def php_number(value: float) -> int | float:
    """A float as ``json_encode`` prints it: ``95`` for 95.0, ``79.16666666666667`` otherwise."""
    return int(value) if value == int(value) else value
