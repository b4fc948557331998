"""The webhook sink inside the worker: its loop starts and stops with the ``Worker`` lifecycle,
reports to the metrics, survives a failing state store, and has its command line."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from structlog.testing import capture_logs

from tests.metrics_support import Scrape
from tests.webhooks.support import SECRET, record, until, webhook_settings
from worker.cli import build_parser
from worker.inventory.webhook import WebhookSink
from worker.sandbox import Sandbox
from worker.sandbox.webhook_receiver import WebhookReceiver
from worker.service import Worker
from worker.settings import Settings
from worker.state import StateStore


def settings_for(sandbox: Sandbox, receiver: WebhookReceiver, tmp_path: Path) -> Settings:
    inventory = tmp_path / "inventory.json"
    inventory.write_text(json.dumps({"properties": []}), encoding="utf-8")
    return Settings(
        api_url=sandbox.api_url, client_id="demo", client_secret="s3cret-demo-secret",
        channel_name="hooks", inventory=inventory, state_dir=tmp_path / "state", sink="webhook",
        webhook={"url": receiver.url, "secret": SECRET, "base_delay_s": 0.01, "max_delay_s": 0.05},
    )  # fmt: skip


def outbox_tasks() -> list[asyncio.Task[object]]:
    return [t for t in asyncio.all_tasks() if t.get_name() == "webhook-outbox" and not t.done()]


async def test_the_worker_owns_the_delivery_loop(
    sandbox: Sandbox, receiver: WebhookReceiver, tmp_path: Path
) -> None:
    """Started with the worker, the loop delivers and fills the metrics; closing the worker
    ends it, and a read-only worker (``check``) has none at all."""
    worker = Worker(settings_for(sandbox, receiver, tmp_path), jobs={})
    async with worker:
        assert len(outbox_tasks()) == 1
        assert worker.ctx is not None
        assert await worker.ctx.sink.deliver(record(1))
        await until(lambda: worker.snapshot()["webhooks"]["delivered_total"] == 1)
        assert list(receiver.deliveries) == ["1:2026-12-01 10:00:00"]
        assert worker.telemetry is not None
        scrape = Scrape(worker.telemetry.render())
    assert outbox_tasks() == []
    assert scrape.value("bookyflow_bookings_undelivered", site="default") == 0
    assert scrape.value("bookyflow_bookings_dead_lettered", site="default") == 0
    assert scrape.value("bookyflow_webhook_attempts_total", outcome="delivered") == 1
    reader = Worker(settings_for(sandbox, receiver, tmp_path), jobs={}, exclusive=False)
    async with reader:
        assert outbox_tasks() == []
        assert "webhooks" not in reader.snapshot()


def test_the_file_sink_renders_no_webhook_samples() -> None:
    """Without the webhook sink the attempts series is declared but carries no sample."""
    from worker.telemetry import Telemetry

    scrape = Scrape(Telemetry(lambda: {"a": {"jobs": {}}}).render())
    assert "bookyflow_webhook_attempts" in scrape.families
    assert not scrape.find("bookyflow_webhook_attempts_total")


async def test_a_failing_state_store_is_logged_and_the_loop_lives_on(
    receiver: WebhookReceiver, tmp_path: Path
) -> None:
    """The loop logs ``webhook.loop_failed`` when the store fails under it, and still stops."""
    state = await StateStore.open(tmp_path / "state")
    sink = await WebhookSink.open(webhook_settings(receiver.url, poll_s=0.01), state)
    with capture_logs() as logs:
        await state.close()
        # Twice: the loop went on after the first failure, a poll later.
        await until(lambda: [line["event"] for line in logs].count("webhook.loop_failed") >= 2)
        await sink.close()
    assert outbox_tasks() == []
    assert all(SECRET not in str(line) for line in logs)


@pytest.mark.parametrize(
    "argv",
    [
        ["webhooks"],
        ["webhooks", "redrive"],
        ["webhooks", "redrive", "--all", "--id", "1:x"],
        ["webhooks", "resend", "--all"],
    ],
)
def test_redrive_takes_all_or_one_id(argv: list[str]) -> None:
    """``webhooks redrive`` needs exactly one of ``--all`` and ``--id`` (usage error, exit 2)."""
    with pytest.raises(SystemExit) as usage:
        build_parser().parse_args(argv)
    assert usage.value.code == 2


def test_redrive_parses() -> None:
    """The operator contract's spelling: ``webhooks redrive --id REVISION [--site LABEL]``."""
    args = build_parser().parse_args(["webhooks", "redrive", "--id", "41:2026", "--site", "a"])
    assert (args.revision, args.all, args.site) == ("41:2026", False, "a")
    assert build_parser().parse_args(["webhooks", "redrive", "--all"]).revision is None
