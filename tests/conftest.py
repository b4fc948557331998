"""Shared fixtures: started sandboxes on loopback HTTP, closed after each test.

- ``sandbox``: ``Sandbox()`` with ``DEFAULT_CLIENT`` in modern mode;
- ``sandbox_factory``: ``await sandbox_factory(legacy=True, token_ttl_s=5, ...)`` with any
  ``Sandbox`` keyword; every sandbox it made is closed at teardown;
- ``any_sandbox``: parametrised over modern and legacy, so a client suite runs in both modes.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import TYPE_CHECKING, Any, Protocol

import pytest

if TYPE_CHECKING:
    from worker.sandbox import Sandbox


class SandboxFactory(Protocol):
    """Starts a ``Sandbox`` built with the given keywords."""

    async def __call__(self, **kwargs: Any) -> Sandbox: ...


@pytest.fixture
async def sandbox_factory() -> AsyncIterator[SandboxFactory]:
    started: list[Sandbox] = []

    async def start(**kwargs: Any) -> Sandbox:
        # Imported here so suites that never start a sandbox do not depend on it.
        from worker.sandbox import Sandbox

        sandbox = Sandbox(**kwargs)
        started.append(sandbox)
        await sandbox.start()
        return sandbox

    yield start
    for sandbox in reversed(started):
        await sandbox.close()


@pytest.fixture
async def sandbox(sandbox_factory: SandboxFactory) -> Sandbox:
    return await sandbox_factory()


@pytest.fixture(params=["modern", "legacy"])
async def any_sandbox(request: pytest.FixtureRequest, sandbox_factory: SandboxFactory) -> Sandbox:
    return await sandbox_factory(legacy=request.param == "legacy")
