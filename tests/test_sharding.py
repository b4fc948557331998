"""Static sharding: stable, complete, minimal-movement assignment; filtered sources and owners."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.sync.support import seaside
from worker.errors import ConfigError
from worker.inventory.document import InventorySnapshot
from worker.inventory.models import Property
from worker.inventory.source import JsonFileInventorySource
from worker.settings import Settings
from worker.sharding import (
    ShardedInventorySource,
    ShardedOwnedProperties,
    ShardFilter,
    shard_index_from,
    shard_of,
)

UIDS = [f"hotel-{n}" for n in range(3000)]
BASE: dict[str, Any] = {
    "api_url": "http://127.0.0.1:8080/bookyflow/api",
    "client_id": "demo",
    "client_secret": "s3cret-value",
    "channel_name": "acme",
}


def _inventory(tmp_path: Path, count: int) -> Path:
    path = tmp_path / "inventory.json"
    props = [seaside(str(1000 + n), reservations=[]) for n in range(count)]
    path.write_text(json.dumps({"properties": props}), encoding="utf-8")
    return path


def test_every_key_gets_the_same_shard_every_time() -> None:
    """The assignment is a pure function of key and count (no per-process hash seed)."""
    assert [shard_of(uid, 5) for uid in UIDS[:50]] == [shard_of(uid, 5) for uid in UIDS[:50]]
    # Pinned values: a change of hash function would silently reshuffle every deployment.
    assert [shard_of(f"property:{n}", 4) for n in range(1000, 1012)] == [
        3, 3, 2, 1, 2, 2, 0, 1, 3, 0, 3, 0
    ]  # fmt: skip
    assert all(shard_of(uid, 1) == 0 for uid in UIDS[:10])


def test_three_shards_cover_every_property_exactly_once(tmp_path: Path) -> None:
    """Three filters over the same keys partition them: each key kept by exactly one shard."""
    filters = [ShardFilter(3, index) for index in range(3)]
    owners = Counter(uid for uid in UIDS for f in filters if f.owns_property(uid))
    assert set(owners) == set(UIDS)
    assert set(owners.values()) == {1}
    sizes = [sum(f.owns_property(uid) for uid in UIDS) for f in filters]
    assert all(800 < size < 1200 for size in sizes), sizes  # roughly even, 1000 expected


async def test_three_sharded_sources_split_one_inventory(tmp_path: Path) -> None:
    """Three replicas reading the same file together see each property exactly once."""
    path = _inventory(tmp_path, 30)
    seen: list[str] = []
    for index in range(3):
        source = ShardedInventorySource(JsonFileInventorySource(path), ShardFilter(3, index))
        seen += [p.remote_uid for p in (await source.load()).properties]
    assert sorted(seen) == sorted(str(1000 + n) for n in range(30))


@pytest.mark.parametrize(("before", "after"), [(3, 4), (4, 5), (4, 3), (8, 9)])
def test_changing_the_count_moves_only_the_expected_fraction(before: int, after: int) -> None:
    """Going from n to m shards moves about |m - n| / max(m, n) of the keys, and no key moves
    between two shards that exist in both layouts unless one of them was removed."""
    moved = [uid for uid in UIDS if shard_of(uid, before) != shard_of(uid, after)]
    expected = abs(after - before) / max(before, after)
    assert abs(len(moved) / len(UIDS) - expected) < 0.05
    if after > before:  # growing: keys only move to the new shards
        assert all(shard_of(uid, after) >= before for uid in moved)
    else:  # shrinking: only keys of the removed shards move
        assert all(shard_of(uid, before) >= after for uid in moved)


def test_sites_are_keyed_by_api_url_without_trailing_slash() -> None:
    """A site belongs to one shard, whatever its URL's trailing slash."""
    url = "https://hotel.example/bookyflow/api"
    for count in (2, 3, 7):
        owners = [i for i in range(count) if ShardFilter(count, i).owns_site(url)]
        assert len(owners) == 1
        assert ShardFilter(count, owners[0]).owns_site(url + "/")


@pytest.mark.parametrize(
    ("value", "index"), [("3", 3), ("worker-3", 3), ("bookyflow-worker-12", 12), (0, 0)]
)
def test_shard_index_accepts_numbers_and_pod_names(value: str | int, index: int) -> None:
    """A StatefulSet pod name yields its ordinal."""
    assert shard_index_from(value) == index


@pytest.mark.parametrize("value", ["worker", "", "worker-3a", -1])
def test_shard_index_rejects_names_without_an_ordinal(value: str | int) -> None:
    """Anything that does not end in a non-negative number is refused."""
    with pytest.raises(ValueError, match="shard index"):
        shard_index_from(value)


def test_filter_refuses_an_index_outside_the_count() -> None:
    """Index 3 of 3 shards is a configuration error."""
    with pytest.raises(ConfigError, match="BOOKYFLOW_SHARD_INDEX"):
        ShardFilter(3, 3)


def test_settings_read_the_shard_from_a_pod_name(monkeypatch: pytest.MonkeyPatch) -> None:
    """BOOKYFLOW_SHARD_INDEX=worker-2 with BOOKYFLOW_SHARD_COUNT=3 is shard 2 of 3."""
    monkeypatch.setenv("BOOKYFLOW_SHARD_COUNT", "3")
    monkeypatch.setenv("BOOKYFLOW_SHARD_INDEX", "worker-2")
    settings = Settings(**BASE)
    assert (settings.shard_count, settings.shard_index) == (3, 2)
    assert ShardFilter.from_settings(settings) == ShardFilter(3, 2)


def test_settings_default_to_one_shard_and_validate_the_index() -> None:
    """Defaults are 1 and 0; an index at or above the count, or prune when sharded, is refused."""
    settings = Settings(**BASE)
    assert (settings.shard_count, settings.shard_index) == (1, 0)
    with pytest.raises(ValueError, match="shard_index must be below shard_count"):
        Settings(**BASE, shard_count=2, shard_index="worker-2")
    with pytest.raises(ValueError, match="prune cannot be used"):
        Settings(**BASE, shard_count=2, scopes="read write delete", prune=True)


def test_snapshot_filter_keeps_held_names_of_its_own_shard_only() -> None:
    """``held`` is narrowed to the shard's properties; problems stay visible on every shard."""
    props = tuple(Property.model_validate(seaside(str(n), reservations=[])) for n in range(20))
    snapshot = InventorySnapshot(props, held=frozenset(p.remote_uid for p in props[:10]))
    shard = ShardFilter(2, 1)
    mine = shard.snapshot(snapshot)
    assert {p.remote_uid for p in mine.properties} == {
        p.remote_uid for p in props if shard.owns_property(p.remote_uid)
    }
    assert mine.held == {uid for uid in snapshot.held if shard.owns_property(uid)}
    assert ShardFilter().snapshot(snapshot) is snapshot


def test_sharded_owned_properties_hide_other_shards() -> None:
    """The site's list is narrowed to the shard, so jobs and the ownership guard ignore the rest."""
    shard = ShardFilter(3, 0)
    pairs = [(n, f"hotel-{n}") for n in range(60)]
    owned = ShardedOwnedProperties(shard, pairs)
    mine = {uid for uid, remote in pairs if shard.owns_property(remote)}
    assert {uid for uid, _ in owned.items()} == mine
    other = next(uid for uid, _ in pairs if uid not in mine)
    assert not owned.owns(other)
    owned.add(1000, f"hotel-{other}")  # another shard's property: not adopted
    assert owned.owns(1000) == shard.owns_property(f"hotel-{other}")


def test_sharded_owned_properties_keep_a_created_property_with_a_mangled_uid() -> None:
    """A property created here stays ours when a legacy site lists it under a mangled uid."""
    shard = ShardFilter(3, 0)
    remote = next(uid for uid in UIDS if shard.owns_property(uid) and not shard.owns_property("0"))
    owned = ShardedOwnedProperties(shard)
    owned.add(7, remote)
    owned.replace([(7, "0")])
    assert owned.owns(7)
