"""Shared fixtures: started sandboxes on loopback HTTP, closed after each test.

- ``sandbox``: ``Sandbox()`` with ``DEFAULT_CLIENT`` in modern mode;
- ``sandbox_factory``: ``await sandbox_factory(legacy=True, token_ttl_s=5, ...)`` with any
  ``Sandbox`` keyword; every sandbox it made is closed at teardown;
- ``any_sandbox``: parametrised over modern and legacy, so a client suite runs in both modes.

Every test starts from the process's logging as the previous one found it: ``configure_logging``
(called by the CLI and by tests) replaces the root handler and structlog's configuration, and the
redactor is one per process; the autouse ``_isolated_logging`` puts all three back afterwards, so
no test's output or redaction depends on which tests ran before it (the suite runs in random
order: pytest-randomly).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from typing import TYPE_CHECKING, Any, Protocol

import pytest
import structlog

from worker.logging import Redactor, redactor

if TYPE_CHECKING:
    from worker.sandbox import Sandbox


# Loggers whose levels ``configure_logging`` sets besides the root's.
_TUNED_LOGGERS = ("", "aiohttp.access", "apscheduler")


@pytest.fixture(autouse=True)
def _isolated_logging() -> Iterator[None]:
    loggers = [logging.getLogger(name) for name in _TUNED_LOGGERS]
    saved = [(logger, logger.handlers[:], logger.level) for logger in loggers]
    structlog_config = structlog.get_config()
    yield
    for logger, handlers, level in saved:
        logger.handlers[:] = handlers
        logger.setLevel(level)
    structlog.configure(**structlog_config)
    vars(redactor).update(vars(Redactor()))  # forget every secret and token of the test


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
