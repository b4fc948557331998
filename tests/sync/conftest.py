"""Fixtures of the job suites: ``harness_for(sandbox, **settings)`` builds a started ``Harness``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import pytest

from tests.sync.support import Harness, make_settings
from worker.api.client import BookyFlowClient
from worker.sandbox import Sandbox
from worker.sandbox.image_host import ImageHost


class HarnessFactory(Protocol):
    async def __call__(self, sandbox: Sandbox, **settings: Any) -> Harness: ...


@pytest.fixture
async def harness_for(tmp_path: Path) -> AsyncIterator[HarnessFactory]:
    made: list[Harness] = []

    async def make(sandbox: Sandbox, **settings: Any) -> Harness:
        config = make_settings(sandbox, tmp_path, **settings)
        client = BookyFlowClient(config)
        await client.open()
        images = await ImageHost().start()
        harness = Harness(sandbox, tmp_path, config, client, images)
        made.append(harness)
        await harness.start()
        return harness

    yield make
    for harness in made:
        await harness.stop()
        await harness.client.close()
        await harness.images.close()


@pytest.fixture
async def harness(sandbox: Sandbox, harness_for: HarnessFactory) -> Harness:
    return await harness_for(sandbox)
