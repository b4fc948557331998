"""The pure token core: freshness, refresh timing and scope parsing, without any I/O.

Times are seconds on the injected monotonic clock. A token's life is measured from when its
request was *sent*, so latency can only make us refresh early. How long a failing token endpoint
is left alone is ``TokenSettings.retry_backoff()`` (a ``worker.backoff.Backoff``: full jitter over
a doubling ceiling, never sooner than one request per ``retry_min_interval_s``).
``worker.api.auth`` builds the ``TokenManager`` on top of these and re-exports them.
"""

from __future__ import annotations

import enum
import random
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field

from worker.scopes import parse_scopes
from worker.settings import TokenSettings

__all__ = [
    "Token",
    "TokenFetcher",
    "TokenGrant",
    "TokenState",
    "parse_granted_scopes",
    "refresh_delay_s",
    "token_state",
]


class TokenState(enum.Enum):
    """FRESH: use it. STALE: use it, and refresh in the background. EXPIRED: do not send it."""

    FRESH = "fresh"
    STALE = "stale"
    EXPIRED = "expired"


@dataclass(frozen=True)
class TokenGrant:
    """What the token endpoint answered, already parsed leniently by the client."""

    access_token: str = field(repr=False)
    expires_in_s: float
    scopes: frozenset[str]


@dataclass(frozen=True)
class Token:
    """An access token placed on the monotonic time line; ``value`` never appears in reprs."""

    value: str = field(repr=False)
    generation: int
    issued_at: float
    refresh_at: float
    expires_at: float
    scopes: frozenset[str]


TokenFetcher = Callable[[], Awaitable[TokenGrant]]


def token_state(token: Token | None, now: float) -> TokenState:
    """Classify ``token`` at monotonic time ``now``; no token counts as expired."""
    if token is None or now >= token.expires_at:
        return TokenState.EXPIRED
    if now >= token.refresh_at:
        return TokenState.STALE
    return TokenState.FRESH


def parse_granted_scopes(raw: str | None, requested: Iterable[str]) -> frozenset[str]:
    """The granted set from a token response: space or comma separated; absent means requested."""
    return frozenset(parse_scopes(raw) or requested)


def refresh_delay_s(lifetime_s: float, settings: TokenSettings, rng: random.Random) -> float:
    """Refresh after a jittered fraction of the lifetime, and never later than ``max_age_s``."""
    fraction = rng.uniform(settings.refresh_min_fraction, settings.refresh_max_fraction)
    return min(lifetime_s * fraction, settings.max_age_s)
