"""Per-property digests, the change watcher and the coalescing window, on plain values."""

from __future__ import annotations

import json

from tests.sync.support import seaside
from worker.inventory.changes import (
    ChangeWatcher,
    RestrictedSource,
    changed_uids,
    property_digests,
)
from worker.inventory.document import InventorySnapshot, parse_bytes
from worker.sync.coalesce import Coalescer


def snapshot(*props: dict[str, object], indent: int | None = None) -> InventorySnapshot:
    data = json.dumps({"properties": list(props)}, indent=indent).encode()
    return parse_bytes(data, InventorySnapshot(fresh=False))


class PlugIn:
    """A plug-in source told of changes from outside: ``changed()`` returns its flag."""

    def __init__(self, current: InventorySnapshot) -> None:
        self.current, self.flag, self.loads = current, False, 0

    async def changed(self) -> bool:
        flag, self.flag = self.flag, False
        return flag

    async def load(self) -> InventorySnapshot:
        self.loads += 1
        return self.current


class Plain:
    """A source that cannot tell when it changed."""

    async def load(self) -> InventorySnapshot:
        raise AssertionError("a source without changed() is not loaded by the watcher")


def test_digests_ignore_layout_and_other_properties() -> None:
    """Re-indenting the document or editing another property leaves a property's digest alone."""
    before = property_digests(snapshot(seaside("1"), seaside("2")))
    after = property_digests(snapshot(seaside("1"), seaside("2", base_price="80.00"), indent=2))
    assert before["1"] == after["1"]
    assert changed_uids(before, after) == {"2"}


def test_added_properties_are_changes_and_removed_ones_are_not() -> None:
    """A new property is pushed; a removed one is left to the scheduled properties job."""
    before = property_digests(snapshot(seaside("1"), seaside("2")))
    after = property_digests(snapshot(seaside("1"), seaside("3")))
    assert changed_uids(before, after) == {"3"}


async def test_a_plug_in_is_loaded_only_when_it_signals() -> None:
    """Polls load the plug-in only after it signalled; the diff names the property it changed."""
    source = PlugIn(snapshot(seaside("1"), seaside("2")))
    watcher = ChangeWatcher(source)
    await watcher.load()  # the baseline
    assert await watcher.poll() == frozenset()
    assert source.loads == 1
    source.current = snapshot(seaside("1", base_price="70.00"), seaside("2"))
    source.flag = True
    assert await watcher.poll() == {"1"}
    assert source.loads == 2
    assert await watcher.poll() == frozenset()


async def test_a_change_another_load_saw_first_is_still_reported() -> None:
    """A scheduled job that loads the new document first does not hide the change from poll."""
    source = PlugIn(snapshot(seaside("1")))
    watcher = ChangeWatcher(source)
    await watcher.load()
    source.current = snapshot(seaside("1", base_price="70.00"))
    await watcher.load()  # a job's load, through the watcher
    assert await watcher.poll() == {"1"}


async def test_a_source_without_changed_is_not_watched() -> None:
    """Without ``changed()`` the watcher says it is not watching, and a poll loads nothing."""
    watcher = ChangeWatcher(Plain())
    assert not watcher.watching
    assert await watcher.poll() == frozenset()


async def test_a_restricted_source_shows_only_its_properties() -> None:
    """A change push's source holds just the changed properties, and only their held marks."""
    full = snapshot(seaside("1"), seaside("2"))
    full = InventorySnapshot(full.properties, held=frozenset({"1", "2"}))
    restricted = await RestrictedSource(PlugIn(full), frozenset({"2"})).load()
    assert [p.remote_uid for p in restricted.properties] == ["2"]
    assert restricted.held == {"2"}


def test_a_steady_stream_of_changes_is_not_starved() -> None:
    """Edits every half second are still pushed two seconds after the first, all together."""
    coalescer = Coalescer(window_s=2.0)
    now = 1000.0
    for uid in ("1", "2", "1", "3"):
        coalescer.add(frozenset({uid}), now)
        assert not coalescer.due(now)
        now += 0.5
    assert coalescer.due(now)
    burst = coalescer.take()
    assert burst.uids == {"1", "2", "3"}
    assert burst.changes == 4
    assert not coalescer.due(now + 10)


def test_nothing_changed_is_never_due() -> None:
    """Empty polls neither open a window nor count as changes."""
    coalescer = Coalescer(window_s=2.0)
    coalescer.add(frozenset(), 1000.0)
    assert not coalescer.due(5000.0)
