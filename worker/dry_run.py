"""``sync --once --dry-run``: every planner against the live site, and no write sent.

The jobs run as they always do — they read the site (properties, rooms, calendars, bookings) and
plan from what they find — but the client hands every write (POST, PUT, DELETE) to a
``WriteRecorder`` instead of the site. The recorder answers as the site would for a success, so
the job goes on to its next step and the plan is the whole run's, not only its first write. The
state directory is a throw-away copy (the jobs record what they believe they pushed; the real
state must not believe it), and the bookings sink is a null sink: nothing reaches the vendor.

Two limits, said in the report: a property that does not exist yet shows only its creation (the
site cannot be read for a property it does not have, so its rooms, prices and content follow once
it exists); and answers that decide a next step are assumed to succeed (a review that passes, a
reservation that is accepted).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections import defaultdict
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from worker.errors import ClientRequestError

__all__ = ["DryRunCreate", "WriteRecorder", "render_plan", "state_copy"]

FIRST_ITEMS = 3


class DryRunCreate(ClientRequestError):
    """A property the dry run would create: nothing further can be planned for it yet."""


@dataclass
class WriteRecorder:
    """Every write the jobs would send, by property, with the answer a success would get."""

    writes: dict[str, list[tuple[str, str, dict[str, str]]]] = field(
        default_factory=lambda: defaultdict(list)
    )

    def answer(self, method: str, path: str, form: Mapping[str, str] | None) -> Any:
        """Record the write and answer it as a successful one (see the module docstring)."""
        fields = dict(form or {})
        route = _route(method, path)
        self.writes[_property_of(path, fields)].append((route, path, fields))
        if route == "POST cmf/property":
            raise DryRunCreate(f"would create property {fields.get('remote_uid', '?')}")
        return _success(route, fields)

    def plan(self) -> dict[str, dict[str, Any]]:
        """Per property: writes per endpoint and the first few, as plain JSON values."""
        plan: dict[str, dict[str, Any]] = {}
        for key, writes in sorted(self.writes.items()):
            counts: dict[str, int] = defaultdict(int)
            for route, _, _ in writes:
                counts[route] += 1
            first = [f"{route} {_summary(fields)}" for route, _, fields in writes[:FIRST_ITEMS]]
            plan[key] = {"writes": dict(counts), "first": first}
        return plan


def _route(method: str, path: str) -> str:
    parts = ["@" if part.isdigit() else part for part in path.strip("/").split("/")]
    if parts[:3] == ["cmf", "property", "text"]:
        parts = parts[:3]
    return f"{method.upper()} {'/'.join(p for p in parts if p)}"


def _property_of(path: str, fields: Mapping[str, str]) -> str:
    if "property_uid" in fields:
        return f"property {fields['property_uid']}"
    if "remote_uid" in fields:
        return f"new property {fields['remote_uid']}"
    digits = [part for part in path.split("/") if part.isdigit()]
    if digits:
        return f"property {digits[0]}"
    if "reservations" in fields:
        stays = json.loads(fields["reservations"]).get("reservations", [{}])
        uid = (stays[0].get("stay_infos") or [{}])[0].get("property_id", "?") if stays else "?"
        return f"property {uid}"
    return "site"


def _success(route: str, fields: Mapping[str, str]) -> Any:
    """What the site answers a successful ``route`` (the parts the jobs read)."""
    if route == "PUT cmf/property/room":
        return {"room_uid": int(fields.get("room_uid") or 0)}
    if route == "PUT cmf/property/blackbooking":
        return {"success": True, "contract_id": 0}
    if route == "PUT cmf/property/status/review":
        return {"property_complete": True, "warnings": []}
    if route == "PUT cmf/property/publish":
        return {"published": True}
    if route == "PUT cmf/reservations/add":
        items = json.loads(fields["reservations"]).get("reservations", [])
        accepted = {str(item["remote_reservation_id"]): {"success": True} for item in items}
        return {"successful_bookings": accepted, "unsuccessful_bookings": []}
    if route == "PUT cmf/reservations/cancel":
        return {"success": True, "cancellations": []}
    if route == "POST cmf/channel/announce/@/@" or route.startswith("POST cmf/channel"):
        return 1
    return True


def _summary(fields: Mapping[str, str]) -> str:
    shown = {
        key: (value if len(value) <= 60 else value[:59] + "…")
        for key, value in fields.items()
        if key != "property_uid"
    }
    return json.dumps(shown, ensure_ascii=False)


@contextmanager
def state_copy(state_dir: Path) -> Iterator[Path]:
    """A temporary copy of the state directory's database (the real one is never written)."""
    with tempfile.TemporaryDirectory(prefix="bookyflow-dry-run-") as temp:
        target = Path(temp) / "state"
        target.mkdir(mode=0o700)
        for name in ("state.db", "state.db-wal"):
            if (state_dir / name).exists():
                shutil.copy2(state_dir / name, target / name)
        yield target


def render_plan(plan: Mapping[str, Mapping[str, Any]]) -> str:
    """The plan for people: per property, writes per endpoint, then the first few."""
    if not plan:
        return "dry run: nothing would be written"
    lines = ["dry run: what a sync would write (nothing was sent)"]
    for key, entry in plan.items():
        total = sum(entry["writes"].values())
        lines.append(f"{key}: {total} write(s)")
        lines += [f"  {count:>4}  {route}" for route, count in sorted(entry["writes"].items())]
        lines += [f"        e.g. {item}" for item in entry["first"]]
    return "\n".join(lines)
