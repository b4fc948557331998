"""The delivery loop against a verifying receiver, on a fake clock: order, backoff through the
shared policy, Retry-After, one probe while the endpoint fails, dead letters and re-drive."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from typing import Any, Protocol

import pytest
from structlog.testing import capture_logs

from tests.webhooks.support import drive, record, webhook_settings
from worker.inventory.webhook import WebhookSink
from worker.sandbox.webhook_receiver import WebhookReceiver
from worker.state import StateStore
from worker.testing import FakeClock


class SinkFactory(Protocol):
    async def __call__(self, **settings: Any) -> WebhookSink: ...


@pytest.fixture
async def open_sink(
    state: StateStore, receiver: WebhookReceiver, clock: FakeClock
) -> AsyncIterator[SinkFactory]:
    opened: list[WebhookSink] = []

    async def make(**settings: Any) -> WebhookSink:
        sink = await WebhookSink.open(
            webhook_settings(receiver.url, **settings), state, clock=clock
        )
        opened.append(sink)
        return sink

    yield make
    for sink in opened:
        await sink.close()


def has(receiver: WebhookReceiver, *booking_ids: int) -> Callable[[], bool]:
    return lambda: all(revision(i) in receiver.deliveries for i in booking_ids)


def revision(booking_id: int) -> str:
    return f"{booking_id}:2026-12-01 10:00:00"


async def test_each_revision_is_posted_once_in_queue_order(
    open_sink: SinkFactory, receiver: WebhookReceiver, clock: FakeClock, state: StateStore
) -> None:
    """Queued revisions arrive verified, in order, once each, and leave the outbox."""
    sink = await open_sink()
    for booking_id in (5, 3, 9):
        assert await sink.deliver(record(booking_id))
    await drive(clock, has(receiver, 5, 3, 9))
    assert list(receiver.deliveries) == [revision(5), revision(3), revision(9)]
    assert [a.status for a in receiver.attempts] == [200, 200, 200]
    assert receiver.deliveries[revision(3)]["booking"]["booking_id"] == 3
    await drive(clock, lambda: sink.stats.delivered_total == 3)
    assert (await state.outbox_counts()).pending == 0


async def test_a_failing_endpoint_is_probed_by_one_entry_with_growing_backoff(
    open_sink: SinkFactory, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    """While the receiver answers 500 only the head entry is sent, after full-jitter waits
    whose ceiling doubles up to ``max_delay_s``; the first 2xx lets the backlog follow."""
    sink = await open_sink()
    receiver.fail_next(500, times=6)
    for booking_id in (1, 2, 3):
        await sink.deliver(record(booking_id))
    with capture_logs() as logs:
        await drive(clock, has(receiver, 1, 2, 3))
    assert [a.webhook_id for a in receiver.attempts[:7]] == [revision(1)] * 7
    assert [a.status for a in receiver.attempts] == [500] * 6 + [200] * 3
    waits = [line["retry_in_s"] for line in logs if line["event"] == "webhook.failed"]
    ceilings = [min(8.0, 0.5 * 2**n) for n in range(6)]
    assert all(0 <= wait <= ceiling for wait, ceiling in zip(waits, ceilings, strict=True))
    assert all(line["endpoint_failing"] for line in logs if line["event"] == "webhook.failed")


async def test_retry_after_is_honoured(
    open_sink: SinkFactory, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    """A 429 with ``Retry-After: 40`` holds every entry back at least 40 s of the clock."""
    sink = await open_sink()
    receiver.fail_next(429, retry_after="40")
    await sink.deliver(record(1))
    await drive(clock, lambda: len(receiver.attempts) == 1)
    refused_at = clock.now()
    await sink.deliver(record(2))  # queued meanwhile: the gate holds it too
    await drive(clock, has(receiver, 1, 2))
    assert clock.now() - refused_at >= 40
    assert [a.status for a in receiver.attempts] == [429, 200, 200]


async def test_an_entry_the_receiver_refuses_does_not_hold_the_others(
    open_sink: SinkFactory, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    """A 400 for one body backs that entry off alone; the rest are delivered meanwhile."""
    sink = await open_sink()
    receiver.fail_next(400)
    for booking_id in (1, 2, 3):
        await sink.deliver(record(booking_id))
    await drive(clock, has(receiver, 1, 2, 3))
    assert [(a.webhook_id, a.status) for a in receiver.attempts] == [
        (revision(1), 400),
        (revision(2), 200),
        (revision(3), 200),
        (revision(1), 200),
    ]


async def test_past_the_max_age_entries_are_dead_lettered_and_redriven(
    open_sink: SinkFactory, receiver: WebhookReceiver, clock: FakeClock, state: StateStore
) -> None:
    """A receiver down for longer than ``max_age_s`` gets every entry parked (one
    ``webhook.dead_lettered`` each, counted); a re-drive delivers them once it is back."""
    sink = await open_sink(max_age_s=60)
    receiver.fail_while(lambda: True)
    for booking_id in (1, 2):
        await sink.deliver(record(booking_id))
    with capture_logs() as logs:
        await drive(clock, lambda: sink.stats.dead_lettered_total == 2)
    dead = [line for line in logs if line["event"] == "webhook.dead_lettered"]
    assert [line["revision"] for line in dead] == [revision(1), revision(2)]
    assert all(line["log_level"] == "error" for line in dead)
    await drive(clock, lambda: sink.stats.dead_lettered == 2)
    assert [d.revision for d in await state.dead_letters()] == [revision(1), revision(2)]
    assert receiver.deliveries == {}
    receiver.fail_while(None)
    attempts = len(receiver.attempts)
    await clock.run_for(120)  # dead letters wait for the operator, polled or not
    assert len(receiver.attempts) == attempts
    assert await state.redrive_webhooks(now=clock.wall()) == 2
    await drive(clock, has(receiver, 1, 2))
    assert (await state.outbox_counts()).dead_lettered == 0


async def test_a_crash_before_the_outcome_is_committed_resends_the_same_id(
    open_sink: SinkFactory, receiver: WebhookReceiver, clock: FakeClock
) -> None:
    """The receiver took the POST, the worker stopped before its answer: the next sink sends
    the same ``webhook-id`` again, and the receiver keeps one delivery of it."""
    first = await open_sink()
    stall = receiver.stall_next()
    await first.deliver(record(1))
    await stall.seen.wait()
    await first.close()  # drain_s 0: the POST in flight is abandoned, its row kept
    stall.release()
    second = await open_sink()
    await drive(clock, lambda: receiver.count(revision(1)) == 2)
    assert list(receiver.deliveries) == [revision(1)]
    await drive(clock, lambda: second.stats.delivered_total == 1)


async def test_stopping_drains_what_can_go_at_once(
    open_sink: SinkFactory, receiver: WebhookReceiver, state: StateStore
) -> None:
    """``close()`` keeps sending due entries for up to ``drain_s`` before it stops the loop."""
    sink = await open_sink(drain_s=30.0)
    stall = receiver.stall_next()
    for booking_id in (1, 2, 3):
        await sink.deliver(record(booking_id))
    await stall.seen.wait()
    closing = asyncio.ensure_future(sink.close())
    stall.release()
    await closing
    assert list(receiver.deliveries) == [revision(1), revision(2), revision(3)]
    assert (await state.outbox_counts()).pending == 0
