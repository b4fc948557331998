"""What the webhook suites share: a secret, records shaped like the bookings job's, and a driver
that steps a ``FakeClock`` (whose wall moves with it) while real I/O runs."""

from __future__ import annotations

import asyncio
import base64
from collections.abc import Callable
from typing import Any

from worker.inventory.sink import booking_record
from worker.settings import WebhookSettings
from worker.testing import FakeClock

SECRET = "whsec_" + base64.b64encode(b"bookyflow-webhook-test-key-0001").decode()
OTHER_SECRET = "whsec_" + base64.b64encode(b"somebody-else-entirely-key-0002").decode()
# Short delays, so a test steps through many attempts; the age limit is the real default's.
FAST = {"base_delay_s": 0.5, "max_delay_s": 8.0, "poll_s": 1.0, "drain_s": 0.0}
# Real I/O between clock steps: a poll interval of the driver, never an assertion.
_TICK_S = 0.002
_MAX_TICKS = 5_000


def webhook_settings(url: str, **overrides: Any) -> WebhookSettings:
    return WebhookSettings(url=url, secret=SECRET, **{**FAST, **overrides})


def record(booking_id: int, modified: str = "2026-12-01 10:00:00", uid: int = 7) -> dict[str, Any]:
    """The record the bookings job hands a sink for one revision of a site booking."""
    booking = {
        "booking_id": booking_id,
        "property_uid": uid,
        "last_modified": modified,
        "guest_data": {"firstname": "Ana"},
    }
    return booking_record(
        booking, site="https://hotel.example/api", channel="acme", property_remote_uid="1001",
        event="created",
    )  # fmt: skip


async def drive(clock: FakeClock, done: Callable[[], bool]) -> None:
    """Step ``clock`` to each next sleeper's deadline, letting real I/O (HTTP to the receiver,
    SQLite) run between steps, until ``done()``; the test's timeout bounds a loop that stalls."""
    for _ in range(_MAX_TICKS):
        if done():
            return
        await asyncio.sleep(_TICK_S)
        deadline = clock.next_deadline
        if deadline is not None and not done():
            clock.advance(max(0.0, deadline - clock.now()))
    raise AssertionError("the clock was stepped for too long")


async def until(condition: Callable[[], bool]) -> None:
    """Wait on the real clock for what real I/O brings about (no fake clock in play)."""
    for _ in range(_MAX_TICKS):
        if condition():
            return
        await asyncio.sleep(_TICK_S)
    raise AssertionError("the condition never held")
