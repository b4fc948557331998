"""Logging: JSON lines with the schema's keys, foreign logs included, secrets redacted."""

from __future__ import annotations

import io
import json
import logging

from worker.logging import REDACTED, configure_logging, get_logger, redactor


def _lines(stream: io.StringIO) -> list[dict[str, object]]:
    return [json.loads(line) for line in stream.getvalue().splitlines()]


def test_structlog_and_stdlib_lines_share_the_json_schema() -> None:
    """Our events and a stdlib record both render as JSON with timestamp, level, event, logger."""
    stream = io.StringIO()
    configure_logging(stream=stream)
    get_logger("worker.test").info("job.finished", duration_ms=3)
    logging.getLogger("aiohttp.client").warning("foreign %s", "record")
    first, second = _lines(stream)
    assert first["event"] == "job.finished"
    assert first["level"] == "info"
    assert str(first["timestamp"]).endswith("Z")
    assert second == {**second, "event": "foreign record", "level": "warning"}
    assert second["logger"] == "aiohttp.client"


def test_secrets_are_redacted_by_key_value_and_pattern() -> None:
    """Sensitive keys, registered secrets and bearer tokens never reach the output."""
    stream = io.StringIO()
    configure_logging(stream=stream)
    redactor.add_secret("registered-secret-xyz")
    log = get_logger("worker.test")
    log.info("x", client_secret="plain", detail="has registered-secret-xyz inside")
    log.info("y", header="Authorization: Bearer abc.def.ghi")
    logging.getLogger("foreign").error("token registered-secret-xyz leaked")
    try:
        raise RuntimeError("boom registered-secret-xyz")
    except RuntimeError:
        log.exception("z")
    text = stream.getvalue()
    assert "registered-secret-xyz" not in text
    assert "abc.def.ghi" not in text
    assert "plain" not in text
    assert REDACTED in text
