"""Measured figures of a soak run: request rate, retries, faults answered, from the journal.

Pure functions over journal entries (their ``at`` is the runner's monotonic clock), plus the
``rate_bounded`` verdict: the worker's own limiter must keep the per-second peak within its rate
plus one burst, whatever the faults made it retry.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

from tests.chaos.invariants import Verdict
from worker.sandbox.journal import JournalEntry


@dataclass(frozen=True)
class RateFigures:
    """How hard the worker pushed the site."""

    requests: int
    peak_rps: int
    mean_rps: float
    repeats: int  # attempts after the first of one logical call (retries and 401 replays)

    @property
    def retries_pct(self) -> float:
        return round(100.0 * self.repeats / self.requests, 2) if self.requests else 0.0


def rate_figures(entries: Sequence[JournalEntry]) -> RateFigures:
    """Peak requests in any one-second window (bucketed), mean rate, share of repeats."""
    if not entries:
        return RateFigures(0, 0, 0.0, 0)
    per_second = Counter(math.floor(entry.at) for entry in entries)
    span_s = max(entries[-1].at - entries[0].at, 1.0)
    seen: set[str] = set()
    repeats = 0
    for entry in entries:
        request_id = entry.headers.get("X-Request-ID")
        if request_id is None:
            continue
        repeats += request_id in seen
        seen.add(request_id)
    return RateFigures(
        len(entries), max(per_second.values()), round(len(entries) / span_s, 2), repeats
    )


def status_counts(entries: Sequence[JournalEntry]) -> dict[str, int]:
    """Answers by class: 5xx, 429, 401, dropped connections (status 0)."""
    counts = Counter(entry.status for entry in entries)
    return {
        "answers_5xx": sum(n for status, n in counts.items() if status >= 500),
        "answers_429": counts[429],
        "answers_401": counts[401],
        "connections_dropped": counts[0],
        "token_requests": sum(1 for entry in entries if entry.path.endswith("/oauth/token")),
        "sent_with_expired_token": sum(1 for entry in entries if entry.token_state == "expired"),
        "sent_with_revoked_token": sum(1 for entry in entries if entry.token_state == "revoked"),
    }


def rate_bounded(figures: RateFigures, rate_per_s: float, burst: int) -> Verdict:
    """At most ``rate + burst`` requests reached the site in any one second."""
    bound = math.ceil(rate_per_s) + burst
    detail = (
        f"peak_rps={figures.peak_rps} bound={bound} mean_rps={figures.mean_rps} "
        f"retries_pct={figures.retries_pct}"
    )
    return Verdict("rate_bounded", figures.peak_rps <= bound, detail)
