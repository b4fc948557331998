"""Per-line cost of log redaction after 10 and after 100,000 token rotations, side by side.

Two redactors, one fed 10 rotations of one site's token and one fed 100,000, redact the same
realistic event (an ``http.request`` warning with an error text) in alternating batches in one
process, so machine noise hits both alike. The bounded redactor keeps a site's last few tokens
(``worker.logging.Redactor``), so its per-line cost must not follow the rotations: the goal is
``redaction_ratio_100000_vs_10 <= 1.5``. For contrast, the unbounded algorithm it replaced
(every token ever seen, one substring scan each) is timed at 10 and 10,000 rotations, and the
bounded one with 100 sites' tokens (what its cost does grow with, bounded by configuration).

Prints ``name=value`` lines; ``BENCH_LINES`` sets the lines per side (default 20,000).
"""

from __future__ import annotations

import os
import random
import time
from typing import Any

from worker.logging import REDACTED, Redactor

LINES = int(os.environ.get("BENCH_LINES", "20000"))
BATCH = 500
SECRET = "s3cret-demo-secret"
OWNER = "https://hotel.example/bookyflow/api demo"
EVENT: dict[str, Any] = {
    "event": "http.request",
    "level": "warning",
    "logger": "worker.api.client",
    "timestamp": "2026-12-01T10:00:00.000000Z",
    "request_id": "5f0c8a1e9b7d4c2a8e6f1b3d5a7c9e0f",
    "method": "PUT",
    "path": "cmf/property/prices",
    "status": 503,
    "attempt": 2,
    "duration_ms": 41.3,
    "error": "ServerError: HTTP 503: server error",
    "job": "ari",
    "property_uid": 1042,
}


_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"


def _token(n: int) -> str:
    """Token ``n``: 43 random URL-safe characters, as a 256-bit opaque token (seeded by n)."""
    rng = random.Random(n)
    return "".join(rng.choice(_ALPHABET) for _ in range(43))


def bounded_after(rotations: int, *, sites: int = 1) -> Redactor:
    redactor = Redactor()
    redactor.add_secret(SECRET)
    for n in range(rotations):
        redactor.add_token(_token(n), owner=f"{OWNER}-{n % sites}")
    return redactor


class UnboundedRedactor(Redactor):
    """The value scan before issue 11: every value ever seen, sorted and scanned on each line."""

    def __init__(self, values: list[str]) -> None:
        super().__init__()
        self._everything = set(values)

    def redact_text(self, text: str) -> str:
        for value in sorted(self._everything, key=len, reverse=True):
            if value in text:
                text = text.replace(value, REDACTED)
        return super().redact_text(text)  # the credential-shaped patterns, as before


def _per_line_s(redactor: Redactor, lines: int) -> float:
    """Seconds per rendered line: the structlog processor over the whole event."""
    started = time.perf_counter()
    for _ in range(lines):
        redactor(None, "warning", dict(EVENT))
    return (time.perf_counter() - started) / lines


def _side_by_side(few: Redactor, many: Redactor) -> tuple[float, float]:
    """Alternating batches; seconds per line of each."""
    batches = max(1, LINES // BATCH)
    totals = [0.0, 0.0]
    for _ in range(batches):
        totals[0] += _per_line_s(few, BATCH)
        totals[1] += _per_line_s(many, BATCH)
    return totals[0] / batches, totals[1] / batches


def _check(redactor: Redactor, rotations: int) -> None:
    """The figures mean nothing if the current token were not masked."""
    current = _token(rotations - 1)
    assert redactor.redact_text(f"x {current} {SECRET}") == f"x {REDACTED} {REDACTED}"


def main() -> None:
    few, many = bounded_after(10), bounded_after(100_000)
    _check(few, 10)
    _check(many, 100_000)
    _per_line_s(few, BATCH)  # warm up: compile both patterns
    _per_line_s(many, BATCH)
    few_s, many_s = _side_by_side(few, many)
    legacy_few = UnboundedRedactor([SECRET, *map(_token, range(10))])
    legacy_many = UnboundedRedactor([SECRET, *map(_token, range(10_000))])
    print(f"lines_per_side={max(1, LINES // BATCH) * BATCH}")
    print(f"held_values_after_100000_rotations={many.held}")
    print(f"us_per_line_10_rotations={few_s * 1e6:.2f}")
    print(f"us_per_line_100000_rotations={many_s * 1e6:.2f}")
    print(f"unbounded_us_per_line_10_rotations={_per_line_s(legacy_few, 200) * 1e6:.2f}")
    legacy_many_us = _per_line_s(legacy_many, 20) * 1e6
    print(f"unbounded_us_per_line_10000_rotations={legacy_many_us:.2f}")
    # What the cost does grow with: the number of sites (bounded by configuration).
    hundred_sites = bounded_after(100_000, sites=100)
    _per_line_s(hundred_sites, BATCH)
    print(f"held_values_100_sites={hundred_sites.held}")
    print(f"us_per_line_100_sites={_per_line_s(hundred_sites, LINES // 4) * 1e6:.2f}")
    print(f"redaction_ratio_100000_vs_10={many_s / few_s:.3f}", flush=True)


if __name__ == "__main__":
    main()
