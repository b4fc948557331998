"""What a handler may return besides a plain ``data.response`` payload.

The real engine answers some outcomes under another key of ``data``: a calendar without tariffs
under ``data.calendar``, a refused room of a single-unit property under ``data.property``. A
``Keyed`` payload says which key; the envelope puts it there.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Keyed:
    """A payload answered as ``{"data": {key: payload}, "meta": ...}``."""

    key: str
    payload: Any
