"""``worker.backoff.Backoff``: the one doubling-with-jitter computation."""

from __future__ import annotations

import random

import pytest

from worker.backoff import Backoff


def test_plain_backoff_doubles_from_first_up_to_max() -> None:
    """Without jitter: first, 2×, 4×, … and then the cap, for any count."""
    backoff = Backoff(first_s=60.0, max_s=900.0)
    assert [backoff.delay_s(n) for n in (0, 1, 2, 3, 4, 5, 10_000)] == [
        60.0, 60.0, 120.0, 240.0, 480.0, 900.0, 900.0,
    ]  # fmt: skip


def test_full_jitter_stays_within_the_ceiling_and_spreads() -> None:
    """Full jitter: every delay in (0, ceiling], and not all the same."""
    backoff = Backoff(first_s=1.0, max_s=8.0, jitter=1.0)
    rng = random.Random(7)
    delays = [backoff.delay_s(3, rng) for _ in range(200)]
    assert all(0.0 < delay <= 4.0 for delay in delays)
    assert max(delays) - min(delays) > 2.0


def test_min_s_is_a_floor_even_under_jitter() -> None:
    """``min_s`` bounds the delay from below (the token endpoint's one request per interval)."""
    backoff = Backoff(first_s=5.0, max_s=60.0, jitter=1.0, min_s=5.0)
    rng = random.Random(1)
    assert min(backoff.delay_s(1, rng) for _ in range(100)) == 5.0


def test_jitter_without_an_rng_and_bad_values_are_refused() -> None:
    """A jittered backoff needs an rng; nonsense values fail when built, not when used."""
    with pytest.raises(ValueError, match="rng"):
        Backoff(first_s=1.0, max_s=2.0, jitter=0.5).delay_s(1)
    with pytest.raises(ValueError, match="invalid backoff"):
        Backoff(first_s=10.0, max_s=1.0)


def test_no_other_module_in_worker_computes_a_doubling_delay() -> None:
    """``2 ** n`` (a hand-written backoff) appears in ``worker/backoff.py`` only (issue 14)."""
    import ast
    from pathlib import Path

    import worker

    root = Path(worker.__file__).parent
    powers_of_two = sorted(
        str(path.relative_to(root.parent))
        for path in root.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8")))
        if isinstance(node, ast.BinOp)
        and isinstance(node.op, ast.Pow)
        and isinstance(node.left, ast.Constant)
        and node.left.value in (2, 2.0)
        and not isinstance(node.right, ast.Constant)  # 2 ** 31 is a bound, not a backoff
    )
    assert set(powers_of_two) == {"worker/backoff.py"}
