"""The vendor side of the soak: the inventory document and the edits made to it during the run.

Edits are pure functions on the JSON document (a dict); ``InventoryFile`` writes each version the
way the spec asks vendors to (temp file, then rename), so the worker never reads half a file.
"""

from __future__ import annotations

import copy
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

Document = dict[str, Any]
Edit = Callable[[Document], None]

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "inventory.example.json"
CHAOS_CLOSURE = {"id": "chaos-closure", "date_from": "2027-05-10", "date_to": "2027-05-12",
                 "room_remote_ids": []}  # fmt: skip
CHAOS_RESERVATION = {
    "id": "OTA-CHAOS-1",
    "status": "confirmed",
    "referrer": "ChaosOTA",
    "guest": {"name": "Kim", "surname": "Chaos", "email": "kim@example.org", "phone": "+100000",
              "address": "1 Loop", "post_code": "00000", "country_code": "US",
              "language_id": "en-GB"},
    "date_from": "2027-06-01",
    "date_to": "2027-06-03",
    "room_type_id": 7,
    "guests": 2,
    "client_price": "300.00",
    "channel_price": "300.00",
    "already_paid": "0.00",
}  # fmt: skip
CHAOS_PROPERTY = {
    "remote_uid": "4001",
    "name": "Chaos Lodge",
    "country": "GB",
    "region_id": 1113,
    "ptype_id": 1,
    "max_people": 2,
    "base_price": "70.00",
    "rooms": [{"remote_id": "4001-A", "room_type_id": 1, "name": "Cabin", "number": "1",
               "max_people": 2}],
    "rates": [{"date_from": "2027-02-01", "date_to": "2027-02-28", "price": "77.00"}],
    "minstays": [],
    "closures": [],
    "reservations": [],
}  # fmt: skip


def load_example() -> Document:
    document: Document = json.loads(EXAMPLE.read_text())
    return document


def _property(document: Document, remote_uid: str) -> dict[str, Any]:
    return next(p for p in document["properties"] if p["remote_uid"] == remote_uid)


def edit_prices(document: Document) -> None:
    """A seasonal rate changes and a new one-week promotion appears."""
    hotel = _property(document, "1001")
    hotel["rates"][0]["price"] = "133.00"
    hotel["rates"].append({"date_from": "2027-02-01", "date_to": "2027-02-07", "price": "99.00"})


def add_closure(document: Document) -> None:
    _property(document, "2001")["closures"].append(dict(CHAOS_CLOSURE))


def remove_closure(document: Document) -> None:
    apartment = _property(document, "2001")
    apartment["closures"] = [c for c in apartment["closures"] if c["id"] != CHAOS_CLOSURE["id"]]


def confirm_reservation(document: Document) -> None:
    _property(document, "2001")["reservations"].append(copy.deepcopy(CHAOS_RESERVATION))


def cancel_reservation(document: Document) -> None:
    for reservation in _property(document, "2001")["reservations"]:
        if reservation["id"] == CHAOS_RESERVATION["id"]:
            reservation["status"] = "cancelled"


def add_property(document: Document) -> None:
    document["properties"].append(copy.deepcopy(CHAOS_PROPERTY))


# In this order, spread over the run: each later edit may depend on an earlier one.
EDITS: tuple[tuple[str, Edit], ...] = (
    ("prices_edited", edit_prices),
    ("closure_added", add_closure),
    ("reservation_confirmed", confirm_reservation),
    ("property_added", add_property),
    ("closure_removed", remove_closure),
    ("reservation_cancelled", cancel_reservation),
)


class InventoryFile:
    """The inventory on disk; ``apply`` edits the document and replaces the file atomically."""

    def __init__(self, path: Path, document: Document) -> None:
        self.path = path
        self.document = document
        self.write()

    def apply(self, edit: Edit) -> None:
        edit(self.document)
        self.write()

    def write(self) -> None:
        temporary = self.path.with_suffix(".tmp")
        temporary.write_text(json.dumps(self.document, indent=1))
        os.replace(temporary, self.path)
