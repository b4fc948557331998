"""A real ``SyncContext`` against a sandbox: client, Cmf, StateStore, JSON inventory file, sink.

``Harness`` is what the job suites drive: write an inventory, run jobs (through ``run_job``, as the
service does), count the writes the site received, and simulate a restart of the worker with or
without its state directory. The gates run on a ``FakeClock`` so back-off is stepped, not waited.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from tests.api.client_support import DEMO_SECRET, FAST_HTTP
from worker.api.client import BookyFlowClient
from worker.api.cmf import Cmf
from worker.inventory.sink import JsonLinesBookingSink
from worker.inventory.source import JsonFileInventorySource
from worker.ownership import OwnedProperties
from worker.sandbox import JournalEntry, Sandbox
from worker.sandbox.image_host import ImageHost
from worker.settings import RetrySettings, Settings
from worker.state import StateStore
from worker.sync.context import SyncContext
from worker.sync.gates import PropertyGates
from worker.sync.job import JobResult, run_job
from worker.sync.jobs import JOBS
from worker.testing import FakeClock

CHANNEL = "acme"
WRITE_METHODS = frozenset({"POST", "PUT", "DELETE"})
# Retries stay on (the client's real policy) but short, so a failing test does not linger.
FAST_RETRY = RetrySettings(max_attempts=2, base_delay_s=0.01, max_delay_s=0.02, max_total_s=2.0)


def utc_today() -> date:
    return datetime.now(UTC).date()


def day(offset: int, today: date | None = None) -> str:
    return ((today or utc_today()) + timedelta(days=offset)).isoformat()


def guest() -> dict[str, str]:
    return {
        "name": "Ana",
        "surname": "Silva",
        "email": "ana@example.org",
        "phone": "+351000000",
        "address": "Rua 1",
        "post_code": "1000-001",
        "country_code": "PT",
        "language_id": "en-GB",
    }


def reservation(rid: str, start: int, nights: int = 2, status: str = "confirmed") -> dict[str, Any]:
    """A vendor reservation of room type 1 from ``today + start`` for ``nights`` nights."""
    return {
        "id": rid,
        "status": status,
        "referrer": "ExampleOTA",
        "guest": guest(),
        "date_from": day(start),
        "date_to": day(start + nights - 1),
        "room_type_id": 1,
        "guests": 2,
        "client_price": "360.00",
        "channel_price": "360.00",
        "already_paid": "0.00",
    }


def seaside(remote_uid: str = "1001", **changes: Any) -> dict[str, Any]:
    """A complete vendor property: two rooms, rates (one reaching into the past), minimum
    stays, two closures and one confirmed reservation."""
    doc: dict[str, Any] = {
        "remote_uid": remote_uid,
        "name": f"Seaside {remote_uid}",
        "country": "GB",
        "region_id": 1113,
        "ptype_id": 1,
        "max_people": 4,
        "base_price": "95.00",
        "rooms": [
            {
                "remote_id": f"{remote_uid}-A",
                "room_type_id": 1,
                "name": "Sea view",
                "number": "1",
                "max_people": 2,
            },
            {
                "remote_id": f"{remote_uid}-B",
                "room_type_id": 2,
                "name": "Garden",
                "number": "2",
                "max_people": 1,
            },
        ],
        "rates": [
            {"date_from": day(-5), "date_to": day(10), "price": "120.00"},
            {"date_from": day(20), "date_to": day(25), "price": "150.00"},
        ],
        "minstays": [{"date_from": day(20), "date_to": day(30), "minstay": 3}],
        "closures": [
            {"id": "maint-1", "date_from": day(40), "date_to": day(42), "room_remote_ids": []},
            {
                "id": "maint-2",
                "date_from": day(50),
                "date_to": day(50),
                "room_remote_ids": [f"{remote_uid}-B"],
            },
        ],
        "reservations": [reservation(f"OTA-{remote_uid}-1", 5)],
    }
    doc.update(changes)
    return doc


def make_settings(sandbox: Sandbox, tmp: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "api_url": sandbox.api_url,
        "client_id": "demo",
        "client_secret": DEMO_SECRET,
        "scopes": "read write delete",
        "channel_name": CHANNEL,
        "inventory": tmp / "inventory.json",
        "state_dir": tmp / "state",
        "horizon_days": 120,
        "http": FAST_HTTP,
        "retry": FAST_RETRY,
    }
    values.update(overrides)
    return Settings(**values)


@dataclass
class Harness:
    """One worker "process" against ``sandbox``; ``restart`` makes the next one."""

    sandbox: Sandbox
    tmp: Path
    settings: Settings
    client: BookyFlowClient
    images: ImageHost
    clock: FakeClock = field(default_factory=FakeClock)
    today: date = field(default_factory=utc_today)
    ctx: SyncContext | None = None

    @property
    def context(self) -> SyncContext:
        assert self.ctx is not None, "call start() first"
        return self.ctx

    @property
    def state(self) -> StateStore:
        return self.context.state

    async def start(self) -> None:
        """Open state, source and sink; announce; learn the owned properties (service start-up)."""
        cmf = Cmf(self.client)
        owned = OwnedProperties()
        cmf.owned = owned.owns
        await cmf.announce()
        owned.replace(
            (p.local_property_uid, p.remote_property_uid) for p in await cmf.property_ids()
        )
        self.ctx = SyncContext(
            settings=self.settings,
            cmf=cmf,
            state=await StateStore.open(self.settings.state_dir, clock=self.clock),
            source=JsonFileInventorySource(self.tmp / "inventory.json"),
            sink=await JsonLinesBookingSink.open(self.settings.bookings_path, clock=self.clock),
            owned=owned,
            gates=PropertyGates.from_settings(self.settings, self.clock),
            clock=self.clock,
            today=lambda: self.today,
        )

    async def stop(self) -> None:
        if self.ctx is not None:
            await self.ctx.state.close()
            await self.ctx.sink.close()
            self.ctx = None

    async def restart(self, *, lose_state: bool = False) -> None:
        """A new worker process on the same site (state directory kept or lost)."""
        await self.stop()
        if lose_state:
            for name in os.listdir(self.settings.state_dir):
                if name.startswith("state.db"):
                    os.unlink(self.settings.state_dir / name)
        await self.start()

    def write_inventory(self, *properties: dict[str, Any]) -> None:
        """Replace the inventory file the way a vendor should: temp file, then rename.

        A property without ``content`` gets what the site needs to publish it (a street, a town
        and a main image, served by ``images``); ``content={}`` leaves it without.
        """
        with_content = [
            prop if "content" in prop else {**prop, "content": self.publishable(prop)}
            for prop in properties
        ]
        target = self.tmp / "inventory.json"
        temp = target.with_suffix(".tmp")
        temp.write_text(json.dumps({"properties": with_content}), encoding="utf-8")
        temp.replace(target)

    def publishable(self, prop: dict[str, Any]) -> dict[str, Any]:
        """The least content that makes a property complete on the site."""
        main = self.images.url(f"main-{prop['remote_uid']}.jpg")
        return {
            "address": {"street": "1 Harbour Road", "town": "St Ives"},
            "images": [{"url": main, "kind": "main"}],
        }

    async def run(self, name: str) -> JobResult:
        return await run_job(JOBS[name], self.context)

    async def run_all(self) -> dict[str, JobResult]:
        return {name: await self.run(name) for name in JOBS}

    def writes(self) -> list[JournalEntry]:
        """CMF writes the site received (token and announce requests are not sync writes)."""
        return [
            entry
            for entry in self.sandbox.journal.entries
            if entry.method in WRITE_METHODS
            and "/cmf/" in entry.path
            and "/channel/announce" not in entry.path
        ]

    def writes_to(self, fragment: str) -> list[JournalEntry]:
        return [entry for entry in self.writes() if fragment in entry.path]

    def site_properties(self) -> list[dict[str, Any]]:
        return self.sandbox.store.properties_of("demo", CHANNEL)

    def site_bookings(self, uid: int) -> list[dict[str, Any]]:
        return self.sandbox.store.bookings(uid)

    def delivered(self) -> list[dict[str, Any]]:
        path = self.settings.bookings_path
        if not path.exists():
            return []
        lines = path.read_text(encoding="utf-8").splitlines()
        return [json.loads(line) for line in lines]
