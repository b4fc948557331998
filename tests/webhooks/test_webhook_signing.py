"""What goes on the wire: the file sink's JSON object, Standard Webhooks headers, and a
receiver's verify that takes the worker's signature and rejects every forgery."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from standardwebhooks import Webhook

from tests.webhooks.support import OTHER_SECRET, SECRET, record, webhook_settings
from worker.errors import ClientRequestError, RateLimited, ServerError
from worker.inventory.sink import JsonLinesBookingSink
from worker.inventory.webhook import WebhookSender, answer_error, webhook_body
from worker.sandbox.webhook_receiver import WebhookReceiver
from worker.settings import WebhookSettings
from worker.state import OutboxEntry
from worker.testing import FakeClock

RECEIVED = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)


def entry(body: bytes, revision: str = "41:2026-12-01 10:00:00") -> OutboxEntry:
    return OutboxEntry(revision, 7, body, since=0.0, attempts=0)


async def test_body_is_the_file_sinks_line(tmp_path: Path) -> None:
    """For the same record and time, the webhook body is byte for byte the JSON-lines line."""
    rec = record(41)
    rec["booking"]["guest_data"]["firstname"] = "Zo\ud800e"  # a lone surrogate: flagged
    sink = await JsonLinesBookingSink.open(
        tmp_path / "b.jsonl", clock=FakeClock(wall_start=RECEIVED.timestamp())
    )
    try:
        assert await sink.deliver(dict(rec))
    finally:
        await sink.close()
    line = (tmp_path / "b.jsonl").read_bytes()
    assert webhook_body(rec, received_at=RECEIVED) + b"\n" == line
    assert json.loads(line)["flags"] == ["replaced_characters"]


def test_body_keeps_a_received_at_it_was_given() -> None:
    """A record stamped already keeps its ``received_at``; one without the fields is refused."""
    body = json.loads(webhook_body({**record(1), "received_at": "2020-01-01T00:00:00Z"},
                                   received_at=RECEIVED))  # fmt: skip
    assert body["received_at"] == "2020-01-01T00:00:00Z"
    with pytest.raises(ValueError, match="lacks"):
        webhook_body({"revision": "1:x"}, received_at=RECEIVED)


def test_headers_verify_with_the_standard_library() -> None:
    """The id is the revision, the timestamp whole seconds, and the library's verify accepts."""
    sender = WebhookSender(webhook_settings("https://vendor.example/hooks"))
    body = webhook_body(record(41), received_at=RECEIVED)
    now = time.time()
    headers = sender.headers(entry(body), now)
    assert headers["webhook-id"] == "41:2026-12-01 10:00:00"
    assert headers["webhook-timestamp"] == str(int(now))
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(SECRET).verify(body, headers) == json.loads(body)


def forgeries(body: bytes, headers: dict[str, str]) -> dict[str, tuple[bytes, dict[str, str]]]:
    """Requests a receiver must refuse, each one change away from the genuine one."""
    stale = str(int(time.time()) - 3600)
    wrong_key = Webhook(OTHER_SECRET).sign(
        headers["webhook-id"], datetime.fromtimestamp(int(headers["webhook-timestamp"]), UTC),
        body.decode(),
    )  # fmt: skip
    return {
        "another secret": (body, {**headers, "webhook-signature": wrong_key}),
        "tampered body": (body.replace(b"Ana", b"Eve"), headers),
        "another id": (body, {**headers, "webhook-id": "42:2026-12-01 10:00:00"}),
        "replayed an hour later": (body, {**headers, "webhook-timestamp": stale}),
        "no signature": (body, {k: v for k, v in headers.items() if k != "webhook-signature"}),
        "malformed signature": (body, {**headers, "webhook-signature": "garbage"}),
        "bad base64": (body, {**headers, "webhook-signature": "v1,@@@"}),
    }


def test_the_receiver_rejects_every_forgery() -> None:
    """The receiver's verify (the same library) accepts the genuine request only."""
    sender = WebhookSender(webhook_settings("https://vendor.example/hooks"))
    body = webhook_body(record(41), received_at=RECEIVED)
    headers = sender.headers(entry(body), time.time())
    receiver = WebhookReceiver(SECRET)
    assert receiver.verify(body, headers) is not None
    for name, (forged_body, forged_headers) in forgeries(body, headers).items():
        assert receiver.verify(forged_body, forged_headers) is None, name


async def test_a_forged_post_is_answered_401_and_stored_nowhere(receiver: WebhookReceiver) -> None:
    """Over HTTP too: a request signed with another secret is refused and not recorded."""
    impostor = WebhookSender(WebhookSettings(url=receiver.url, secret=OTHER_SECRET))
    await impostor.open()
    try:
        with pytest.raises(ClientRequestError) as refused:
            await impostor.send(entry(webhook_body(record(9), received_at=RECEIVED)), time.time())
    finally:
        await impostor.close()
    assert refused.value.status == 401
    assert receiver.deliveries == {}
    assert [a.verified for a in receiver.attempts] == [False]


@pytest.mark.parametrize(
    ("status", "retry_after", "kind", "wait_s"),
    [
        (200, None, None, None),
        (204, None, None, None),
        (429, "30", RateLimited, 30.0),
        (503, "12", RateLimited, 12.0),
        (503, None, ServerError, None),
        (500, None, ServerError, None),
        (408, None, ServerError, None),
        (301, None, ClientRequestError, None),
        (400, None, ClientRequestError, None),
        (410, None, ClientRequestError, None),
    ],
)
def test_answers_are_classified_for_the_retry_policy(
    status: int, retry_after: str | None, kind: type[Exception] | None, wait_s: float | None
) -> None:
    """2xx succeeds; 429/503 bring Retry-After; 5xx/408 are the receiver's, the rest the body's."""
    error = answer_error(status, retry_after, now_wall=RECEIVED.timestamp())
    if kind is None:
        assert error is None
        return
    assert isinstance(error, kind)
    assert error.status == status
    assert getattr(error, "retry_after_s", None) == wait_s
