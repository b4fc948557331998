"""``status``: read from the state directory alone (no request), beside a daemon or after it."""

from __future__ import annotations

import json
from pathlib import Path

from tests.sync.support import Harness, reservation, seaside
from worker.status import collect, render


async def test_status_reports_published_pending_and_held_from_state(harness: Harness) -> None:
    """Published or the reason, held reservations with their message, content not stored."""
    blocked = {**seaside("2001"), "content": {"features": [3]}}
    harness.write_inventory(seaside("1001", reservations=[reservation("OTA-1", 5)]), blocked)
    assert (await harness.run("properties")).ok
    await harness.run("reservations")
    await harness.state.record_reservation("OTA-9", 1, "failed", message="No rooms available")
    harness.sandbox.journal.clear()
    report = await collect(harness.settings)
    assert harness.sandbox.journal.entries == []  # nothing asked of the site
    by_remote = {p["remote_uid"]: p for p in report["properties"]}
    assert by_remote["1001"]["published"] == "yes"
    assert by_remote["2001"]["published"].startswith("no: needs")
    assert "reservation OTA-9: No rooms available" in by_remote["1001"]["held"]
    assert any("content features: not_stored" in h for h in by_remote["2001"]["held"])
    json.dumps(report)  # plain JSON values only
    table = render([report])
    assert "1001 -> " in table
    assert "needs main image" in table


async def test_status_without_state_says_so(harness: Harness, tmp_path: Path) -> None:
    """A site the worker never ran against: a note, no properties, no state created."""
    empty = harness.settings.model_copy(update={"state_dir": tmp_path / "never"})
    report = await collect(empty)
    assert report["properties"] == []
    assert "no state yet" in report["note"]
    assert not (tmp_path / "never").exists()
