"""A booking sink on a disk that fills up: ``BOOKYFLOW_SINK=tests.chaos.full_disk:FullDiskSink``.

The worker's own ``JsonLinesBookingSink`` on the file ``CHAOS_SINK_FILE``, except that while the
file ``CHAOS_DISK_FULL`` exists every append writes half its line and then fails with ENOSPC, as
a full disk does. The torn half line stays behind (worse than a real partial write, which the
sink cuts off itself), so the test also proves the sink's rescan drops it.
Imported only by worker subprocesses started by ``tests/chaos/test_failure_modes.py``.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from worker.inventory import sink as sink_module
from worker.inventory.sink import JsonLinesBookingSink

_real_append = sink_module._append


def _append_on_a_full_disk(fd: int, data: bytes) -> None:
    if Path(os.environ["CHAOS_DISK_FULL"]).exists():
        os.write(fd, data[: len(data) // 2])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
    _real_append(fd, data)


class FullDiskSink(JsonLinesBookingSink):
    """The JSON-lines sink with appends that fail while the disk is "full"."""

    def __init__(self) -> None:
        super().__init__(Path(os.environ["CHAOS_SINK_FILE"]))
        sink_module._append = _append_on_a_full_disk  # the one seam: the sink's write+fsync
