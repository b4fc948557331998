"""The bookings job with the webhook sink: every site booking revision reaches the receiver
exactly once by ``webhook-id``, across a receiver that answers 500 for a minute."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from tests.sync.support import Harness, day, seaside
from tests.webhooks.support import drive, webhook_settings
from worker.inventory.webhook import WebhookSink
from worker.sandbox.webhook_receiver import WebhookReceiver
from worker.state import BookingRevision
from worker.testing import FakeClock

# Longer than the policy's longest wait (max_delay_s 8 in these suites, 60 by default).
OUTAGE_S = 60.0


@pytest.fixture
async def webhooked(
    harness: Harness, receiver: WebhookReceiver, clock: FakeClock
) -> AsyncIterator[WebhookSink]:
    """The harness's context with the webhook sink in place of the JSON-lines file."""
    await harness.context.sink.close()
    sink = await WebhookSink.open(webhook_settings(receiver.url), harness.state, clock=clock)
    harness.context.sink = sink
    yield sink
    await sink.close()  # before the harness closes the state store under its loop


def revisions(harness: Harness, uid: int) -> set[str]:
    """Every revision the site now lists for its own (not pushed) bookings."""
    return {
        f"{b['booking_id']}:{b['last_modified']}"
        for b in harness.site_bookings(uid)
        if b.get("referrer") in ("website", "Website")
    }


async def test_every_revision_arrives_once_across_a_minute_of_500s(
    harness: Harness, webhooked: WebhookSink, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    """Created, modified and cancelled revisions queued while the receiver fails for a minute
    arrive once each by webhook-id, within one backoff ceiling of its recovery."""
    harness.write_inventory(seaside("1001"))
    assert (await harness.run("properties")).ok
    uid = harness.context.owned.items()[0][0]
    recovers_at = clock.now() + OUTAGE_S
    receiver.fail_while(lambda: clock.now() < recovers_at)
    first = harness.sandbox.store.book_on_site(uid, day(60), day(61), firstname="Rui")
    harness.sandbox.store.book_on_site(uid, day(70), day(72))
    assert (await harness.run("bookings")).counts["delivered"] == 2
    sent: set[str] = set(revisions(harness, uid))
    harness.sandbox.store.modify_site_booking(first["booking_id"], total="300.00")
    assert (await harness.run("bookings")).counts["delivered"] == 1
    sent |= revisions(harness, uid)
    harness.sandbox.store.cancel_site_booking(first["booking_id"])
    assert (await harness.run("bookings")).counts["delivered"] == 1
    sent |= revisions(harness, uid)
    assert len(sent) == 4

    await drive(clock, lambda: set(receiver.deliveries) == sent)

    failed = [a for a in receiver.attempts if a.status == 500]
    assert failed, "the receiver never failed: the test would prove nothing"
    assert all(a.verified for a in receiver.attempts)
    assert sorted(receiver.deliveries) == sorted(sent)
    events = [receiver.deliveries[r]["event"] for r in receiver.deliveries]
    assert sorted(events) == ["cancelled", "created", "created", "modified"]
    assert clock.now() - recovers_at <= webhooked.settings.max_delay_s
    await drive(
        clock, lambda: webhooked.stats.pending == 0 and webhooked.stats.delivered_total == 4
    )
    current = {int(r.split(":")[0]): BookingRevision(r) for r in revisions(harness, uid)}
    assert await harness.state.booking_revisions(uid) == current
    # The job already marked them handled: another run offers nothing again.
    again = await harness.run("bookings")
    assert again.counts["delivered"] == 0
