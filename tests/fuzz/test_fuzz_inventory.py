"""Fuzzing ``worker.inventory.document.parse_bytes``: any file content gives a snapshot.

The snapshot either uses the new document (``fresh``) or keeps the previous one with the problems
listed; and a bad entry never makes a previously good property disappear.
"""

from __future__ import annotations

import copy
import json
import re
from pathlib import Path
from typing import Any

from hypothesis import example, given
from hypothesis import strategies as st

from tests.fuzz import DEEP_NESTING, REAL_WORLD_BODIES, fuzz_settings, json_values
from worker.inventory.document import InventorySnapshot, parse_bytes

EXAMPLE = Path(__file__).resolve().parents[2] / "config" / "inventory.example.json"
EXAMPLE_BYTES = EXAMPLE.read_bytes()
PREVIOUS = parse_bytes(EXAMPLE_BYTES, InventorySnapshot())
_ENTRY_INDEX = re.compile(r"properties\[(\d+)\]")


@st.composite
def mutated_documents(draw: st.DrawFn) -> bytes:
    """The example inventory with a few fields replaced, dropped or entries duplicated."""
    document: dict[str, Any] = copy.deepcopy(json.loads(EXAMPLE_BYTES))
    for _ in range(draw(st.integers(1, 3))):
        _mutate(draw, document)
    return json.dumps(document).encode()


def _mutate(draw: st.DrawFn, document: dict[str, Any]) -> None:
    entries = document["properties"]
    if not entries:
        return
    index = draw(st.integers(0, len(entries) - 1))
    action = draw(st.sampled_from(["replace", "drop", "duplicate", "nested", "entry"]))
    entry = entries[index]
    if action == "entry":
        entries[index] = draw(json_values)
    elif action == "duplicate":
        entries.append(copy.deepcopy(entry))
    elif isinstance(entry, dict) and entry:
        key = draw(st.sampled_from(sorted(entry)))
        if action == "drop":
            del entry[key]
        elif action == "nested" and isinstance(entry[key], list) and entry[key]:
            item = entry[key][0]
            if isinstance(item, dict) and item:
                item[draw(st.sampled_from(sorted(item)))] = draw(json_values)
        else:
            entry[key] = draw(json_values)


contents = st.one_of(
    mutated_documents(),
    st.sampled_from(REAL_WORLD_BODIES),
    st.binary(max_size=64),
    json_values.map(lambda value: json.dumps(value).encode()),
)


def _bad_entries(raw: bytes, snapshot: InventorySnapshot) -> list[Any] | None:
    """The entries named by a problem, or None when the document is not a list of entries."""
    try:
        entries = json.loads(raw.decode("utf-8-sig"))["properties"]
    except (ValueError, RecursionError, KeyError, TypeError):
        return None
    indexes = {int(m.group(1)) for p in snapshot.problems if (m := _ENTRY_INDEX.match(p.path))}
    return [entries[i] for i in sorted(indexes) if isinstance(entries, list) and i < len(entries)]


@fuzz_settings(250)
@given(raw=contents)
@example(raw=b'{"properties": [' + b"9" * 5000 + b"]}")  # was an unhandled ValueError
@example(raw=b'{"properties": ' + b"[" * DEEP_NESTING)  # was an unhandled RecursionError
def test_any_file_content_gives_a_snapshot_and_keeps_good_properties(raw: bytes) -> None:
    """No content raises; a stale snapshot keeps the old properties; a bad entry loses none."""
    snapshot = parse_bytes(raw, PREVIOUS)
    served = snapshot.by_remote_uid()
    assert snapshot.held <= set(served)
    if not snapshot.fresh:
        assert snapshot.problems
        assert snapshot.properties == PREVIOUS.properties
        return
    bad = _bad_entries(raw, snapshot) or []
    uids = [entry.get("remote_uid") if isinstance(entry, dict) else None for entry in bad]
    for previous_uid in PREVIOUS.by_remote_uid():
        could_be_it = any(not isinstance(u, str) or not u or u == previous_uid for u in uids)
        if could_be_it:
            assert previous_uid in served, previous_uid


def test_a_byte_order_mark_is_accepted() -> None:
    """An inventory saved with a UTF-8 BOM (Windows editors) parses like the same file without."""
    snapshot = parse_bytes(b"\xef\xbb\xbf" + EXAMPLE_BYTES, InventorySnapshot())
    assert snapshot.fresh
    assert snapshot.problems == ()
    assert snapshot.properties == PREVIOUS.properties
