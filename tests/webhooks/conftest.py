"""Fixtures of the webhook suites: a verifying receiver, a state store, a fake clock."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.sync.conftest import harness, harness_for  # noqa: F401 - fixtures for the job test
from tests.webhooks.support import SECRET
from worker.sandbox.webhook_receiver import WebhookReceiver
from worker.state import StateStore
from worker.testing import FakeClock


@pytest.fixture
async def receiver() -> AsyncIterator[WebhookReceiver]:
    async with WebhookReceiver(SECRET) as started:
        yield started


@pytest.fixture
async def state(tmp_path: Path) -> AsyncIterator[StateStore]:
    opened = await StateStore.open(tmp_path / "state")
    yield opened
    await opened.close()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()
