"""Runs that change nothing cost little: an unchanged change log is not parsed again, an
unchanged property is not diffed again, an unchanged pushed reservation is not compared again —
and whatever does change is still acted on, exactly once."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from decimal import Decimal
from typing import Any

import pytest

import worker.sync.bookings as bookings_job
import worker.sync.reservations as reservations_job
from tests.sync.support import Harness, day, seaside
from worker.state import PushedCell, StateStore


def _counting(monkeypatch: pytest.MonkeyPatch, owner: object, name: str) -> list[int]:
    """Count the calls of ``owner.name`` (the real function still runs)."""
    calls: list[int] = []
    real: Callable[..., Any] = getattr(owner, name)

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return real(*args, **kwargs)

    monkeypatch.setattr(owner, name, counted)
    return calls


async def _synced(harness: Harness) -> int:
    harness.write_inventory(seaside("1001"))
    assert (await harness.run("properties")).ok
    assert (await harness.run("reservations")).ok
    assert (await harness.run("ari")).ok
    return harness.context.owned.items()[0][0]


async def test_cmf_change_logs_unless_skips_the_parse_of_a_known_answer(harness: Harness) -> None:
    """The same answer gives the same digest and no events; the events parsed are those of
    ``change_logs``; a new event changes the digest."""
    uid = await _synced(harness)
    cmf = harness.context.cmf
    digest, events = await cmf.change_logs_unless(None)
    assert events == await cmf.change_logs()
    assert await cmf.change_logs_unless(digest) == (digest, None)
    harness.sandbox.store.book_on_site(uid, day(60), day(61))
    newer, events = await cmf.change_logs_unless(digest)
    assert newer != digest
    assert events is not None
    assert uid in events


async def test_an_unchanged_log_is_read_but_not_parsed_and_news_arrives_once(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Every run reads the change log (one GET); only a changed one is parsed; a booking made
    on the site in between is delivered once, and the runs after it deliver nothing."""
    uid = await _synced(harness)
    parsed = _counting(monkeypatch, bookings_job, "summarise")
    assert (await harness.run("bookings")).ok
    harness.sandbox.journal.clear()
    for _ in range(3):
        assert (await harness.run("bookings")).ok
    assert len(parsed) == 1
    assert len(harness.sandbox.journal.matching(path="change/logs")) == 3
    assert harness.sandbox.journal.matching(path="list/bookings") == []
    harness.sandbox.store.book_on_site(uid, day(60), day(61), firstname="Rui")
    assert (await harness.run("bookings")).counts["delivered"] == 1
    assert len(parsed) == 2
    for _ in range(2):
        result = await harness.run("bookings")
        assert result.ok
        assert result.counts["delivered"] == 0
    assert len(parsed) == 2
    assert [line["booking"]["guest_data"]["firstname"] for line in harness.delivered()] == ["Rui"]


async def test_the_daily_read_still_happens_on_an_unchanged_log(harness: Harness) -> None:
    """The next day every property is listed once again, though the log did not change."""
    await _synced(harness)
    assert (await harness.run("bookings")).ok
    assert (await harness.run("bookings")).counts["unchanged"] == 1
    harness.today += timedelta(days=1)
    harness.sandbox.journal.clear()
    assert (await harness.run("bookings")).ok
    assert len(harness.sandbox.journal.matching(path="list/bookings")) == 1


async def test_a_lost_state_with_an_unchanged_log_delivers_nothing_twice(harness: Harness) -> None:
    """The memo of the log outlives a lost state directory; the bookings are offered again and
    the sink refuses what it holds."""
    uid = await _synced(harness)
    harness.sandbox.store.book_on_site(uid, day(60), day(61))
    assert (await harness.run("bookings")).counts["delivered"] == 1
    await harness.restart(lose_state=True)
    result = await harness.run("bookings")
    assert result.ok
    assert (result.counts["delivered"], result.counts["already_delivered"]) == (0, 1)
    assert len(harness.delivered()) == 1


def _pushed_reads(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    return _counting(monkeypatch, StateStore, "get_pushed")


async def test_an_unchanged_property_is_not_diffed_again_and_a_change_is_sent(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Once a run found nothing to send, the next ones read no pushed nights and send nothing;
    an inventory edit is sent on the next run."""
    await _synced(harness)
    assert (await harness.run("ari")).ok  # the run that finds the diff empty
    reads = _pushed_reads(monkeypatch)
    harness.sandbox.journal.clear()
    for _ in range(2):
        assert (await harness.run("ari")).ok
    assert reads == []
    assert harness.writes() == []
    changed = seaside("1001")
    changed["rates"].append({"date_from": day(15), "date_to": day(15), "price": "99.00"})
    harness.write_inventory(changed)
    assert (await harness.run("ari")).counts["pushed"] == 1
    assert len(reads) == 1
    assert [w.path.rsplit("/", 1)[-1] for w in harness.writes()] == ["prices", "minstays"]


async def test_a_drift_mark_or_a_state_write_takes_the_full_path(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A forgotten reconciliation (drift) reconciles on the next run, and a pushed night written
    since the last diff is diffed again and corrected."""
    uid = await _synced(harness)
    assert (await harness.run("ari")).ok
    reads = _pushed_reads(monkeypatch)
    await harness.state.mark_drift(uid, 10**6, reconcile=True, rooms=False)
    harness.sandbox.journal.clear()
    assert (await harness.run("ari")).ok
    assert len(reads) == 1
    assert len(harness.sandbox.journal.matching(path="calendar")) == 1  # reconciled
    assert (await harness.run("ari")).ok  # finds the diff empty again
    night = harness.today + timedelta(days=3)
    await harness.state.record_pushed(uid, {night: PushedCell(Decimal("1.00"), 1)})
    harness.sandbox.journal.clear()
    result = await harness.run("ari")
    assert result.counts["pushed"] == 1  # state says 1.00 was sent: the night is sent again
    assert len(reads) == 3
    [put] = harness.writes_to("property/prices")
    assert json.loads(put.form["ratepernight"]) == [
        {"date_from": day(3), "date_to": day(3), "ratepernight": "120.00"}
    ]


async def test_a_pushed_reservation_is_compared_once_until_it_changes(
    harness: Harness, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A pushed, unchanged reservation is not digested on every run; a change of it in the
    document is reported once."""
    await _synced(harness)
    assert (await harness.run("reservations")).ok
    compared = _counting(monkeypatch, reservations_job, "field_digests")
    digested = _counting(monkeypatch, reservations_job, "content_digest")
    for _ in range(3):
        assert (await harness.run("reservations")).ok
    assert (compared, digested) == ([], [])
    harness.sandbox.journal.clear()
    changed = seaside("1001")
    changed["reservations"][0]["guests"] = 1
    harness.write_inventory(changed)
    assert (await harness.run("reservations")).counts["changed"] == 1
    assert (await harness.run("reservations")).counts["changed"] == 0
    assert harness.writes_to("reservations/add") == []
