"""Date-range arithmetic shared by the sync jobs. Pure: no I/O, no clock.

BookyFlow speaks in ranges whose ``date_to`` is the *last night*; the worker reasons per night.
These helpers convert between the two: ``expand`` turns ordered, possibly overlapping ranges into
one value per night (later entries win, as on the server), ``compress`` turns per-night values back
into the fewest ranges by merging consecutive nights with equal values.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Generic, TypeVar

V = TypeVar("V")
ONE_DAY = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class Span(Generic[V]):
    """Nights ``date_from`` … ``date_to`` (inclusive, last night) carrying one value."""

    date_from: date
    date_to: date
    value: V

    def nights(self) -> int:
        return (self.date_to - self.date_from).days + 1


def nights(start: date, end: date) -> Iterator[date]:
    """Every night from ``start`` up to but excluding ``end``."""
    day = start
    while day < end:
        yield day
        day += ONE_DAY


def expand(spans: Iterable[Span[V]], start: date, end: date) -> dict[date, V]:
    """One value per night in ``[start, end)``; where spans overlap the later one wins."""
    cells: dict[date, V] = {}
    for span in spans:
        first = max(span.date_from, start)
        last_exclusive = min(span.date_to + ONE_DAY, end)
        for day in nights(first, last_exclusive):
            cells[day] = span.value
    return cells


def compress(cells: Mapping[date, V]) -> list[Span[V]]:
    """The fewest spans covering ``cells``: consecutive nights with equal values merge."""
    spans: list[Span[V]] = []
    for day in sorted(cells):
        value = cells[day]
        last = spans[-1] if spans else None
        if last is not None and last.date_to + ONE_DAY == day and last.value == value:
            spans[-1] = Span(last.date_from, day, value)
        else:
            spans.append(Span(day, day, value))
    return spans
