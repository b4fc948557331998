"""The ARI diff: per-night expansion, range merging, and closure planning."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

from worker.api.models import TariffNight
from worker.sync.ari_plan import (
    AriCell,
    desired_cells,
    diff_cells,
    horizon,
    nights_from_tariffs,
)
from worker.sync.ranges import Span, compress, expand

D = date.fromisoformat
TODAY = D("2026-12-01")


def test_expand_later_spans_win_and_clip_to_the_window() -> None:
    """Overlapping spans resolve in order and nothing outside [start, end) appears."""
    spans = [Span(D("2026-11-25"), D("2026-12-05"), 1), Span(D("2026-12-03"), D("2026-12-04"), 2)]
    cells = expand(spans, TODAY, D("2026-12-05"))
    assert cells == {
        D("2026-12-01"): 1,
        D("2026-12-02"): 1,
        D("2026-12-03"): 2,
        D("2026-12-04"): 2,
    }


def test_compress_merges_only_consecutive_equal_nights() -> None:
    """Equal neighbours merge; a gap or a new value starts a new span."""
    cells = {TODAY: 1, D("2026-12-02"): 1, D("2026-12-03"): 2, D("2026-12-05"): 2}
    assert compress(cells) == [
        Span(TODAY, D("2026-12-02"), 1),
        Span(D("2026-12-03"), D("2026-12-03"), 2),
        Span(D("2026-12-05"), D("2026-12-05"), 2),
    ]


def test_desired_cells_default_to_base_price_and_minstay_one() -> None:
    """Nights without a rate cost the base price; without a minimum stay, 1."""
    start, end = horizon(TODAY, 3)
    cells = desired_cells(
        base_price=Decimal("95.00"),
        rates=[Span(D("2026-12-02"), D("2026-12-31"), Decimal("120.00"))],
        minstays=[Span(D("2026-12-03"), D("2026-12-03"), 3)],
        start=start,
        end=end,
    )
    assert cells == {
        TODAY: AriCell(Decimal("95.00"), 1),
        D("2026-12-02"): AriCell(Decimal("120.00"), 1),
        D("2026-12-03"): AriCell(Decimal("120.00"), 3),
    }


def test_unchanged_cells_produce_an_empty_delta() -> None:
    """What was already pushed is not sent again."""
    start, end = horizon(TODAY, 365)
    cells = desired_cells(base_price=Decimal(90), rates=[], minstays=[], start=start, end=end)
    assert diff_cells(cells, dict(cells)).empty


def test_one_changed_night_sends_one_one_night_range() -> None:
    """A single edited price becomes a single one-night price range, and that night's minimum
    stay is sent again after it (the real engine's price write resets it)."""
    start, end = horizon(TODAY, 365)
    pushed = desired_cells(base_price=Decimal(90), rates=[], minstays=[], start=start, end=end)
    edited = dict(pushed)
    night = TODAY + timedelta(days=40)
    edited[night] = AriCell(Decimal(99), 1)
    delta = diff_cells(edited, pushed)
    assert delta.prices == [Span(night, night, Decimal(99))]
    assert delta.minstays == [Span(night, night, 1)]
    assert delta.cells == {night: AriCell(Decimal(99), 1)}


def test_first_push_covers_the_horizon_in_few_ranges() -> None:
    """With nothing pushed, a weekly price pattern compresses to one range per week."""
    start, end = horizon(TODAY, 28)
    rates = [
        Span(start + timedelta(days=7 * w), start + timedelta(days=7 * w + 6), Decimal(100 + w))
        for w in range(4)
    ]
    cells = desired_cells(base_price=Decimal(90), rates=rates, minstays=[], start=start, end=end)
    delta = diff_cells(cells, {})
    assert len(delta.prices) == 4
    assert delta.minstays == [Span(start, end - timedelta(days=1), 1)]


def test_nights_from_tariffs_reads_agreed_prices_later_entries_winning() -> None:
    """Per-night prices come from the tariffs; later entries win; disputed nights are left out."""
    start = TODAY
    base = TariffNight(price=Decimal(95), date_from=start, date_to=start + timedelta(days=9))
    peak = TariffNight(
        price=Decimal(120), date_from=start + timedelta(days=2), date_to=start + timedelta(days=3)
    )
    other = TariffNight(price=Decimal(95), date_from=start, date_to=start + timedelta(days=9))
    prices = nights_from_tariffs(
        {"2": [base, peak], "3": [other]}, start, start + timedelta(days=5)
    )
    assert prices[start] == Decimal(95)
    assert start + timedelta(days=2) not in prices  # the two tariffs disagree
    assert sorted(prices) == [start + timedelta(days=d) for d in (0, 1, 4)]
    agreed = nights_from_tariffs({"2": [base, peak]}, start, start + timedelta(days=5))
    assert agreed[start + timedelta(days=3)] == Decimal(120)
    assert len(agreed) == 5
