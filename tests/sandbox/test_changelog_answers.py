"""The change log served from its cached encoding is byte for byte a fresh one: it follows every
new event, property and deletion of the channel, the 14-day window, and a clock set back."""

from __future__ import annotations

import json
from typing import Any

from tests.sandbox.conftest import CHANNEL, DEMO, Api, FakeWallClock, create_property
from worker.sandbox.envelope import NO_ENVELOPE_HEADER
from worker.sandbox.store import SandboxStore

LOGS = "/cmf/properties/change/logs"
DAY = 86400.0


async def _raw(api: Api, **headers: str) -> str:
    sent = {"Authorization": f"Bearer {api.token}", "X-BOOKYFLOW-channel-name": CHANNEL,
            **headers}  # fmt: skip
    async with api.session.get(api.base + LOGS, headers=sent) as response:
        assert response.status == 200, await response.text()
        assert response.content_type == "application/json"
        return await response.text()


def _fresh(store: SandboxStore) -> dict[str, Any]:
    """The answer encoded from scratch, as the real-engine path has always made it."""
    channel = store.channel(store.access.owner_of(DEMO.client_id), CHANNEL)
    return store.reservations.change_logs(channel, engine=True)


async def _check(api: Api, store: SandboxStore) -> dict[str, Any]:
    """The served answer is in ``json.dumps``' own format and holds the fresh answer."""
    text = await _raw(api)
    body = json.loads(text)
    assert json.dumps(body) == text  # the default encoding, byte for byte
    assert body["data"]["response"] == _fresh(store)
    assert body["meta"]["code"] == 200
    assert body["meta"]["site"]["url"] == LOGS
    return dict(body["data"]["response"])


async def test_cached_answer_follows_every_change(
    ready: Api, store: SandboxStore, clock: FakeWallClock
) -> None:
    """Polled again, the answer is the same text; a new event, a new property, a deletion, a
    booking and events leaving the window each show in the next answer."""
    first = await create_property(ready, "101")
    one = await _check(ready, store)
    assert await _raw(ready) == await _raw(ready)
    second = await create_property(ready, "102")
    two = await _check(ready, store)
    assert list(two) == [str(first), str(second)]
    assert two != one
    booking = store.book_on_site(first, "2025-05-01", "2025-05-02")
    booked = await _check(ready, store)
    assert len(booked[str(first)]) > len(two[str(first)])
    assert await ready.cmf("DELETE", f"/cmf/property/local/{second}") is True
    assert list(await _check(ready, store)) == [str(first)]
    clock.advance(10 * DAY)
    store.modify_site_booking(booking["booking_id"], surname="Later")
    clock.advance(5 * DAY)  # the first events leave the window, none are pruned yet
    ready.token = await ready.fetch_token()
    late = await _check(ready, store)
    assert [e["action"] for e in late[str(first)]] == ["booking_modified"]
    clock.now -= 5 * DAY  # a clock set back brings them back
    ready.token = await ready.fetch_token()
    assert len((await _check(ready, store))[str(first)]) == len(booked[str(first)]) + 1


async def test_bare_and_legacy_answers(ready: Api, store: SandboxStore) -> None:
    """Without the envelope the payload text alone is sent; legacy mode still answers its own
    shape (spec events, string ids), never the cached real-engine text."""
    uid = await create_property(ready, "101")
    await _check(ready, store)
    bare = await _raw(ready, **{NO_ENVELOPE_HEADER: "1"})
    assert json.loads(bare) == _fresh(store)
    assert json.dumps(json.loads(bare)) == bare
    store.legacy = True
    legacy = json.loads(await _raw(ready))["data"]["response"]
    assert list(legacy[str(uid)][0]) == ["event_id", "property_uid", "action", "date",
                                         "channel_data"]  # fmt: skip
    assert legacy[str(uid)][0]["event_id"] == "1"
