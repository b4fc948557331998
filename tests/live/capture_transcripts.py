"""Capture real transcripts of the endpoints ``../shared/real-engine/transcripts/`` lacks.

Run by hand against the engine's rebrand proxy (``make live``'s variables), never by pytest::

    python -m tests.live.capture_transcripts tests/fixtures/transcripts [PROXY_LOG]

It drives the engine through the proxy with a channel of its own, every request tagged with an
``X-Request-ID`` naming its step, then picks this run's records out of the proxy's log (secrets
already masked there), turns each step's into one transcript file with the engine's own
``transcripts.py`` (same format as ``../shared``; a suffix names the special case) and keeps
every example of the step. Answers over the proxy's 2 KB are attached whole
(``full_response_bodies``), as in ``../shared``. The channel's properties are deleted at the end
(that is the ``DELETE property/local`` transcript).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp

from tests.live.conftest import DEFAULT_SITE_ROOT, SCRIPTS

PROXY_LOG = "/tmp/jomres-live/logs/proxy.jsonl"  # noqa: S108 - where start.sh logs
LOGGED_BYTES = 2048  # the proxy keeps this much of each answer
# Step → (endpoint template when transcripts.py has none, file suffix).
STEPS: dict[str, tuple[str | None, str]] = {
    "countries": (None, ""),
    "regions": (None, ""),
    "countries_all": (None, ""),
    "regions_all": (None, ""),
    "ids_with_content": (None, "_with_content"),
    "srp_after_takeover": (None, "_srp_after_takeover"),
    "delete_room": ("DELETE /cmf/property/room/@property_uid/@room_uid", ""),
    "calendar_after_room_delete": (None, "_after_room_delete"),
    "add_after_room_delete": (None, "_after_room_delete"),
    "blackbooking_soft_failure": (None, "_soft_failure"),
    "blackbookings_with_closures": (None, "_with_closures"),
    "calendar_blocked": (None, "_blocked_nights"),
    "bookings_site_and_push": (None, "_site_booking_and_push"),
    "change_logs_site_booking": (None, "_site_booking"),
    "link_cancelled_push": (None, "_cancelled_push"),
    "relink_text_id": (None, "_text_id_to_numeric"),
    "delete_property": ("DELETE /cmf/property/local/@property_uid", ""),
}


@dataclass
class Capture:
    """One capture run: its channel, its request tags, the full answers it saw."""

    api_url: str
    client_id: str
    client_secret: str
    channel: str
    tag: str
    session: aiohttp.ClientSession
    token: str = ""
    count: int = 0
    full: dict[str, list[Any]] = field(default_factory=dict)

    async def call(
        self, step: str, method: str, path: str, form: dict[str, str] | None = None
    ) -> Any:
        """One request through the proxy, tagged ``<tag>.<step>.<n>``; the JSON answer."""
        self.count += 1
        headers = {
            "X-Request-ID": f"{self.tag}.{step}.{self.count}",
            "X-BOOKYFLOW-channel-name": self.channel,
            "Accept": "application/json",
        }
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        url = f"{self.api_url}/{path}"
        async with self.session.request(method, url, headers=headers, data=form) as answer:
            raw = await answer.read()
        text = raw.decode("utf-8", "replace")
        try:
            body = json.loads(text.split("\n<", 1)[0])
        except ValueError:
            body = None
        if len(raw) > LOGGED_BYTES and body is not None and not step.endswith("_all"):
            self.full.setdefault(step, []).append(body)
        return body

    async def open(self) -> None:
        form = {
            "grant_type": "client_credentials",
            "client_id": self.client_id,
            "client_secret": self.client_secret,
        }
        self.token = (await self.call("setup", "POST", "oauth/token", form))["access_token"]
        name = self.channel
        await self.call("setup", "POST", f"cmf/channel/announce/{name}/{name}", {"params": "{}"})


def _reservation(remote_id: str, uid: int, room_type: int, first: date, nights: int) -> str:
    stay = {
        "property_id": uid,
        "date_from": first.isoformat(),
        "date_to": (first + timedelta(days=nights - 1)).isoformat(),
        "room_type_id": room_type,
        "room_type_name": "",
        "guest_number": 2,
        "client_price": "300.00",
        "channel_price": "300.00",
        "already_paid": "0.00",
    }
    guest = {
        "name": "Ana",
        "surname": "Silva",
        "email": "ana@example.org",
        "phone": "+351000000",
        "address": "Rua 1",
        "post_code": "1000-001",
        "country_code": "PT",
        "language_id": "en-GB",
    }
    item = {
        "remote_reservation_id": remote_id,
        "referrer": "CaptureOTA",
        "comments": f"CaptureOTA reservation BK-{remote_id}",
        "guest_info": guest,
        "stay_infos": [stay],
    }
    return json.dumps({"reservations": [item]})


def _response(body: Any) -> Any:
    return body["data"]["response"]


async def _properties(cap: Capture) -> tuple[int, int, int]:
    """A hotel and an apartment; the apartment's room the engine created with it."""
    hotel = _response(await cap.call("setup", "POST", "cmf/property", {
        "property_name": "Capture Hotel", "remote_uid": "9001", "country": "GB",
        "region_id": "1113", "ptype_id": "1",
    }))  # fmt: skip
    flat = _response(await cap.call("setup", "POST", "cmf/property", {
        "property_name": "Capture Apartment", "remote_uid": "9002", "country": "PT",
        "region_id": "3032", "ptype_id": "7",
    }))  # fmt: skip
    await cap.call("ids_with_content", "GET", "cmf/properties/ids")
    for step in ("countries", "regions", "countries_all", "regions_all"):
        await cap.call(step, "GET", "cmf/list/" + step.replace("_", "/"))
    auto = _response(await cap.call("setup", "GET", f"cmf/property/rooms/{flat}"))[0]["room_uid"]
    return int(hotel), int(flat), int(auto)


def _room(uid: int, room_type: int, room_uid: int, name: str, number: str) -> dict[str, str]:
    return {
        "property_uid": str(uid), "room_type_id": str(room_type), "room_uid": str(room_uid),
        "max_people": "2", "room_name": name, "room_number": number,
    }  # fmt: skip


async def _rooms_and_tariffs(cap: Capture, hotel: int, flat: int, auto: int) -> list[int]:
    step = "srp_after_takeover"
    await cap.call(step, "PUT", "cmf/property/room", _room(flat, 7, auto, "Whole flat", "1"))
    await cap.call(step, "PUT", "cmf/property/room", _room(flat, 7, auto, "Whole flat 2", "1"))
    await cap.call(step, "PUT", "cmf/property/room", _room(flat, 7, 0, "Second flat", "2"))
    rooms: list[int] = []
    for room_type, name in ((1, "Double"), (3, "Single"), (1, "Spare double")):
        answer = await cap.call(
            "setup", "PUT", "cmf/property/room", _room(hotel, room_type, 0, name, str(len(rooms)))
        )
        rooms.append(int(_response(answer)["room_uid"]))
    for uid, price in ((hotel, "95.00"), (flat, "80.00")):
        form = {"property_uid": str(uid), "base_price": price, "max_people": "2"}
        await cap.call("setup", "PUT", "cmf/property/base/price", form)
    return rooms


async def _closures(cap: Capture, flat: int, today: date) -> None:
    first, last = today + timedelta(days=40), today + timedelta(days=42)
    form = {
        "property_uid": str(flat),
        "availability": json.dumps({"date_from": str(first), "date_to": str(last)}),
        "room_ids": "[]",
        "text": "owner stay",
    }
    await cap.call("blackbooking_soft_failure", "PUT", "cmf/property/blackbooking", form)
    await cap.call("blackbooking_soft_failure", "PUT", "cmf/property/blackbooking", form)
    await cap.call("blackbookings_with_closures", "GET", f"cmf/property/list/blackbookings/{flat}")
    start, end = first - timedelta(days=2), last + timedelta(days=2)
    await cap.call("calendar_blocked", "GET", f"cmf/property/calendar/{flat}/{start}/{end}")


def _site_booking(flat: int, room_uid: int, first: date) -> None:
    """A guest's booking on the hotel site (``site_booking.php``), if the scripts are here."""
    script = SCRIPTS / "site_booking.php"
    www = os.environ.get("BOOKYFLOW_LIVE_SITE_ROOT", DEFAULT_SITE_ROOT)
    port = os.environ.get("BOOKYFLOW_LIVE_PHP_PORT", "8480")
    last = first + timedelta(days=1)
    args = [str(flat), str(room_uid), str(first), str(last), "160.00"]
    command = ["php", str(script), www, port, *args]
    subprocess.run(command, cwd=www, check=True, capture_output=True)  # noqa: S603


async def _room_delete(cap: Capture, today: date) -> None:
    """A room deleted from a property without bookings; the engine then forgets every room of
    the property for the channel (its ``rooms_xref`` row): no calendar, no reservation."""
    spare = _response(await cap.call("setup", "POST", "cmf/property", {
        "property_name": "Capture Annexe", "remote_uid": "9003", "country": "GB",
        "region_id": "1113", "ptype_id": "1",
    }))  # fmt: skip
    rooms = []
    for name in ("Annexe double", "Annexe spare"):
        answer = await cap.call("setup", "PUT", "cmf/property/room", _room(spare, 1, 0, name, "1"))
        rooms.append(int(_response(answer)["room_uid"]))
    form = {"property_uid": str(spare), "base_price": "70.00", "max_people": "2"}
    await cap.call("setup", "PUT", "cmf/property/base/price", form)
    await cap.call("delete_room", "DELETE", f"cmf/property/room/{spare}/{rooms[1]}")
    start, end = today + timedelta(days=10), today + timedelta(days=12)
    path = f"cmf/property/calendar/{spare}/{start}/{end}"
    await cap.call("calendar_after_room_delete", "GET", path)
    form = {"reservations": _reservation("900000000000003", spare, 1, start, 2)}
    await cap.call("add_after_room_delete", "PUT", "cmf/reservations/add", form)
    await cap.call("setup", "DELETE", f"cmf/property/local/{spare}")


async def _bookings(cap: Capture, hotel: int, flat: int, rooms: list[int], auto: int) -> None:
    today = datetime.now(UTC).date()
    await _room_delete(cap, today)
    live, cancelled = "900000000000001", "900000000000002"
    for remote_id, room_type, offset in ((live, 3, 20), (cancelled, 1, 30)):
        first = today + timedelta(days=offset)
        form = {"reservations": _reservation(remote_id, hotel, room_type, first, 2)}
        await cap.call("setup", "PUT", "cmf/reservations/add", form)
    await _closures(cap, flat, today)
    await asyncio.to_thread(_site_booking, flat, auto, today + timedelta(days=60))
    for uid in (hotel, flat):
        await cap.call("bookings_site_and_push", "GET", f"cmf/property/list/bookings/{uid}")
    await cap.call("change_logs_site_booking", "GET", "cmf/properties/change/logs")
    form = {"reservation_ids": json.dumps([cancelled])}
    await cap.call("setup", "PUT", "cmf/reservations/cancel", form)
    for remote_id in (cancelled, live):
        path = f"cmf/property/booking/link/{hotel}/{remote_id}"
        await cap.call("link_cancelled_push", "GET", path)
    # A push under a text id moved to a numeric id (the link row is updated), then cancelled
    # by that id alone: what a client can do instead of cancelling by a text id.
    text_id = "BK-9000-0001"
    form = {"reservations": _reservation(text_id, hotel, 1, today + timedelta(days=40), 2)}
    added = _response(await cap.call("setup", "PUT", "cmf/reservations/add", form))
    contract = added["successful_bookings"][text_id]["link"]["contract_uid"]
    form = {
        "property_uid": str(hotel),
        "remote_booking_id": "900000000000004",
        "local_booking_id": str(contract),
    }
    await cap.call("relink_text_id", "PUT", "cmf/property/booking/link", form)
    form = {"reservation_ids": json.dumps(["900000000000004"])}
    await cap.call("setup", "PUT", "cmf/reservations/cancel", form)
    # Any booking of the property (a black booking too) refuses every room's deletion.
    await cap.call("delete_room", "DELETE", f"cmf/property/room/{hotel}/{rooms[2]}")
    for uid in (flat, hotel, flat):  # the last one is already gone
        await cap.call("delete_property", "DELETE", f"cmf/property/local/{uid}")


def _records(log: Path, offset: int, tag: str) -> dict[str, list[dict[str, Any]]]:
    by_step: dict[str, list[dict[str, Any]]] = {}
    with log.open(encoding="utf-8") as lines:
        lines.seek(offset)
        for line in lines:
            record = json.loads(line)
            request_id = record.get("request_headers", {}).get("X-Request-ID", "")
            if request_id.startswith(tag + "."):
                by_step.setdefault(request_id.split(".")[1], []).append(record)
    return by_step


def _transcript(step: str, records: list[dict[str, Any]], full: list[Any], work: Path) -> Path:
    """One step's records through ``transcripts.py``; every example kept, the template fixed."""
    template, suffix = STEPS[step]
    log = work / f"{step}.jsonl"
    log.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    out = work / step
    args = [sys.executable, str(SCRIPTS / "transcripts.py"), str(out), str(log)]
    subprocess.run(args, check=True, capture_output=True)  # noqa: S603
    # One file per path when transcripts.py has no template for it (ids in the path): merged.
    parts = [json.loads(p.read_text(encoding="utf-8")) for p in sorted(out.glob("*.json"))]
    assert len(parts) == 1 or template, (step, [p["endpoint"] for p in parts])
    data = parts[0]
    data["endpoint"] = template or data["endpoint"]
    data["calls_seen"] = len(records)
    statuses: dict[str, int] = {}
    for record in records:
        statuses[str(record["status"])] = statuses.get(str(record["status"]), 0) + 1
    data["statuses_seen"] = statuses
    data["examples"] = records
    if full:
        data["full_response_bodies"] = [
            {"file": f"{step}_{i}.json", "body": body} for i, body in enumerate(full, 1)
        ]
    name = re.sub(r"[^A-Za-z0-9]+", "_", data["endpoint"].replace("@", "")).strip("_")
    target = work / f"{name}{suffix}.json"
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    site_root = os.environ.get("BOOKYFLOW_LIVE_SITE_ROOT", DEFAULT_SITE_ROOT)
    target.write_text(text.replace(site_root, "<site-root>"), encoding="utf-8")
    return target


async def drive() -> Capture:
    """Every step against the engine; the capture's tag, token and full answers come back."""
    stamp = int(time.time())
    async with aiohttp.ClientSession() as session:
        cap = Capture(
            api_url=os.environ["BOOKYFLOW_LIVE_URL"].rstrip("/"),
            client_id=os.environ["BOOKYFLOW_LIVE_CLIENT_ID"],
            client_secret=os.environ["BOOKYFLOW_LIVE_CLIENT_SECRET"],
            channel=f"transcripts_{stamp}",
            tag=f"capture{stamp}",
            session=session,
        )
        await cap.open()
        hotel, flat, auto = await _properties(cap)
        rooms = await _rooms_and_tariffs(cap, hotel, flat, auto)
        await _bookings(cap, hotel, flat, rooms, auto)
    await asyncio.sleep(0.5)  # the proxy appends its record after answering
    return cap


def write_transcripts(cap: Capture, out: Path, log: Path, offset: int) -> list[Path]:
    by_step = _records(log, offset, cap.tag)
    out.mkdir(parents=True, exist_ok=True)
    written = []
    with tempfile.TemporaryDirectory() as tmp:
        for step in STEPS:
            made = _transcript(step, by_step[step], cap.full.get(step, []), Path(tmp))
            written.append(out / made.name)
            written[-1].write_text(made.read_text(encoding="utf-8"), encoding="utf-8")
    for path in written:
        text = path.read_text(encoding="utf-8")
        assert cap.client_secret not in text, f"the client secret in {path}"
        assert cap.token not in text, f"the token in {path}"
    return written


def main() -> None:
    out = Path(sys.argv[1])
    log = Path(sys.argv[2] if len(sys.argv) > 2 else PROXY_LOG)
    offset = log.stat().st_size
    cap = asyncio.run(drive())
    for path in write_transcripts(cap, out, log, offset):
        print(path)


if __name__ == "__main__":
    main()
