"""Redaction: a canary secret and a real issued token never reach any rendered output.

Covered paths: structlog events (values, nested values, the event text), stdlib records (message
arguments and ``exc_info``), formatted tracebacks with chained causes, and ``repr`` / ``str`` /
``model_dump_json`` of the settings.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
from collections.abc import Iterator

import pytest
import structlog

from tests.api.client_support import make_settings
from tests.conftest import SandboxFactory
from worker.api.client import BookyFlowClient
from worker.errors import ChannelError
from worker.logging import REDACTED, configure_logging, get_logger
from worker.sandbox import DEFAULT_CLIENT, ClientSpec, Sandbox
from worker.settings import Settings

CANARY_SECRET = "canary-secret-0f9e8d7c"
CANARY_CLIENT = ClientSpec("canary", CANARY_SECRET, DEFAULT_CLIENT.scopes)


@pytest.fixture
def rendered() -> Iterator[io.StringIO]:
    """Logging configured as in production, rendering JSON lines into a buffer; restored after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    config = structlog.get_config()
    stream = io.StringIO()
    configure_logging(stream=stream, level="DEBUG")
    yield stream
    root.handlers[:] = handlers
    root.setLevel(level)
    structlog.configure(**config)


def _settings(api_url: str) -> Settings:
    return make_settings(api_url, client_id="canary", secret=CANARY_SECRET)


async def _issued_token(sandbox: Sandbox) -> str:
    """Run a real token request (which registers the token with the redactor); return it."""
    async with BookyFlowClient(_settings(sandbox.api_url)) as client:
        with contextlib.suppress(ChannelError):  # only the token matters here
            await client.request("GET", "cmf/versions", channel=False)
    (token,) = {
        value.removeprefix("Bearer ")
        for entry in sandbox.journal.entries
        for name, value in entry.headers.items()
        if name.lower() == "authorization"
    }
    return token


def _log_everywhere(secret: str, token: str) -> None:
    log = get_logger("worker.security")
    log.info(f"event text with {token}", detail=f"secret={secret}", nested={"x": [token]})
    log.info("headers.seen", headers={"Authorization": f"Bearer {token}"}, client_secret=secret)
    logging.getLogger("aiohttp.client").warning("sent %s with %r", token, {"secret": secret})
    try:
        try:
            raise ValueError(f"inner failure mentioning {token}")
        except ValueError as inner:
            raise RuntimeError(f"outer failure mentioning {secret}") from inner
    except RuntimeError:
        log.exception("job.failed")
        logging.getLogger("apscheduler.executors").exception("stdlib traceback")


async def test_canaries_never_reach_rendered_logs(
    sandbox_factory: SandboxFactory, rendered: io.StringIO
) -> None:
    """Secret and token are masked in events, stdlib records and chained tracebacks alike."""
    sandbox = await sandbox_factory(clients=(CANARY_CLIENT,))
    token = await _issued_token(sandbox)
    rendered.seek(0)
    rendered.truncate()
    _log_everywhere(CANARY_SECRET, token)
    text = rendered.getvalue()
    lines = [json.loads(line) for line in text.splitlines()]
    assert len(lines) == 5
    assert "Traceback" in text
    assert "outer failure mentioning" in text
    assert REDACTED in text
    assert CANARY_SECRET not in text
    assert token not in text


def test_settings_never_show_the_secret() -> None:
    """repr, str, model_dump_json and a dump of the settings all mask the client secret."""
    settings = _settings("https://hotel.example/bookyflow/api")
    for text in (
        repr(settings),
        str(settings),
        settings.model_dump_json(),
        str(settings.model_dump()),
        f"{settings!r} {settings.http!r} {settings.token!r}",
    ):
        assert CANARY_SECRET not in text
    assert settings.client_secret.get_secret_value() == CANARY_SECRET
