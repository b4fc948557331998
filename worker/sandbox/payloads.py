"""What a handler may return besides a plain ``data.response`` payload.

The real engine answers some outcomes under another key of ``data``: a calendar without tariffs
under ``data.calendar``, a refused room of a single-unit property under ``data.property``. A
``Keyed`` payload says which key; the envelope puts it there. An ``Encoded`` payload is one
already encoded as JSON text (a cached answer); the envelope splices it in as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Keyed:
    """A payload answered as ``{"data": {key: payload}, "meta": ...}``."""

    key: str
    payload: Any


@dataclass(frozen=True)
class Encoded:
    """A ``data.response`` payload already encoded, as ``json.dumps`` with its defaults does."""

    text: str

    def __repr__(self) -> str:
        return f"Encoded({len(self.text)} characters)"
