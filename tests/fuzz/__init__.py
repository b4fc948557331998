"""Shared strategies and budgets of the fuzz suites (hypothesis).

Every parser that reads outside input (HTTP answers, headers, the inventory file, settings) is
fuzzed with two kinds of input: structure-aware values (JSON documents shaped like what the parser
expects, with lenient field values) and the junk real servers send (HTML error pages, empty and
truncated bodies, a byte-order mark, PHP notices before the JSON, numbers beyond every limit,
nesting deeper than the recursion limit). The outcome must always be a valid result or one of our
typed errors: never an unhandled exception, never a hang.

Budgets: the default ``ci`` profile keeps the whole fuzz suite well under 30 s on two shared
cores and is derandomized, so a gate run is reproducible; ``HYPOTHESIS_PROFILE=soak`` multiplies
every budget by ``SOAK_FACTOR`` with fresh randomness and hypothesis' example database.
"""

from __future__ import annotations

import json
import os
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

SOAK_FACTOR = 50
_SOAK = os.environ.get("HYPOTHESIS_PROFILE", "ci") == "soak"


def fuzz_settings(max_examples: int) -> settings:
    """``@settings`` of one fuzz test: ``max_examples`` in CI, ``SOAK_FACTOR`` × that in a soak."""
    soak = {"max_examples": max_examples * SOAK_FACTOR}
    # The CI budget is derandomized and keeps no example database: a gate run is reproducible
    # and writes nothing into the tree; a soak run explores afresh and remembers its failures.
    ci = {"max_examples": max_examples, "derandomize": True, "database": None}
    return settings(
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
        **(soak if _SOAK else ci),
    )


# Scalars as JSON decoders produce them, plus the string forms lenient parsing accepts.
json_scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=20),
    st.sampled_from(["1", "0", "true", "false", "", " 7 ", "-3", "1e400", "NaN", "2026-02-30"]),
)
json_values: st.SearchStrategy[Any] = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=12,
)

DEEP_NESTING = 100_000
# What real servers and proxies answer besides well-formed JSON.
REAL_WORLD_BODIES = (
    b"",
    b"   \r\n",
    b"<!DOCTYPE html><html><head><title>502 Bad Gateway</title></head><body>nginx</body></html>",
    b"<html><body><h1>503 Service Unavailable</h1></body></html>",
    b"<br />\n<b>Notice</b>:  Undefined index: id in <b>/var/www/api.php</b> on line <b>42</b>"
    b'<br />\n{"data": {"response": []}}',
    b'\xef\xbb\xbf{"data": {"response": {"ok": 1}}, "meta": {"code": 200}}',
    b'{"data": {"response": ',
    b'{"data": {"response": 1}}{"data": 2}',
    b"null",
    b"[]",
    b'"just a string"',
    b"9" * 5000,
    b'{"expires_in": ' + b"9" * 5000 + b"}",
    b'{"access_token": "t", "expires_in": NaN}',
    b'{"access_token": "t", "expires_in": -Infinity}',
    b'{"access_token": "t", "expires_in": 1e999}',
    b"[" * DEEP_NESTING,
    b'{"a":' * DEEP_NESTING,
    b"\xff\xfe{\x00}\x00",
    '{"error_message": "Client not allowed to access this feature: \u0663"}'.encode(),
    b'{"error": "invalid_client", "error_description": null}',
    b'{"meta": {"error_message": "x"}, "data": []}',
    b'{"data": {"response": {"success": "0", "message": {"nested": ["garbage"]}}}}',
    b'{"error_message": "user does not have access to property ' + b"1" * 5000 + b'"}',
)


def envelope(payload: Any, *, code: Any = 200) -> dict[str, Any]:
    """The modern success envelope around ``payload``."""
    return {"data": {"response": payload}, "meta": {"code": code}}


@st.composite
def json_bodies(draw: st.DrawFn) -> bytes:
    """A response body: real-world junk, random bytes, or JSON shaped like BookyFlow answers."""
    kind = draw(st.sampled_from(["real", "bytes", "json", "envelope", "error", "mutated"]))
    if kind == "real":
        return draw(st.sampled_from(REAL_WORLD_BODIES))
    if kind == "bytes":
        return draw(st.binary(max_size=64))
    value = draw(json_values)
    if kind == "envelope":
        value = envelope(value, code=draw(json_scalars))
    elif kind == "error":
        keys = st.sampled_from(["error_message", "error", "error_description", "code", "meta"])
        value = draw(st.dictionaries(keys, json_values, max_size=4))
    text = json.dumps(value).encode()
    if kind == "mutated":
        cut = draw(st.integers(0, len(text)))
        text = text[:cut] + draw(st.binary(max_size=4)) + text[cut:]
    return text


header_values = st.one_of(
    st.text(max_size=40),
    st.sampled_from(
        [
            'Bearer realm="bookyflow", error="insufficient_scope", scope="write"',
            'Bearer scope=""',
            'Bearer scope="write delete", scope="read"',
            'Bearer scope="' + "w" * 10_000,
            'Bearer error="insufficient_scope"',
            "120",
            "Wed, 21 Oct 2015 07:28:00 GMT",
            "Fri, 31 Dec 9999 23:59:59 +2359",
            "1e400",
            "nan",
            "-5",
        ]
    ),
)
header_names = st.sampled_from(
    ["Retry-After", "retry-after", "WWW-Authenticate", "www-authenticate", "Content-Type", "X"]
)
headers = st.dictionaries(header_names, header_values, max_size=3)
statuses = st.one_of(
    st.sampled_from(
        [200, 201, 204, 301, 400, 401, 403, 404, 408, 409, 422, 425, 429, 500, 502, 503]
    ),
    st.integers(100, 599),
)
