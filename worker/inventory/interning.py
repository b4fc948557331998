"""Sharing equal values within one inventory parse, so a large inventory is held once.

A vendor's 1,000 properties repeat the same few hundred dates, a few dozen prices and many equal
ranges (a season's minimum stay, a week's price). Parsed naively, every one is its own object:
about 48 KB per property-year. ``Interner`` hands out one shared instance per distinct value
instead; the models are frozen, so sharing cannot leak a change from one property to another.

One ``Interner`` lives for one parse (``document.parse_document`` passes it in the validation
context) and is seeded with the previous snapshot, so the ranges that did not change are the
previous snapshot's own objects: while the new snapshot is built, the old one is not held
twice. Keys keep the exact text of a value (``"95.00"`` and ``"95.0"`` stay distinct objects,
as they are distinct on the wire), so interning never changes what is sent.
"""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable
from datetime import date
from decimal import Decimal
from typing import Any, TypeVar

from pydantic import BaseModel

__all__ = ["INTERN_KEY", "Interner", "interner_of"]

T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)

# The validation-context key under which models find the parse's interner.
INTERN_KEY = "intern"


def _exact(value: Any) -> Hashable:
    """A key that tells values apart as the wire would: ``Decimal`` by its text."""
    return ("decimal", str(value)) if isinstance(value, Decimal) else value


def _model_key(model: BaseModel) -> Hashable:
    return (type(model), tuple(_exact(v) for v in model.__dict__.values()))


class Interner:
    """One shared object per distinct date text, money text and range model."""

    def __init__(self) -> None:
        self._dates: dict[str, date] = {}
        self._money: dict[str, Decimal] = {}
        self._models: dict[Hashable, BaseModel] = {}

    def day(self, text: str, parse: Callable[[str], date]) -> date:
        """The shared date for ``text``; ``parse`` (which may raise) runs on its first sight."""
        found = self._dates.get(text)
        if found is None:
            found = self._dates[text] = parse(text)
        return found

    def money(self, text: str, parse: Callable[[str], Decimal]) -> Decimal:
        """The shared amount for ``text``; ``parse`` (which may raise) runs on its first sight."""
        found = self._money.get(text)
        if found is None:
            found = self._money[text] = parse(text)
        return found

    def models(self, models: Iterable[M]) -> tuple[M, ...]:
        """Each model replaced by the first equal one seen (equal field values, same text)."""
        shared: list[M] = []
        for model in models:
            found = self._models.setdefault(_model_key(model), model)
            shared.append(found)  # type: ignore[arg-type]  # same key means same type
        return tuple(shared)

    def seed(self, ranges: Iterable[BaseModel]) -> None:
        """Remember a previous snapshot's ranges (and their dates), to be shared again."""
        for model in ranges:
            self._models.setdefault(_model_key(model), model)
            for value in model.__dict__.values():
                if type(value) is date:
                    self._dates.setdefault(value.isoformat(), value)


def interner_of(context: Any) -> Interner | None:
    """The interner in a validation context, if the caller passed one."""
    found = context.get(INTERN_KEY) if isinstance(context, dict) else None
    return found if isinstance(found, Interner) else None
