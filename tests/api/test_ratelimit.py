"""Retry budget (AWS standard mode numbers) and the per-site rate gate."""

from __future__ import annotations

import asyncio

import pytest

from worker.api.retry import RetryBudget, SiteGate
from worker.errors import RequestTimeout, ServerError
from worker.settings import RetrySettings
from worker.testing import FakeClock


def test_budget_charges_5_per_retry_10_per_timeout_and_refunds_1() -> None:
    """Default budget: 500 tokens, retry 5, timeout 10, success +1 up to the capacity."""
    budget = RetryBudget.from_settings(RetrySettings())
    assert budget.available == 500
    assert budget.try_acquire(ServerError("x", status=503))
    assert budget.try_acquire(RequestTimeout("t"))
    assert budget.available == 485
    budget.on_success()
    assert budget.available == 486
    budget.on_success(released=10)
    budget.on_success(released=10)
    assert budget.available == 500


def test_budget_refuses_without_taking_when_too_few_tokens_remain() -> None:
    """An unaffordable retry is refused and leaves the balance untouched."""
    budget = RetryBudget(tokens=12)
    assert budget.try_acquire(RequestTimeout("t"))
    assert not budget.try_acquire(ServerError("x", status=500))
    assert budget.available == 2


async def test_gate_allows_a_burst_then_paces_at_the_rate() -> None:
    """Five requests pass at once; the next ones are spaced 1/rate apart."""
    clock = FakeClock()
    gate = SiteGate(rate_per_s=5.0, burst=5, clock=clock)
    sent: list[float] = []

    async def send() -> None:
        await gate.acquire()
        sent.append(clock.now())

    tasks = [asyncio.create_task(send()) for _ in range(8)]
    await clock.run_for(2.0)
    await asyncio.gather(*tasks)
    assert sent[:5] == [1000.0] * 5
    assert sent[5:] == pytest.approx([1000.2, 1000.4, 1000.6])


async def test_hold_blocks_the_whole_site_until_it_passes() -> None:
    """After hold_for(2), nothing is admitted before 2 s, then one request goes at once."""
    clock = FakeClock()
    gate = SiteGate(rate_per_s=5.0, burst=5, clock=clock)
    gate.hold_for(2.0)
    gate.hold_for(1.0)  # a shorter hold never shortens the current one
    sent: list[float] = []

    async def send() -> None:
        await gate.acquire()
        sent.append(clock.now())

    tasks = [asyncio.create_task(send()) for _ in range(2)]
    await clock.run_for(1.9)
    assert sent == []
    assert gate.hold_remaining_s == pytest.approx(0.1)
    await clock.run_for(1.0)
    await asyncio.gather(*tasks)
    assert sent == pytest.approx([1002.0, 1002.2])


async def test_a_newcomer_never_overtakes_a_queued_acquirer() -> None:
    """The lock-free fast path is closed while anyone waits: tokens go in arrival order."""
    clock = FakeClock()
    gate = SiteGate(rate_per_s=1.0, burst=1, clock=clock)
    order: list[str] = []

    async def send(name: str) -> None:
        await gate.acquire()
        order.append(name)

    await send("first")  # the burst token, through the fast path
    waiting = [asyncio.create_task(send(name)) for name in ("second", "third")]
    await asyncio.sleep(0)
    clock.advance(1.0)  # a token arrives while "second" and "third" are queued
    waiting.append(asyncio.create_task(send("newcomer")))
    await clock.run_for(3.0)
    await asyncio.gather(*waiting)
    assert order == ["first", "second", "third", "newcomer"]


def test_gate_rejects_nonsense_settings() -> None:
    """A zero rate would never admit anything."""
    with pytest.raises(ValueError, match="rate_per_s"):
        SiteGate(rate_per_s=0.0, burst=1, clock=FakeClock())
