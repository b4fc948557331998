"""``BOOKYFLOW_SINK=webhook`` end to end: ``python -m worker`` processes against the sandbox and
a verifying receiver. Every site booking revision arrives exactly once by ``webhook-id`` across
a SIGKILL between the POST and its commit; dead letters are re-driven beside the daemon."""

from __future__ import annotations

import signal
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tests.e2e.conftest import CHANNEL, Site, Spawn, WorkerProcess
from tests.polling import wait_until
from tests.webhooks.support import SECRET
from worker.sandbox.webhook_receiver import WebhookReceiver
from worker.state import StateStore

# Driver poll for conditions on the receiver and the sandbox: never a timed assertion.
_POLL_S = 0.05


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(SECRET) as started:
        yield started


@pytest.fixture
def hooked(site: Site, receiver: WebhookReceiver, tmp_path: Path) -> dict[str, str]:
    """The worker's environment for the webhook sink: short backoff, a quick poll."""
    secret_file = tmp_path / "webhook.secret"
    secret_file.write_text(SECRET + "\n", encoding="utf-8")
    return {
        "BOOKYFLOW_SINK": "webhook",
        "BOOKYFLOW_WEBHOOK__URL": receiver.url,
        "BOOKYFLOW_WEBHOOK__SECRET_FILE": str(secret_file),
        "BOOKYFLOW_WEBHOOK__BASE_DELAY_S": "0.05",
        "BOOKYFLOW_WEBHOOK__MAX_DELAY_S": "0.2",
        "BOOKYFLOW_WEBHOOK__POLL_S": "0.1",
    }


async def until(condition: Callable[[], bool], worker: WorkerProcess | None = None) -> None:
    """Wait for ``condition`` (bounded: ``tests.polling``); fail early if the worker died."""
    gone = worker.gone if worker is not None else None
    await wait_until(condition, "the deliveries", every_s=_POLL_S, gone=gone)


def hotels(site: Site) -> list[int]:
    return [int(p["property_uid"]) for p in site.sandbox.store.properties_of("demo", CHANNEL)]


def nights(offset: int) -> tuple[str, str]:
    first = datetime.now(UTC).date() + timedelta(days=offset)
    return first.isoformat(), (first + timedelta(days=1)).isoformat()


def revision(booking: dict[str, object]) -> str:
    return f"{booking['booking_id']}:{booking['last_modified']}"


def current(site: Site, booking_id: int) -> str:
    """The revision the site lists for ``booking_id`` now."""
    for uid in hotels(site):
        for booking in site.sandbox.store.bookings(uid):
            if booking["booking_id"] == booking_id:
                return revision(booking)
    raise AssertionError(f"booking {booking_id} is not on the site")


@pytest.mark.slow  # over 3 s (--durations): real worker processes, run to their end
async def test_every_revision_arrives_once_across_a_sigkill_between_post_and_commit(
    site: Site, spawn: Spawn, receiver: WebhookReceiver, hooked: dict[str, str]
) -> None:
    """The receiver takes the first POST in and the worker is SIGKILLed before the answer;
    after a restart that revision is sent again under the same id, the others once, and later
    revisions follow: the receiver holds each site revision exactly once."""
    worker = await spawn("run", **hooked)
    await until(lambda: len(hotels(site)) == 3, worker)
    stall = receiver.stall_next()
    made = [
        site.sandbox.store.book_on_site(uid, *nights(60 + i), firstname=f"Guest{i}")
        for i, uid in enumerate(hotels(site))
    ]
    await stall.seen.wait()
    worker.proc.send_signal(signal.SIGKILL)
    assert await worker.wait() == -signal.SIGKILL
    stall.release()
    expected = {revision(booking) for booking in made}
    assert stall.webhook_id in expected

    again = await spawn("run", **hooked)
    await until(lambda: set(receiver.deliveries) == expected, again)
    site.sandbox.store.modify_site_booking(made[0]["booking_id"], total="310.00")
    site.sandbox.store.cancel_site_booking(made[1]["booking_id"])
    expected |= {current(site, made[0]["booking_id"]), current(site, made[1]["booking_id"])}
    await until(lambda: set(receiver.deliveries) == expected, again)
    again.proc.send_signal(signal.SIGTERM)
    assert await again.wait() == 0

    assert len(expected) == 5
    assert receiver.count(stall.webhook_id) == 2
    assert all(receiver.count(r) == 1 for r in expected - {stall.webhook_id})
    assert all(attempt.verified for attempt in receiver.attempts)
    events = sorted(body["event"] for body in receiver.deliveries.values())
    assert events == ["cancelled", "created", "created", "created", "modified"]


@pytest.mark.slow  # over 3 s (--durations): real worker processes, run to their end
async def test_a_dead_letter_is_redriven_by_the_command_beside_the_daemon(
    site: Site, spawn: Spawn, receiver: WebhookReceiver, hooked: dict[str, str]
) -> None:
    """Past a short max age a failing receiver's bookings are dead-lettered; with the daemon
    still running, ``webhooks redrive --id`` sends one back and ``--all`` the rest."""
    receiver.fail_while(lambda: True)
    daemon = await spawn("run", **hooked, BOOKYFLOW_WEBHOOK__MAX_AGE_S="0.5")
    await until(lambda: len(hotels(site)) == 3, daemon)
    made = [site.sandbox.store.book_on_site(uid, *nights(80)) for uid in hotels(site)[:2]]
    wanted = [revision(booking) for booking in made]
    await until(lambda: daemon.events().count("webhook.dead_lettered") == 2, daemon)
    async with _state(site) as state:
        assert sorted(d.revision for d in await state.dead_letters()) == sorted(wanted)
        assert (await state.outbox_counts()).dead_lettered == 2
    receiver.fail_while(None)

    one = await spawn("webhooks", "redrive", "--id", wanted[0], **hooked)
    assert await one.wait() == 0, one.stdout[-3:]
    await until(lambda: wanted[0] in receiver.deliveries, daemon)
    assert wanted[1] not in receiver.deliveries
    missing = await spawn("webhooks", "redrive", "--id", "no-such-revision", **hooked)
    assert await missing.wait() == 1
    rest = await spawn("webhooks", "redrive", "--all", **hooked)
    assert await rest.wait() == 0
    await until(lambda: set(receiver.deliveries) == set(wanted), daemon)

    assert daemon.proc.returncode is None
    redriven = [r for r in one.records + rest.records if r["event"] == "webhook.redriven"]
    assert [r["redriven"] for r in redriven] == [1, 1]
    assert "state.locked" not in one.events() + rest.events()
    daemon.proc.send_signal(signal.SIGTERM)
    assert await daemon.wait() == 0
    assert not any(SECRET in line or SECRET[6:] in line for line in daemon.stdout)


async def test_sync_once_hands_its_bookings_over_before_it_exits(
    site: Site, spawn: Spawn, receiver: WebhookReceiver, hooked: dict[str, str]
) -> None:
    """A one-shot ``sync --once`` drains the outbox it filled before the process ends."""
    first = await spawn("sync", "--once", **hooked)
    await first.wait()
    booking = site.sandbox.store.book_on_site(hotels(site)[0], *nights(90))
    second = await spawn("sync", "--once", "--job", "bookings", **hooked)
    await second.wait()
    assert list(receiver.deliveries) == [revision(booking)]
    assert "webhook.delivered" in second.events()


@asynccontextmanager
async def _state(site: Site) -> AsyncIterator[StateStore]:
    """The daemon's state store, opened beside it (no lock is taken), then closed."""
    store = await StateStore.open(site.state_dir)
    try:
        yield store
    finally:
        await store.close()
