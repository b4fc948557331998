"""docs/inventory.md's examples: inventories against the JSON Schema ``schema`` prints and the
worker's own validation; the bookings line and the webhook body against what the sinks write."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from standardwebhooks import Webhook

from worker.inventory.document import InventorySnapshot, parse_bytes
from worker.inventory.models import Inventory
from worker.inventory.sink import RECORD_FIELDS
from worker.inventory.webhook import webhook_body

DOC = Path(__file__).resolve().parents[2] / "docs" / "inventory.md"
TEXT = DOC.read_text(encoding="utf-8")
BLOCK = re.compile(r"^```(\w+)(?: ([\w-]+))?\n(.*?)^```$", re.M | re.S)
EXAMPLE_SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"


def blocks(kind: str) -> list[str]:
    """The bodies of the page's fenced blocks tagged ``json <kind>``."""
    return [body for lang, tag, body in BLOCK.findall(TEXT) if lang == "json" and tag == kind]


def validator() -> Any:
    schema = Inventory.model_json_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    return jsonschema.Draft202012Validator(schema)


def test_every_json_example_on_the_page_is_one_this_suite_checks() -> None:
    """No untested example: each json block is tagged with a kind checked below."""
    tags = [tag for lang, tag, _ in BLOCK.findall(TEXT) if lang == "json"]
    assert set(tags) == {"inventory", "inventory-with-problems", "booking", "webhook"}
    assert tags.count("inventory") == 2


@pytest.mark.parametrize("body", blocks("inventory"))
def test_the_inventory_examples_are_valid(body: str) -> None:
    """Valid for the schema, for Inventory.model_validate and for the worker's parse."""
    document = json.loads(body)
    validator().validate(document)
    Inventory.model_validate(document)
    snapshot = parse_bytes(body.encode(), InventorySnapshot(fresh=False))
    assert snapshot.problems == ()
    assert len(snapshot.properties) == len(document["properties"])


def test_the_schema_is_strict_enough_to_catch_an_exporters_mistakes() -> None:
    """An unknown key, a price as a number and a missing field are refused by the schema too."""
    document = json.loads(blocks("inventory")[1])
    prop = document["properties"][0]
    check = validator()
    for broken in (
        {**prop, "max_poeple": 2},
        {**prop, "base_price": 80.0},
        {k: v for k, v in prop.items() if k != "name"},
    ):
        assert not check.is_valid({"properties": [broken]})


def test_the_documented_problem_is_what_the_worker_reports() -> None:
    """The bad room type is held with the path and message the page shows; the rest stays."""
    (body,) = blocks("inventory-with-problems")
    document = json.loads(body)
    validator().validate(document)  # a cross-entry rule: beyond what a schema can say
    with pytest.raises(ValueError, match="room_type_id"):
        Inventory.model_validate(document)
    snapshot = parse_bytes(body.encode(), InventorySnapshot(fresh=False))
    (problem,) = snapshot.problems
    assert f"\n{problem}\n" in TEXT
    assert [r.id for r in snapshot.properties[0].reservations] == ["OTA-1"]
    assert snapshot.properties[0].rates  # the prices still go out
    assert snapshot.held == frozenset()


def test_the_bookings_line_has_the_sinks_fields_in_order() -> None:
    """The documented line is what the file sink writes: its fields, in its order."""
    (body,) = blocks("booking")
    record = json.loads(body)
    assert tuple(record) == RECORD_FIELDS
    assert (
        record["revision"]
        == f"{record['booking']['booking_id']}:" + (record["booking"]["last_modified"])
    )


def test_the_webhook_body_is_the_same_object_and_its_signature_verifies() -> None:
    """The webhook sink's body for the record is the documented object; the headers shown are
    the Standard Webhooks signature of that body under the page's example secret."""
    (body,) = blocks("webhook")
    body = body.strip()
    record = json.loads(body)
    assert tuple(record) == RECORD_FIELDS
    sent = webhook_body(record, received_at=datetime.now(UTC))
    assert json.loads(sent) == record
    headers = dict(re.findall(r"^(webhook-[a-z]+): (.+)$", TEXT, re.M))
    assert headers["webhook-id"] == record["revision"]
    stamp = datetime.fromtimestamp(int(headers["webhook-timestamp"]), tz=UTC)
    signed = Webhook(EXAMPLE_SECRET).sign(headers["webhook-id"], stamp, body)
    assert headers["webhook-signature"] == signed
