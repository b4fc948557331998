"""Which vendor properties changed: per-property digests, and the watcher that asks the source.

``property_digests`` hashes each property's validated model (its canonical JSON dump), so two
documents that differ only in whitespace, key order or another property's entry give the same
digest for it. ``ChangeWatcher`` wraps the source: every ``load()`` through it (a scheduled
job's, or its own) diffs a new snapshot against the last one's digests and keeps the changed
remote uids until ``poll`` takes them, so a change a job happened to load first is not missed.
``poll`` asks the source's optional ``changed()`` (``InventorySource``) and loads only when it
says so; a ``load()`` that returns the very snapshot it returned last time (the file source's
unchanged stat or content hash, the HTTP source's 304) costs no digest either. Kept: the last
snapshot's digests and the pending uids, each at most one per property in the document.
"""

from __future__ import annotations

import hashlib
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from worker.inventory.document import InventorySnapshot
from worker.inventory.source import InventorySource

__all__ = ["ChangeWatcher", "RestrictedSource", "changed_uids", "property_digests"]


def property_digests(snapshot: InventorySnapshot) -> dict[str, bytes]:
    """Remote uid → SHA-256 of the property's canonical JSON dump."""
    return {
        prop.remote_uid: hashlib.sha256(prop.model_dump_json().encode()).digest()
        for prop in snapshot.properties
    }


def changed_uids(before: Mapping[str, bytes], after: Mapping[str, bytes]) -> frozenset[str]:
    """The remote uids added or changed from ``before`` to ``after`` (removals are the
    scheduled properties job's, with its prune rules)."""
    return frozenset(uid for uid, digest in after.items() if before.get(uid) != digest)


class ChangeWatcher:
    """``source``, loaded through here so that every new snapshot is diffed once."""

    def __init__(self, source: InventorySource) -> None:
        self.source = source
        self._changed: Callable[[], Awaitable[bool]] | None = getattr(source, "changed", None)
        self._last: InventorySnapshot | None = None
        self._digests: dict[str, bytes] = {}
        self._pending: set[str] = set()
        self.diffs = 0  # new snapshots diffed (for tests and profiles)

    def __getattr__(self, name: str) -> Any:  # a plug-in's own extras stay reachable
        return getattr(self.source, name)

    @property
    def watching(self) -> bool:
        """False for a source without ``changed()``: it is read on the schedule only."""
        return self._changed is not None

    async def load(self) -> InventorySnapshot:
        snapshot = await self.source.load()
        if snapshot is not self._last:
            self._note(snapshot)
        return snapshot

    def _note(self, snapshot: InventorySnapshot) -> None:
        digests = property_digests(snapshot)
        if self._last is not None:  # the first snapshot is the baseline, not a change
            self._pending |= changed_uids(self._digests, digests)
        self._last, self._digests = snapshot, digests
        self.diffs += 1

    async def poll(self) -> frozenset[str]:
        """The remote uids changed since the last poll (loading when the source says so)."""
        if self._changed is not None and await self._changed():
            await self.load()
        taken, self._pending = frozenset(self._pending), set()
        return taken


class RestrictedSource:
    """``source`` seen through a window: only the properties in ``uids`` (a change push)."""

    def __init__(self, source: InventorySource, uids: frozenset[str]) -> None:
        self.source, self.uids = source, uids

    async def load(self) -> InventorySnapshot:
        return (await self.source.load()).restricted(self.uids.__contains__)
