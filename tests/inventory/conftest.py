"""Factories for inventory documents shaped like the example in ``spec/inventory.md``."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

EXAMPLE_PROPERTY: dict[str, Any] = {
    "remote_uid": "1001",
    "name": "Seaside Apartments",
    "country": "GB",
    "region_id": 1,
    "ptype_id": 1,
    "max_people": 4,
    "base_price": "95.00",
    "rooms": [
        {
            "remote_id": "1001-A",
            "room_type_id": 1,
            "name": "Sea view",
            "number": "1",
            "max_people": 2,
        }
    ],
    "rates": [{"date_from": "2026-12-01", "date_to": "2026-12-31", "price": "120.00"}],
    "minstays": [{"date_from": "2026-12-20", "date_to": "2027-01-02", "minstay": 3}],
    "closures": [
        {"id": "maint-1", "date_from": "2027-01-10", "date_to": "2027-01-12", "room_remote_ids": []}
    ],
    "reservations": [
        {
            "id": "OTA-778812",
            "status": "confirmed",
            "referrer": "ExampleOTA",
            "guest": {
                "name": "Ana",
                "surname": "Silva",
                "email": "ana@example.org",
                "phone": "+351000000",
                "address": "Rua 1",
                "post_code": "1000-001",
                "country_code": "PT",
                "language_id": "en-GB",
            },
            "date_from": "2026-12-05",
            "date_to": "2026-12-07",
            "room_type_id": 1,
            "guests": 2,
            "client_price": "360.00",
            "channel_price": "360.00",
            "already_paid": "0.00",
        }
    ],
}

PropertyFactory = Callable[..., dict[str, Any]]


def make_property(remote_uid: str = "1001", **changes: Any) -> dict[str, Any]:
    """A fresh copy of the example property with its ids made unique to ``remote_uid``."""
    prop = copy.deepcopy(EXAMPLE_PROPERTY)
    prop["remote_uid"] = remote_uid
    prop["reservations"][0]["id"] = f"OTA-{remote_uid}"
    prop.update(changes)
    return prop


@pytest.fixture
def property_data() -> PropertyFactory:
    return make_property


@pytest.fixture
def write_inventory(tmp_path: Path) -> Callable[[object], Path]:
    """Writes a document the way vendors should: to a temp file, then rename."""
    path = tmp_path / "inventory.json"

    def write(document: object) -> Path:
        text = document if isinstance(document, str) else json.dumps(document)
        temp = path.with_suffix(".tmp")
        temp.write_text(text, encoding="utf-8")
        temp.replace(path)
        return path

    return write
