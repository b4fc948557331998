"""The one backoff computation: a doubling ceiling, capped, with optional jitter.

Every wait that grows with failures (token requests, HTTP retries, a property's pause after its
own error, a site's start-up retries) is a ``Backoff`` value built once from ``Settings``, so the
policy lives in configuration and the arithmetic in one place::

    ceiling(n) = min(max_s, first_s * 2 ** (n - 1))        n = failures so far, n >= 1
    delay(n)   = max(min_s, ceiling(n) * (1 - jitter * U))  U uniform in [0, 1)

``jitter=1.0`` is "full jitter" (AWS Architecture Blog, *Exponential Backoff and Jitter*): a delay
anywhere in ``(0, ceiling]``, which spreads many clients' retries; ``jitter=0.0`` is plain
doubling, for waits that only one party takes.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

__all__ = ["Backoff"]

# 2 ** 64 × any sane first delay is far beyond any cap; stops float overflow for huge counts.
_MAX_EXPONENT = 64


@dataclass(frozen=True, slots=True)
class Backoff:
    """How long to wait after the ``failures``-th failure in a row."""

    first_s: float
    max_s: float
    jitter: float = 0.0  # share of the ceiling that is randomised: 0 none, 1 full jitter
    min_s: float = 0.0  # never less than this (e.g. one request per interval)

    def __post_init__(self) -> None:
        if not (0 < self.first_s <= self.max_s and 0.0 <= self.jitter <= 1.0 and self.min_s >= 0):
            raise ValueError(f"invalid backoff: {self!r}")

    def ceiling_s(self, failures: int) -> float:
        """The un-jittered delay after ``failures`` failures (``failures <= 1``: ``first_s``)."""
        exponent = min(max(0, failures - 1), _MAX_EXPONENT)
        return min(self.max_s, self.first_s * 2.0**exponent)

    def delay_s(self, failures: int, rng: random.Random | None = None) -> float:
        """The delay to wait; ``rng`` is needed only with jitter (pass a seeded one in tests)."""
        ceiling = self.ceiling_s(failures)
        if self.jitter:
            if rng is None:
                raise ValueError("a jittered backoff needs an rng")
            ceiling *= 1.0 - self.jitter * rng.random()
        return max(self.min_s, ceiling)
