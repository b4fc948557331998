"""The injected clock: virtual time that wakes sleepers in order, and the real one."""

from __future__ import annotations

import asyncio

import pytest

from worker.clock import Clock, SystemClock
from worker.testing import FakeClock


async def test_fake_clock_wakes_a_sleeper_only_when_its_deadline_passes() -> None:
    """A sleeper stays parked until ``advance`` reaches its deadline, then resumes."""
    clock = FakeClock()
    sleeper = asyncio.create_task(clock.sleep(2.0))
    await clock.run_until_idle()
    clock.advance(1.999)
    await clock.run_until_idle()
    assert not sleeper.done()
    clock.advance(0.001)
    await clock.run_until_idle()
    assert sleeper.done()
    assert clock.now() == pytest.approx(1002.0)


async def test_run_for_wakes_sleepers_in_deadline_order_at_their_own_time() -> None:
    """``run_for`` steps from deadline to deadline, so a woken task sees its own wake-up time."""
    clock = FakeClock()
    woke: list[tuple[str, float]] = []

    async def nap(name: str, seconds: float) -> None:
        await clock.sleep(seconds)
        woke.append((name, clock.now()))

    tasks = [asyncio.create_task(nap(n, s)) for n, s in (("late", 3.0), ("early", 1.0))]
    await clock.run_for(5.0)
    assert woke == [("early", 1001.0), ("late", 1003.0)]
    assert clock.now() == 1005.0
    await asyncio.gather(*tasks)


async def test_run_for_follows_a_loop_that_sleeps_again_after_waking() -> None:
    """A periodic task gets one turn per period of virtual time."""
    clock = FakeClock()
    ticks: list[float] = []

    async def every_second() -> None:
        while True:
            ticks.append(clock.now())
            await clock.sleep(1.0)

    task = asyncio.create_task(every_second())
    await clock.run_for(3.5)
    task.cancel()
    assert ticks == [1000.0, 1001.0, 1002.0, 1003.0]


async def test_auto_advance_moves_time_by_each_sleep_without_parking() -> None:
    """In auto-advance mode a sleep returns at once with virtual time moved forward."""
    clock = FakeClock(auto_advance=True)
    await clock.sleep(2.5)
    await clock.sleep(-1.0)
    assert clock.now() == 1002.5
    assert clock.slept == [2.5, 0.0]


async def test_cancelled_sleeper_is_dropped_and_time_cannot_go_backwards() -> None:
    """A cancelled sleep does not break later advances, and a negative advance is refused."""
    clock = FakeClock()
    sleeper = asyncio.create_task(clock.sleep(1.0))
    await clock.run_until_idle()
    sleeper.cancel()
    await clock.run_until_idle()
    clock.advance(2.0)
    assert clock.next_deadline is None
    with pytest.raises(ValueError, match="backwards"):
        clock.advance(-1.0)


async def test_system_clock_is_monotonic_and_sleeps_for_real() -> None:
    """The real clock satisfies the protocol and a zero/negative sleep returns promptly."""
    clock: Clock = SystemClock()
    before = clock.now()
    await clock.sleep(-5)
    assert clock.now() >= before
