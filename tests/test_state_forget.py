"""``forget_property``: everything of one property goes, in every table; the others stay."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from tests.state_support import fixed_clock, overview, populate, property_view
from worker.state import DB_NAME, StateStore
from worker.state.schema import PER_PROPERTY_TABLES


def _tables_by_property(db_path: Path) -> set[str]:
    """The tables with a ``property_uid`` column."""
    with sqlite3.connect(db_path) as conn:
        names = [
            str(r[0]) for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
        found = {
            name
            for name in names
            if any(col[1] == "property_uid" for col in conn.execute(f"PRAGMA table_info({name})"))
        }
    conn.close()
    return found


def _rows_of(db_path: Path, uid: int) -> dict[str, int]:
    """Per table with a ``property_uid`` column, how many rows belong to ``uid``."""
    with sqlite3.connect(db_path) as conn:
        counts = {
            table: int(
                conn.execute(
                    f"SELECT COUNT(*) FROM {table} WHERE property_uid = ?",  # noqa: S608 - names from the schema
                    (uid,),
                ).fetchone()[0]
            )
            for table in _tables_by_property(db_path)
        }
    conn.close()
    return counts


async def test_every_table_of_a_property_is_forgotten(tmp_path: Path) -> None:
    """Every table keyed by property is in ``PER_PROPERTY_TABLES`` but ``properties`` (its row
    goes by remote uid) and the webhook outbox, which holds deliveries owed to the vendor (they
    drain on their own)."""
    await (await StateStore.open(tmp_path)).close()
    by_property = _tables_by_property(tmp_path / DB_NAME)
    assert by_property - set(PER_PROPERTY_TABLES) == {"properties", "webhook_outbox"}


async def test_forget_property_clears_it_everywhere_and_keeps_the_other(tmp_path: Path) -> None:
    """State for two properties in every table; forgetting one leaves no row of it (but its
    owed webhook deliveries) and the other exactly as it was."""
    store = await StateStore.open(tmp_path, clock=fixed_clock())
    try:
        await populate(store, "1001", 7)
        await populate(store, "2002", 8)
        assert all(_rows_of(tmp_path / DB_NAME, 7).values())  # there is something to forget
        kept = await property_view(store, "2002", 8)
        await store.forget_property("1001")
        left = _rows_of(tmp_path / DB_NAME, 7)
        assert {table: n for table, n in left.items() if n} == {"webhook_outbox": 2}
        assert await store.get_property("1001") is None
        assert await property_view(store, "2002", 8) == kept
        gone = await property_view(store, "1001", 7)
        assert gone.pop("bookings_read") == gone.pop("bookings_read_all") == (0, None)
        assert gone.pop("ari_progress_all") == (False, None)
        assert not any(gone.values()), gone
        assert [p.remote_uid for p in (await overview(store))["properties"]] == ["2002"]
    finally:
        await store.close()


async def test_forgetting_an_intent_drops_only_its_row(tmp_path: Path) -> None:
    """A property that never got its uid is forgotten by its remote id alone."""
    store = await StateStore.open(tmp_path, clock=fixed_clock())
    try:
        await populate(store, "2002", 8)
        await store.record_property_intent("1001")
        kept = await property_view(store, "2002", 8)
        await store.forget_property("1001")
        assert await store.get_property("1001") is None
        assert await property_view(store, "2002", 8) == kept
    finally:
        await store.close()
