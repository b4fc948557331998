"""Logging: JSON lines with the schema's keys, foreign logs included, secrets redacted."""

from __future__ import annotations

import io
import json
import logging
import random

from worker.logging import REDACTED, Redactor, configure_logging, get_logger, redactor


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


def test_tokens_are_kept_per_owner_and_bounded_across_rotations() -> None:
    """100,000 rotations of one site leave its last few tokens held, the oldest evicted."""
    bounded = Redactor(tokens_per_owner=4)
    bounded.add_secret("client-secret-value")
    tokens = [f"token-{n:06d}-abcdef" for n in range(100_000)]
    for token in tokens:
        bounded.add_token(token, owner="https://site-a.example|demo")
    assert bounded.held == 1 + 4
    assert bounded.redact_text(f"x {tokens[-1]} {tokens[-4]} y") == f"x {REDACTED} {REDACTED} y"
    assert bounded.redact_text(tokens[-5]) == tokens[-5]  # evicted: four refreshes old
    assert bounded.redact_text("client-secret-value") == REDACTED  # secrets are never evicted


def test_one_site_rotating_never_evicts_another_sites_token() -> None:
    """Each owner (a site's token manager) has its own slots: a busy site cannot push others out."""
    bounded = Redactor(tokens_per_owner=2)
    bounded.add_token("quiet-site-token-1", owner="quiet")
    for n in range(1000):
        bounded.add_token(f"busy-site-token-{n}", owner="busy")
    assert bounded.redact_text("quiet-site-token-1") == REDACTED
    assert bounded.held == 3


def test_owners_are_bounded_too() -> None:
    """Owners beyond the cap evict the one that least recently got a token."""
    bounded = Redactor(tokens_per_owner=1, max_owners=3, recent_max=0)  # compiled at every add
    for n in range(10):
        bounded.add_token(f"owner-{n}-token-xyz", owner=f"owner-{n}")
    assert bounded.held == 3
    assert bounded.redact_text("owner-9-token-xyz") == REDACTED
    assert bounded.redact_text("owner-6-token-xyz") == "owner-6-token-xyz"


def test_the_pattern_is_rebuilt_only_when_the_held_set_changes() -> None:
    """Per-line work is one compiled pattern: lines between rotations rebuild nothing."""
    bounded = Redactor(recent_max=0)
    bounded.add_token("first-token-value", owner="site")
    for _ in range(1000):
        assert bounded.redact_text("a first-token-value b") == f"a {REDACTED} b"
    assert bounded.rebuilds == 1
    bounded.add_token("first-token-value", owner="site")  # the same token again: no change
    bounded.redact_text("x")
    assert bounded.rebuilds == 1
    bounded.add_token("second-token-value", owner="site")
    bounded.redact_text("x")
    assert bounded.rebuilds == 2


def test_rotations_are_compiled_in_batches_and_masked_meanwhile() -> None:
    """A new token is masked at once; the pattern is compiled again only every few rotations."""
    bounded = Redactor(recent_max=4)
    bounded.add_secret("the-client-secret")
    assert bounded.redact_text("a the-client-secret b") == f"a {REDACTED} b"
    assert bounded.rebuilds == 0  # masked by the substring search of recent values
    tokens = [f"rotated-token-{n:03d}" for n in range(10)]
    for token in tokens:
        bounded.add_token(token, owner="site")
        assert bounded.redact_text(f"<{token}> the-client-secret") == f"<{REDACTED}> {REDACTED}"
    assert bounded.rebuilds == 2  # after 5 and after 10 values: not once per rotation
    assert all(bounded.redact_text(t) == REDACTED for t in tokens[-4:])


def test_a_new_value_overlapping_a_held_one_is_compiled_at_once() -> None:
    """The longest match must win, so an overlapping value is not left to the substring search."""
    bounded = Redactor()
    bounded.add_secret("abcdef")
    bounded.redact_text("x")
    bounded.add_secret("abcdefghij")
    assert bounded.redact_text("[abcdefghij] [abcdef]") == f"[{REDACTED}] [{REDACTED}]"
    assert bounded.rebuilds == 1


def test_overlapping_values_are_masked_whole() -> None:
    """A secret that contains another is masked whole (the longest match wins)."""
    bounded = Redactor()
    bounded.add_secret("abcdef")
    bounded.add_secret("abcdefghij")
    assert bounded.redact_text("[abcdefghij] [abcdef]") == f"[{REDACTED}] [{REDACTED}]"


def test_every_held_value_is_masked_whatever_their_shared_prefixes() -> None:
    """The one-pass pattern masks each of many values whole, and leaves near misses alone."""
    rng = random.Random(7)
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789-_"
    tokens = ["".join(rng.choice(alphabet) for _ in range(rng.randint(6, 40))) for _ in range(300)]
    bounded = Redactor(tokens_per_owner=3)
    for index, token in enumerate(tokens):
        bounded.add_token(token, owner=f"site-{index % 100}")
    for shared in ("prefix", "prefix-and-more", "prefix-other", "pre-fix-x"):
        bounded.add_secret(shared)
    assert bounded.held == 304
    for value in [*tokens, "prefix", "prefix-and-more", "prefix-other"]:
        assert bounded.redact_text(f"<{value}>") == f"<{REDACTED}>"
    assert bounded.redact_text("<prefi>") == "<prefi>"


def test_messages_keep_their_words_while_values_are_masked() -> None:
    """`BOOKYFLOW_CLIENT_SECRET: Field required` stays whole; `client_secret=v` forms are masked."""
    bounded = Redactor()
    for message in (
        "BOOKYFLOW_CLIENT_SECRET: Field required",
        "BOOKYFLOW_CLIENT_SECRET: Input should be a valid string",
        "sites[0].client_secret: Field required",
    ):
        assert bounded.redact_text(message) == message
    for leaked in (
        "client_secret=abc&grant_type=x",
        '{"client_secret": "abc"}',
        "{'access_token': 'abc'}",
        'client_secret = "abc"',
        "access_token: abc123",
        "access_token: abcdefghijklmnopqrstuvwxyz",
    ):
        assert "abc" not in bounded.redact_text(leaked), leaked
