"""``--log-format console``: key=value lines without Python reprs; colour only on a terminal."""

from __future__ import annotations

import io
import logging

import pytest

from worker.console_log import format_value
from worker.logging import REDACTED, configure_logging, get_logger, redactor


class Terminal(io.StringIO):
    """A stream that says it is a TTY."""

    def isatty(self) -> bool:
        return True


def test_values_render_without_reprs() -> None:
    """None and empty collections vanish; booleans, lists and spaced strings read naturally."""
    assert format_value(None) is None
    assert format_value([]) is None
    assert format_value(True) == "true"
    assert format_value(3.5) == "3.5"
    assert format_value(["read", "write"]) == "read,write"
    assert format_value("two words") == '"two words"'
    assert format_value('say "x"') == '"say \\"x\\""'
    assert format_value(["a b", "c"]) == '["a b", "c"]'
    assert format_value("plain") == "plain"


def test_a_console_line_has_no_python_reprs() -> None:
    """`reason=None` is left out and `{'pushed': 1}` becomes `counts.pushed=1`."""
    stream = io.StringIO()
    configure_logging(log_format="console", stream=stream)
    get_logger("worker.sync").info(
        "job.finished", job="ari", reason=None, counts={"pushed": 1}, failed_jobs=[], ok=True
    )
    line = stream.getvalue().strip()
    timestamp, level, event, *rest = line.split()
    assert timestamp.endswith("Z")
    assert (level, event) == ("info", "job.finished")
    assert rest == ["job=ari", "counts.pushed=1", "ok=true", "logger=worker.sync"]
    assert "None" not in line
    assert "{" not in line


def test_foreign_records_and_tracebacks_render_too() -> None:
    """A stdlib record is a line like ours; an exception's traceback follows its line."""
    stream = io.StringIO()
    configure_logging(log_format="console", stream=stream)
    logging.getLogger("aiohttp.client").warning("foreign %s", "record")
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        get_logger("worker.cli").exception("worker.crashed")
    lines = stream.getvalue().splitlines()
    assert " warning foreign record logger=aiohttp.client" in lines[0]
    assert lines[1].endswith("error   worker.crashed logger=worker.cli")
    assert lines[2] == "Traceback (most recent call last):"
    assert lines[-1] == "RuntimeError: boom"


def test_secrets_are_redacted_in_the_console_format() -> None:
    """The redactor runs before this renderer as before the JSON one."""
    stream = io.StringIO()
    configure_logging(log_format="console", stream=stream)
    redactor.add_secret("console-secret-value")
    get_logger("worker.test").info("x", client_secret="plain", detail="has console-secret-value")
    text = stream.getvalue()
    assert "console-secret-value" not in text
    assert "plain" not in text
    assert f"client_secret={REDACTED}" in text


def test_colour_only_on_a_terminal_without_no_color(monkeypatch: pytest.MonkeyPatch) -> None:
    """A TTY gets ANSI colour; a pipe or NO_COLOR gets none; JSON never does."""
    monkeypatch.delenv("NO_COLOR", raising=False)
    outputs = {}
    for name, stream, fmt in (
        ("tty", Terminal(), "console"),
        ("pipe", io.StringIO(), "console"),
        ("json", Terminal(), "json"),
    ):
        configure_logging(log_format=fmt, stream=stream)
        get_logger("worker.test").warning("colour.test")
        outputs[name] = stream.getvalue()
    monkeypatch.setenv("NO_COLOR", "1")
    no_color = Terminal()
    configure_logging(log_format="console", stream=no_color)
    get_logger("worker.test").warning("colour.test")
    assert "\033[" in outputs["tty"]
    assert "\033[" not in outputs["pipe"] + outputs["json"] + no_color.getvalue()
