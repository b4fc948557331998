"""Form bodies (``application/x-www-form-urlencoded``), byte for byte what aiohttp would send.

Every CMF write is a form whose values are JSON lists of ranges. aiohttp encodes a ``dict`` body
through ``urllib.parse.urlencode``, which percent-encodes one character at a time in Python: the
largest single cost of the worker's CPU in the sync bench (``docs/performance.md``). For ASCII
text (the JSON the worker sends) ``quote_plus`` equals a few ``str.replace`` calls, one per
distinct unsafe character, which run in C; anything else still goes through ``quote_plus``.
"""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import quote_plus

__all__ = ["FORM_CONTENT_TYPE", "encode_form", "quote_form_value"]

FORM_CONTENT_TYPE = "application/x-www-form-urlencoded"
# What quote_plus leaves alone (RFC 3986 unreserved characters).
_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-~")


def quote_form_value(text: str) -> str:
    """``urllib.parse.quote_plus(text)``, faster for ASCII text."""
    if not text.isascii():
        return quote_plus(text)
    unsafe = set(text) - _UNRESERVED
    if not unsafe:
        return text
    # "%" first (the escapes add more of it), the space last (its "+" must stay a "+").
    if "%" in unsafe:
        text = text.replace("%", "%25")
    for char in unsafe - {"%", " "}:
        text = text.replace(char, f"%{ord(char):02X}")
    return text.replace(" ", "+") if " " in unsafe else text


def encode_form(form: Mapping[str, str]) -> bytes:
    """The body aiohttp sends for ``data=form`` (``urlencode(form, doseq=True)``, UTF-8)."""
    pairs = (f"{quote_form_value(k)}={quote_form_value(v)}" for k, v in form.items())
    return "&".join(pairs).encode("ascii")
