"""The site's calendar day: "today" in ``BOOKYFLOW_TIMEZONE``, read from the injected clock.

Every horizon (ARI from today, closures, reservations) starts from this day, never from the
host's zone: a site in Lisbon must not see yesterday's dates until midnight UTC.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from zoneinfo import ZoneInfo

from worker.clock import Clock

__all__ = ["today_in"]


def today_in(zone: str, clock: Clock) -> Callable[[], date]:
    """'Today' in an IANA zone, from ``clock.wall()`` on each call."""
    tz = ZoneInfo(zone)
    return lambda: datetime.fromtimestamp(clock.wall(), tz).date()
