"""The one polling helper: wait for a condition, with a bound of its own and a clear failure.

For what a test cannot await directly (a sandbox's store, a subprocess's log lines, a file). The
bound is a guard against a hang, not a timed assertion: it is far above how long any condition
takes, and below the per-test timeout, so a stuck wait fails with what it was waiting for
instead of a bare timeout traceback.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["WITHIN_S", "wait_until"]

WITHIN_S = 30.0  # the per-test timeout is 60 s (pyproject)


async def wait_until(
    condition: Callable[[], object],
    what: str,
    *,
    within_s: float = WITHIN_S,
    every_s: float = 0.02,
    gone: Callable[[], str | None] | None = None,
) -> None:
    """Poll ``condition()`` until it is true; fail naming ``what`` after ``within_s`` seconds.

    ``gone()``, when given, is asked on each turn: a message (a worker process exited) ends
    the wait at once with that message.
    """
    deadline = asyncio.get_running_loop().time() + within_s
    while not condition():
        if gone is not None and (why := gone()) is not None:
            raise AssertionError(f"{why} while waiting for {what}")
        if asyncio.get_running_loop().time() >= deadline:
            raise AssertionError(f"still waiting for {what} after {within_s} s")
        await asyncio.sleep(every_s)
