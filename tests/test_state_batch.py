"""The batch readers of the state store say, for every property at once, what the single ones
say for each; the generations they are trusted by move with every write of what they read."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from tests.state_support import D1, D2, D3, fixed_clock, populate
from worker.state import AriProgress, PushedCell, StateStore

UIDS = (7, 8, 9)  # 9 has no state at all


async def _store(tmp_path: Path) -> StateStore:
    store = await StateStore.open(tmp_path, clock=fixed_clock())
    await populate(store, "1001", 7)
    await populate(store, "2002", 8)
    await store.mark_bookings_read(8, 30, D2)
    await store.mark_drift(8, 40, reconcile=True, rooms=True)
    return store


async def test_progress_batches_match_the_single_readers(tmp_path: Path) -> None:
    """``bookings_read_all``, ``drift_seen_all`` and ``ari_progress_all`` per property equal
    ``bookings_read``, ``drift_seen`` and ``has_base_price`` with ``reconciled_on``."""
    store = await _store(tmp_path)
    try:
        single_reads = {uid: await store.bookings_read(uid) for uid in UIDS}
        assert await store.bookings_read_all(UIDS) == single_reads
        assert single_reads[8] == (30, D2)  # the properties differ: the test can tell them apart
        assert await store.drift_seen_all(UIDS) == {
            uid: await store.drift_seen(uid) for uid in UIDS
        }
        progress = {
            uid: AriProgress(await store.has_base_price(uid), await store.reconciled_on(uid))
            for uid in UIDS
        }
        assert await store.ari_progress_all(UIDS) == progress
        assert progress[7] == (True, D1)
        assert progress[8] == (True, None)
        assert set(await store.bookings_read_all([8])) == {8}  # only the uids asked
    finally:
        await store.close()


async def test_pushed_digests_are_equal_exactly_when_the_pushed_nights_are(tmp_path: Path) -> None:
    """Equal pushed nights give equal digests; another price, another night or none differ."""
    store = await _store(tmp_path)
    try:
        digests = await store.pushed_digests(UIDS)
        assert await store.get_pushed(7) == await store.get_pushed(8)
        assert digests[7] == digests[8]
        assert 9 not in digests
        await store.record_pushed(8, {D3: PushedCell(Decimal("99.50"), 1)})
        changed = await store.pushed_digests(UIDS)
        assert changed[8] != changed[7] == digests[7]
        await store.record_pushed(8, {D3: PushedCell(Decimal("99"), 1)})
        assert (await store.pushed_digests(UIDS))[8] == digests[8]  # back as it was
        await store.record_pushed(8, {D3 + timedelta(days=1): PushedCell(Decimal("99"), 1)})
        assert (await store.pushed_digests(UIDS))[8] != digests[8]
        await store.forget_pushed(8)
        assert 8 not in await store.pushed_digests(UIDS)
    finally:
        await store.close()


async def test_reservations_by_id_matches_get_reservation(tmp_path: Path) -> None:
    """Every id asked that has a record, as ``get_reservation`` reads it; others are absent."""
    store = await _store(tmp_path)
    try:
        ids = ["OTA-7-1", "OTA-7-2", "OTA-8-1", "OTA-none"]
        found = await store.reservations_by_id(ids)
        assert found == {i: r for i in ids if (r := await store.get_reservation(i)) is not None}
        assert set(found) == {"OTA-7-1", "OTA-7-2", "OTA-8-1"}
        many = [f"OTA-x-{n}" for n in range(1200)] + ["OTA-8-2"]  # more than one query's worth
        assert set(await store.reservations_by_id(many)) == {"OTA-8-2"}
    finally:
        await store.close()


async def test_generations_move_with_the_writes_they_guard(tmp_path: Path) -> None:
    """Writes of the ARI job's batch-read state move ``generations["ari"]``, of reservation
    records ``generations["reservations"]``, forgetting a property both; other writes neither."""
    store = await _store(tmp_path)
    try:

        def now() -> tuple[int, int]:
            return store.generations["ari"], store.generations["reservations"]

        start = now()
        await store.record_job_outcome(7, "ari", None)
        await store.mark_bookings_read(7, 50, D3)
        await store.mark_rooms_synced(7, D3, "fp")
        assert now() == start
        for write in (
            store.mark_reconciled(7, D3),
            store.mark_base_price(7),
            store.mark_drift(7, 60, reconcile=True, rooms=False),
            store.record_pushed(7, {D3: PushedCell(Decimal("1"), 1)}),
            store.forget_pushed(7, before=D2),
        ):
            before = now()
            await write
            assert now()[0] > before[0]
            assert now()[1] == before[1]
        before = now()
        await store.record_reservation("OTA-7-9", 7, "intent")
        await store.remember_push("OTA-7-9", "{}")
        assert now()[0] == before[0]
        assert now()[1] > before[1]
        before = now()
        await store.forget_property("1001")
        assert now()[0] > before[0]
        assert now()[1] > before[1]
    finally:
        await store.close()
