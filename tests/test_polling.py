"""The polling helper ends every wait: true at once, false past its bound, or its subject gone."""

from __future__ import annotations

import pytest

from tests.polling import wait_until


async def test_a_true_condition_returns_at_once() -> None:
    """A condition already true needs no poll."""
    calls: list[int] = []

    def holds() -> bool:
        calls.append(1)
        return True

    await wait_until(holds, "an instant truth")
    assert calls == [1]


async def test_a_false_condition_fails_naming_what_was_awaited() -> None:
    """A condition that never holds fails after the bound, with what it waited for."""
    with pytest.raises(AssertionError, match=r"still waiting for the moon after 0\.05 s"):
        await wait_until(lambda: False, "the moon", within_s=0.05, every_s=0.01)


async def test_a_subject_that_is_gone_ends_the_wait_at_once() -> None:
    """``gone`` returning a message fails the wait on the first turn, long before the bound."""
    with pytest.raises(AssertionError, match="worker exited 3 while waiting for a line"):
        await wait_until(lambda: False, "a line", within_s=3600, gone=lambda: "worker exited 3")
