"""File ``stat`` calls of one event-loop pass, made in one worker-thread hop.

A thousand sites' inventory files are each asked "did you change?" every second. A ``stat`` is a
few microseconds, but it is made off the event loop (a hung network mount must not freeze every
site), and one thread hop per file costs far more than the ``stat`` itself. ``stat_key`` queues
the path; the first call of a loop pass schedules one flush with ``call_soon``, so every call
made in the same pass (the change watchers wake on one shared tick: ``worker.sync.coalesce``)
shares a single ``run_in_executor``. A failing ``stat`` fails its own caller only.
"""

from __future__ import annotations

import asyncio
import os
import weakref
from collections.abc import Sequence
from pathlib import Path
from typing import NamedTuple

__all__ = ["FileKey", "stat_key"]


class FileKey(NamedTuple):
    """Identity of one version of a file, without reading it (a vendor replaces it by rename)."""

    dev: int
    ino: int
    size: int
    mtime_ns: int

    @classmethod
    def of(cls, st: os.stat_result) -> FileKey:
        return cls(st.st_dev, st.st_ino, st.st_size, st.st_mtime_ns)


_Waiter = tuple[Path, "asyncio.Future[FileKey]"]
# One queue per running loop (tests run many loops in one process).
_queues: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, list[_Waiter]] = (
    weakref.WeakKeyDictionary()
)


def _stat_all(paths: Sequence[Path]) -> list[FileKey | OSError]:
    found: list[FileKey | OSError] = []
    for path in paths:
        try:
            found.append(FileKey.of(os.stat(path)))
        except OSError as exc:
            found.append(exc)
    return found


async def stat_key(path: Path) -> FileKey:
    """``path``'s key, stat-ed in a worker thread together with this loop pass's other calls."""
    loop = asyncio.get_running_loop()
    waiter: asyncio.Future[FileKey] = loop.create_future()
    queue = _queues.get(loop)
    if queue is None:
        queue = _queues[loop] = []
        loop.call_soon(_flush, loop)
    queue.append((path, waiter))
    return await waiter


def _flush(loop: asyncio.AbstractEventLoop) -> None:
    waiters = _queues.pop(loop, [])
    done = loop.run_in_executor(None, _stat_all, [path for path, _ in waiters])
    done.add_done_callback(lambda future: _answer(waiters, future))


def _answer(waiters: Sequence[_Waiter], future: asyncio.Future[list[FileKey | OSError]]) -> None:
    if future.cancelled():
        results: Sequence[FileKey | BaseException] = [asyncio.CancelledError()] * len(waiters)
    elif (error := future.exception()) is not None:
        results = [error] * len(waiters)
    else:
        results = future.result()
    for (_, waiter), result in zip(waiters, results, strict=True):
        if waiter.done():  # its caller was cancelled meanwhile
            continue
        if isinstance(result, BaseException):
            waiter.set_exception(result)
        else:
            waiter.set_result(result)
