"""Static sharding: which replica owns which site and property, without shared infrastructure.

Every replica is started with the same configuration plus ``BOOKYFLOW_SHARD_COUNT`` and its own
``BOOKYFLOW_SHARD_INDEX`` (or a StatefulSet pod name such as ``worker-3``). Each key (a site's API
URL, a property's vendor ``remote_uid``) belongs to exactly one shard, chosen by rendezvous
(highest-random-weight) hashing over blake2b: every replica computes the same answer on its own,
the answer never depends on the process (unlike ``hash()``), and going from ``n`` to ``n + 1``
shards moves only the ~1/(n + 1) of keys that the new shard wins; nothing moves between old ones.

Each shard keeps its own state directory, so a moved property is reconciled from the server by
its new owner (the properties job adopts it by remote uid) and merely ignored by the old one.

Wiring a shard into a ``SyncContext`` takes both wrappers: ``ShardedInventorySource`` (the vendor
side) and ``ShardedOwnedProperties`` (the site side: every replica shares one channel, so without
it each would pull every site booking and the CMF ownership guard would let it touch every
property). Pruning is refused by ``Settings`` when sharded: one replica cannot tell another
shard's property from a removed one.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

from worker.errors import ConfigError
from worker.inventory.document import InventorySnapshot
from worker.inventory.source import InventorySource
from worker.ownership import OwnedProperties

__all__ = [
    "ShardFilter",
    "ShardSettings",
    "ShardedInventorySource",
    "ShardedOwnedProperties",
    "shard_index_from",
    "shard_of",
]


class ShardSettings(Protocol):
    """What sharding reads of the settings (``worker.settings.Settings`` has both)."""

    @property
    def shard_count(self) -> int: ...

    @property
    def shard_index(self) -> int: ...


# A trailing ordinal: "3", "worker-3", "bookyflow-worker-12".
_ORDINAL = re.compile(r"^(?:.*-)?(\d+)$")


def _weight(key: str, shard: int) -> int:
    """The pseudo-random weight of ``key`` on ``shard``; stable across processes and versions."""
    digest = hashlib.blake2b(f"{shard}\x00{key}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big")


def shard_of(key: str, count: int) -> int:
    """The shard (``0 <= shard < count``) that owns ``key``: the one with the highest weight."""
    if count < 1:
        raise ValueError(f"shard count must be at least 1, got {count}")
    if count == 1:
        return 0
    return max(range(count), key=lambda shard: _weight(key, shard))


def shard_index_from(value: str | int) -> int:
    """``3`` or ``"3"`` or a pod name ending in its ordinal (``"worker-3"``) → ``3``."""
    if isinstance(value, int):
        index = value
    else:
        match = _ORDINAL.match(value.strip())
        if match is None:
            raise ValueError(
                f"shard index must be a number or a name ending in -<number>, got {value!r}"
            )
        index = int(match.group(1))
    if index < 0:
        raise ValueError(f"shard index must not be negative, got {index}")
    return index


@dataclass(frozen=True)
class ShardFilter:
    """The keys owned by shard ``index`` of ``count``."""

    count: int = 1
    index: int = 0

    def __post_init__(self) -> None:
        if self.count < 1 or not 0 <= self.index < self.count:
            raise ConfigError(
                f"invalid sharding: index {self.index} of {self.count} "
                "(BOOKYFLOW_SHARD_INDEX must be below BOOKYFLOW_SHARD_COUNT)"
            )

    @classmethod
    def from_settings(cls, settings: ShardSettings) -> ShardFilter:
        return cls(settings.shard_count, settings.shard_index)

    @property
    def everything(self) -> bool:
        return self.count == 1

    def owns_property(self, remote_uid: str) -> bool:
        return self.everything or shard_of("property:" + remote_uid, self.count) == self.index

    def owns_site(self, api_url: str) -> bool:
        """Sites are keyed by their API root, without a trailing slash."""
        key = "site:" + api_url.rstrip("/")
        return self.everything or shard_of(key, self.count) == self.index

    def snapshot(self, snapshot: InventorySnapshot) -> InventorySnapshot:
        """``snapshot`` restricted to this shard's properties (problems are kept: they are
        the vendor's to fix whichever replica reports them)."""
        if self.everything:
            return snapshot
        return snapshot.restricted(self.owns_property)


class ShardedInventorySource:
    """An ``InventorySource`` that serves only the properties of one shard."""

    def __init__(self, inner: InventorySource, shard: ShardFilter) -> None:
        self.inner = inner
        self.shard = shard

    def __repr__(self) -> str:
        return f"ShardedInventorySource({self.inner!r}, {self.shard.index}/{self.shard.count})"

    async def load(self) -> InventorySnapshot:
        return self.shard.snapshot(await self.inner.load())


class ShardedOwnedProperties(OwnedProperties):
    """The channel's properties on the site that belong to this shard; the rest are invisible.

    ``replace`` (the site's ``properties/ids``) and ``add`` (a property just created) keep only
    this shard's pairs, so jobs iterate, and the CMF ownership guard allows, this shard's only.
    A property this process created stays visible even if a legacy site mangled its remote uid
    (which then hashes elsewhere); across restarts such a property is not re-adopted by shard.
    """

    def __init__(self, shard: ShardFilter, pairs: Iterable[tuple[int, str]] = ()) -> None:
        self.shard = shard
        self._created: set[int] = set()
        super().__init__(self._mine(pairs))

    def _mine(self, pairs: Iterable[tuple[int, str]]) -> list[tuple[int, str]]:
        return [
            (uid, remote)
            for uid, remote in pairs
            if uid in self._created or self.shard.owns_property(remote)
        ]

    def add(self, property_uid: int, remote_uid: str) -> None:
        if self.shard.owns_property(remote_uid):
            self._created.add(property_uid)
            super().add(property_uid, remote_uid)

    def replace(self, pairs: Iterable[tuple[int, str]]) -> None:
        super().replace(self._mine(pairs))
