"""Safe prune's rules as plain values (``worker.sync.prune_plan``)."""

from __future__ import annotations

from datetime import date

import pytest

from worker.sync.prune_plan import (
    EMPTY_DOCUMENT,
    MAX_FRACTION,
    allowed_deletions,
    plan_prune,
    reservation_active,
)

TODAY = date(2027, 3, 1)


def test_an_empty_document_deletes_nothing_even_forced() -> None:
    """No property in the document: the cycle is refused whatever the flags say."""
    for force in (False, True):
        plan = plan_prune(
            [1, 2], owned=2, document_properties=0, active=set(), max_fraction=1, force=force
        )
        assert plan.delete == ()
        assert plan.refused == EMPTY_DOCUMENT


def test_three_of_ten_leaving_at_a_tenth_deletes_none() -> None:
    """Over the share the whole cycle is refused (not the first tenth), with its figures."""
    plan = plan_prune([1, 2, 3], owned=10, document_properties=7, active=set(), max_fraction=0.1)
    assert plan.delete == ()
    assert plan.refused == MAX_FRACTION
    assert plan.figures == {"leaving": 3, "owned": 10, "allowed": 1, "kept_for_reservations": 0}


def test_one_of_ten_leaving_at_a_tenth_is_deleted() -> None:
    """Within the share the property goes."""
    plan = plan_prune([4], owned=10, document_properties=9, active=set(), max_fraction=0.1)
    assert plan.delete == (4,)
    assert plan.refused is None


def test_force_lifts_the_share_and_the_reservation_rule() -> None:
    """BOOKYFLOW_PRUNE_FORCE deletes every leaving property, live reservation or not."""
    plan = plan_prune(
        [1, 2, 3], owned=10, document_properties=7, active={2}, max_fraction=0.1, force=True
    )
    assert plan.delete == (1, 2, 3)


def test_a_property_with_a_live_reservation_is_kept() -> None:
    """It stays, and it does not count against the share: the other one goes."""
    plan = plan_prune([1, 2], owned=10, document_properties=8, active={2}, max_fraction=0.1)
    assert plan.delete == (1,)
    assert plan.kept == (2,)


@pytest.mark.parametrize(
    ("owned", "fraction", "allowed"),
    [(10, 0.1, 1), (9, 0.1, 0), (30, 0.1, 3), (100, 0.29, 29), (3, 1.0, 3), (5, 0.0, 0)],
)
def test_the_share_is_floored_without_float_surprises(
    owned: int, fraction: float, allowed: int
) -> None:
    """floor(owned × fraction), where 0.29 × 100 = 28.999... still allows 29."""
    assert allowed_deletions(owned, fraction) == allowed


def test_a_reservation_is_live_until_its_last_night() -> None:
    """Pushed (or in flight) and not past its last night; unknown nights count as live."""
    assert reservation_active("pushed", TODAY, TODAY)
    assert not reservation_active("pushed", date(2027, 2, 28), TODAY)
    assert reservation_active("intent", None, TODAY)
    assert reservation_active("cancel_intent", TODAY, TODAY)
    assert not reservation_active("cancelled", TODAY, TODAY)
    assert not reservation_active("failed", None, TODAY)
