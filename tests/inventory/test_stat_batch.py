"""One worker-thread hop for every ``stat`` of a loop pass (``worker.inventory.stat_batch``)."""

from __future__ import annotations

import asyncio
import os
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from worker.inventory.stat_batch import FileKey, stat_key


class CountingExecutor(ThreadPoolExecutor):
    """A real thread pool that counts what it is given."""

    def __init__(self) -> None:
        super().__init__(max_workers=2)
        self.submitted = 0

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.submitted += 1
        return super().submit(fn, *args, **kwargs)


async def test_the_stats_of_one_loop_pass_share_one_thread_hop(tmp_path: Path) -> None:
    """Fifty watchers asking at once cost one executor job, each gets its own file's key."""
    paths = []
    for n in range(50):
        path = tmp_path / f"inventory-{n}.json"
        path.write_text("x" * n)
        paths.append(path)
    executor = CountingExecutor()
    asyncio.get_running_loop().set_default_executor(executor)
    keys = await asyncio.gather(*(stat_key(path) for path in paths))
    assert executor.submitted == 1
    assert [key.size for key in keys] == list(range(50))
    assert keys[7] == FileKey.of(os.stat(paths[7]))
    await asyncio.gather(stat_key(paths[0]), stat_key(paths[1]))
    assert executor.submitted == 2  # a later pass is a hop of its own


async def test_a_failing_stat_fails_its_own_caller_only(tmp_path: Path) -> None:
    """A file gone mid-replacement raises for its watcher; the others get their keys."""
    here = tmp_path / "here.json"
    here.write_text("{}")
    found, missing = await asyncio.gather(
        stat_key(here), stat_key(tmp_path / "gone.json"), return_exceptions=True
    )
    assert isinstance(found, FileKey)
    assert found.size == 2
    assert isinstance(missing, FileNotFoundError)


async def test_a_cancelled_caller_leaves_the_batch_answering_the_rest(tmp_path: Path) -> None:
    """Cancelling one waiter (a worker stopping) does not break the other answers."""
    path = tmp_path / "inventory.json"
    path.write_text("{}")
    first = asyncio.ensure_future(stat_key(path))
    second = asyncio.ensure_future(stat_key(path))
    await asyncio.sleep(0)
    first.cancel()
    assert (await second).size == 2
    with pytest.raises(asyncio.CancelledError):
        await first
