"""``sync --once --dry-run``: the plan against the live site, and not one write sent."""

from __future__ import annotations

import json

from tests.e2e.conftest import Site, Spawn
from tests.e2e.test_sync import sync_once, writes


async def test_dry_run_plans_the_change_and_sends_nothing(site: Site, spawn: Spawn) -> None:
    """After a sync, a price edit and a new property: the plan names both, no write reaches
    the site, state is untouched (the real sync afterwards still sends the price)."""
    await sync_once(spawn)
    document = json.loads(site.inventory.read_text())
    hotel = document["properties"][0]
    hotel["rates"].append({"date_from": "2027-01-05", "date_to": "2027-01-06", "price": "133.00"})
    new = {**document["properties"][2], "remote_uid": "9009", "name": "New Place"}
    document["properties"].append(new)
    site.inventory.write_text(json.dumps(document))
    site.sandbox.journal.clear()
    dry = await spawn("sync", "--once", "--dry-run", "--json")
    assert await dry.wait() == 0, dry.stdout[-5:]
    assert writes(site) == []
    [line] = [line for line in dry.stdout if line.startswith('{"plan"')]
    plan = json.loads(line)["plan"]
    assert plan["new property 9009"]["writes"] == {"POST cmf/property": 1}
    hotel_plan = next(v for k, v in plan.items() if k.startswith("property "))
    assert hotel_plan["writes"]["PUT cmf/property/prices"] == 1
    await sync_once(spawn)
    assert sum(1 for w in writes(site) if w.endswith("cmf/property/prices")) >= 1
