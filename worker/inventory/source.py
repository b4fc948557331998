"""Where the vendor's inventory comes from: the ``InventorySource`` protocol and the JSON file.

``JsonFileInventorySource`` re-reads its file on every ``load()`` (one sync cycle), off the event
loop, and is cheap when nothing changed: an unchanged ``stat`` skips the read, an unchanged
content hash skips the parse. A file larger than ``max_bytes`` (``BOOKYFLOW_INVENTORY_MAX_BYTES``)
is refused like an invalid document (the last good one stays in force): judged by its size
first, then read with a bound, so neither a huge file nor one that grows while read (a pipe) is
ever held whole. Vendors plug in their own source with ``load_plugin``
(``BOOKYFLOW_SOURCE=package.module:Class``).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import importlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol, runtime_checkable

from worker.errors import ConfigError
from worker.inventory.document import (
    DOCUMENT_PATH,
    InventoryProblem,
    InventorySnapshot,
    parse_bytes,
)
from worker.inventory.stat_batch import FileKey, stat_key
from worker.logging import get_logger

__all__ = [
    "DEFAULT_MAX_BYTES",
    "InventorySource",
    "JsonFileInventorySource",
    "load_plugin",
    "log_snapshot",
]

log = get_logger("worker.inventory")


@runtime_checkable
class InventorySource(Protocol):
    """Anything that can tell, once per sync cycle, what the vendor has.

    A source may also define ``async def changed(self) -> bool``: True when the document may
    differ from the one its last ``load()`` returned, and cheap to ask (the worker asks every
    ``BOOKYFLOW_CHANGE_POLL_S``; ``worker.inventory.changes``). Only then does the worker load
    it, diff the properties and push the changed ones at once instead of at the next scheduled
    cycle. A plug-in that is told of changes (a queue, a database notification) keeps a flag
    and returns it here; a source without ``changed()`` is read on the schedule only. ``load()``
    returning the very same snapshot object means nothing changed.
    """

    async def load(self) -> InventorySnapshot: ...


DEFAULT_MAX_BYTES = 64 * 1024 * 1024


@dataclass(frozen=True)
class _Read:
    key: FileKey
    data: bytes | None  # None: the key did not change, nothing was read
    oversized: int | None = None  # the size seen when over the cap (nothing kept)


def _read_if_changed(path: Path, known: FileKey | None, max_bytes: int) -> _Read:
    with path.open("rb") as file:
        st = os.fstat(file.fileno())
        key = FileKey.of(st)
        if key == known:
            return _Read(key, None)
        if st.st_size > max_bytes:
            return _Read(key, None, oversized=st.st_size)
        data = file.read(max_bytes + 1)  # the size can lie: a file growing, a pipe
        if len(data) > max_bytes:
            return _Read(key, None, oversized=len(data))
        return _Read(key, data)


class JsonFileInventorySource:
    """The built-in source: one JSON document (``spec/inventory.md``) at ``path``."""

    def __init__(self, path: Path, *, max_bytes: int = DEFAULT_MAX_BYTES) -> None:
        self.path = Path(path)
        self.max_bytes = max_bytes
        self._key: FileKey | None = None
        self._digest: bytes | None = None
        self._parsed: InventorySnapshot | None = None

    def __repr__(self) -> str:
        return f"JsonFileInventorySource({str(self.path)!r})"

    async def changed(self) -> bool:
        """Whether the file's identity moved since the last load: one ``stat``, no read.

        An unreadable file (mid-replacement, gone) is no change: the next scheduled load
        reports it.
        """
        try:
            key = await stat_key(self.path)
        except OSError:
            return False
        return key != self._key

    async def load(self) -> InventorySnapshot:
        """The current snapshot; raises ``ConfigError`` if the file is unreadable at start-up.

        An unchanged file (the same key) costs one batched ``stat`` and no read: every job run
        loads the inventory, a thousand sites' jobs many times a second.
        """
        if self._parsed is not None:
            with contextlib.suppress(OSError):  # unreadable now: the read below reports it
                if await stat_key(self.path) == self._key:
                    return self._parsed
        try:
            read = await asyncio.to_thread(_read_if_changed, self.path, self._key, self.max_bytes)
        except OSError as exc:
            return self._unreadable(exc)
        self._key = read.key
        if read.oversized is not None:
            return self._oversized(read.oversized)
        if read.data is None and self._parsed is not None:
            return self._parsed
        return await self._parse(read.data or b"")

    def _oversized(self, size: int) -> InventorySnapshot:
        """Refused like an invalid document; served (and not reported) again until it changes."""
        message = (
            f"the file holds at least {size} bytes, over BOOKYFLOW_INVENTORY_MAX_BYTES "
            f"({self.max_bytes}); the last good inventory stays in force"
        )
        previous = self._parsed or InventorySnapshot(fresh=False)
        snapshot = previous.stale(InventoryProblem(DOCUMENT_PATH, message))
        self._digest, self._parsed = None, snapshot
        log_snapshot(snapshot, path=str(self.path))
        return snapshot

    async def _parse(self, data: bytes) -> InventorySnapshot:
        digest = hashlib.sha256(data).digest()
        if digest == self._digest and self._parsed is not None:
            return self._parsed
        previous = self._parsed or InventorySnapshot(fresh=False)
        snapshot = await asyncio.to_thread(parse_bytes, data, previous)
        self._digest, self._parsed = digest, snapshot
        log_snapshot(snapshot, path=str(self.path))
        return snapshot

    def _unreadable(self, exc: OSError) -> InventorySnapshot:
        reason = exc.strerror or type(exc).__name__
        if self._parsed is None:
            raise ConfigError(f"inventory file {self.path} cannot be read: {reason}") from None
        # Forget the file's identity so that it is read (and hashed) again once it is back.
        self._key = None
        log.error("inventory.unreadable", path=str(self.path), reason=reason)
        message = f"cannot read {self.path}: {reason}; the last good inventory stays in force"
        return self._parsed.stale(InventoryProblem(DOCUMENT_PATH, message))


def log_snapshot(snapshot: InventorySnapshot, **where: str) -> None:
    """``inventory.invalid`` per problem, then one ``inventory.loaded``; ``where`` names the
    document (``path=`` for a file, ``url=`` for the HTTP source)."""
    for problem in snapshot.problems:
        log.error("inventory.invalid", **where, field=problem.path, error=problem.message)
    log.info(
        "inventory.loaded",
        **where,
        properties=len(snapshot.properties),
        problems=len(snapshot.problems),
        held=sorted(snapshot.held),
        fresh=snapshot.fresh,
    )


def load_plugin(dotted: str, expected: type, *, setting: str = "BOOKYFLOW_SOURCE") -> type[Any]:
    """The class named ``package.module:Class``, checked against the ``expected`` protocol.

    ``expected`` is a runtime-checkable protocol (``InventorySource``, ``BookingSink``); the
    check covers method names only, so the caller still constructs and uses it with care.
    """
    module_name, sep, attr_path = dotted.partition(":")
    if not (sep and module_name and attr_path):
        raise ConfigError(f"{setting} must look like package.module:Class, got {dotted!r}")
    try:
        target: object = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(f"{setting}: cannot import {module_name!r}: {exc}") from None
    for attr in attr_path.split("."):
        if not hasattr(target, attr):
            raise ConfigError(f"{setting}: {module_name!r} has no attribute {attr_path!r}")
        target = getattr(target, attr)
    if not isinstance(target, type) or not issubclass(target, expected):
        wanted = expected.__name__
        raise ConfigError(f"{setting}: {dotted!r} is not a class implementing {wanted}")
    return target
