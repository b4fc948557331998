"""Profile one bench with pyinstrument and print a short summary of where the worker's time goes.

``.venv/bin/python bench/_profile.py bench/sync_scale.py`` (``BENCH_PROPERTIES=200`` for a
quick run). The bench runs unchanged, its sandbox in its own process, so the profile is the
worker (and the bench's own baselines) alone. Two tables follow the bench's output:

- ``worker functions by inclusive time``: each ``worker/`` function's share of the profiled wall
  time, counted once per stack (a function calling itself is not counted twice);
- ``self time by function``: where the samples end, each function with its module
  (``worker.*``, or a library's top-level package); idle time (the event loop's ``select``,
  awaits) is shown apart.

Helper module: ``make bench`` skips files whose name starts with ``_``.
"""

from __future__ import annotations

import runpy
import sys
from collections import defaultdict
from pathlib import Path

from pyinstrument import Profiler
from pyinstrument.frame import Frame

TOP = 24
Totals = defaultdict[str, float]


def _name(frame: Frame) -> str:
    return f"{frame.function} ({frame.file_path_short}:{frame.line_no})"


def _module(path: str) -> str:
    parts = Path(path).with_suffix("").parts
    if "worker" in parts:
        return ".".join(parts[parts.index("worker") :])
    if "site-packages" in parts:
        return parts[parts.index("site-packages") + 1]
    return parts[-1] if parts else "?"


def _walk(
    frame: Frame, parent_path: str, found: tuple[Totals, Totals], seen: frozenset[str]
) -> None:
    inclusive, selfs = found
    path = frame.file_path or parent_path
    name = _name(frame)
    if "/worker/" in (frame.file_path or "") and name not in seen:
        inclusive[name] += frame.time
        seen = seen | {name}
    own = frame.time - sum(child.time for child in frame.children)
    if own > 0:
        selfs[_where(frame, path)] += own
    for child in frame.children:
        _walk(child, path, found, seen)


def _where(frame: Frame, path: str) -> str:
    """The module a sample ended in; time spent waiting (select, awaits) is shown apart."""
    function = frame.function
    if function in ("[await]", "[out-of-context]", "epoll.poll") or "selectors" in path:
        return "(idle: awaiting I/O or a sleep)"
    if function.startswith("[") and frame.parent is not None:  # [self]: the parent's own time
        function = frame.parent.function
    return f"{function} [{_module(path)}]"


def _largest(totals: Totals) -> list[tuple[str, float]]:
    return sorted(totals.items(), key=lambda item: -item[1])[:TOP]


def summarise(root: Frame) -> None:
    inclusive: Totals = defaultdict(float)
    selfs: Totals = defaultdict(float)
    _walk(root, "?", (inclusive, selfs), frozenset())
    total = root.time or 1.0
    print(f"\n# profile: {total:.1f} s wall in the bench process")
    print("## worker functions by inclusive time")
    for name, seconds in _largest(inclusive):
        print(f"{100 * seconds / total:5.1f} %  {seconds:6.2f} s  {name}")
    print("## self time by function")
    for name, seconds in _largest(selfs):
        print(f"{100 * seconds / total:5.1f} %  {seconds:6.2f} s  {name}")


def main() -> None:
    script = sys.argv[1]
    sys.argv = sys.argv[1:]
    profiler = Profiler(interval=0.001)
    profiler.start()
    try:
        runpy.run_path(script, run_name="__main__")
    finally:
        profiler.stop()
    root = profiler.last_session.root_frame() if profiler.last_session else None
    if root is not None:
        summarise(root)


if __name__ == "__main__":
    main()
