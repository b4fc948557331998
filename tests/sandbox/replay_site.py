"""The replay test's harness: a sandbox on loopback, a small channel client to build state with,
and the rewriting of a transcript's request onto the state it built.

Transcripts come from several installs, so the ids in a real request (the ``2`` of
``/cmf/property/calendar/2/...``) are mapped onto the ids of what the scenario built (``IdMap``);
the route template of the transcript (``@property_uid`` ...) says which path segments are ids.
Every request the harness sends moves the sandbox's clock one second on, as real time moved while
the transcripts were captured, so bookings keep the order they were made in.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import aiohttp
from aiohttp import web

from worker.sandbox import Sandbox

API = "/bookyflow/api"
CLIENT_ID = "bookyflow-live"
SECRET = "live-secret-for-the-replay"
REAL_CHANNEL_HEADER = "X-JOMRES-channel-name"
CHANNEL_HEADER = "X-BOOKYFLOW-channel-name"
JPEG = b"\xff\xd8\xff\xe0 not really a jpeg, the sandbox stores what it fetched \xff\xd9"


@dataclass(frozen=True)
class Case:
    """One real request/response pair to replay."""

    case_id: str
    template: str  # the transcript's route template, e.g. "/cmf/property/@property_uid"
    method: str
    path: str  # below the API root
    headers: Mapping[str, str]
    form: Mapping[str, str] | None
    at: str
    status: int
    response_headers: Mapping[str, str]
    body: str
    cut: bool  # only the body's first 2 KB were recorded, and no full copy is given

    @property
    def today(self) -> date:
        """The real site's today when the example was captured."""
        return datetime.fromisoformat(self.at.replace("Z", "+00:00")).date()

    def path_id(self, name: str) -> str:
        """The real value of path segment ``@name``."""
        names, segments = self.template.split("/"), self.path.split("/")
        return segments[names.index(f"@{name}")]

    def form_value(self, name: str) -> str:
        return (self.form or {})[name]

    @property
    def channel(self) -> str:
        """The channel the real request named (every capture run has one of its own)."""
        return str(self.headers.get(REAL_CHANNEL_HEADER, ""))


class Clock:
    """The wall clock of the sandbox: the transcript's capture time, moving on per request."""

    def __init__(self, iso: str) -> None:
        self.now = datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()

    def __call__(self) -> float:
        return self.now


@dataclass
class IdMap:
    """Real ids of a transcript → ids of the state the scenario built."""

    property: dict[str, int] = field(default_factory=dict)
    room: dict[str, int] = field(default_factory=dict)
    contract: dict[str, int] = field(default_factory=dict)


async def start_image_server() -> tuple[web.AppRunner, str]:
    """Serves any ``*.jpg`` on loopback, except ``missing.jpg`` (404), for image uploads."""

    async def image(request: web.Request) -> web.StreamResponse:
        if request.match_info["name"] == "missing.jpg":
            raise web.HTTPNotFound
        return web.Response(body=JPEG, content_type="image/jpeg")

    app = web.Application()
    app.router.add_get("/{name}", image)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    return runner, f"http://127.0.0.1:{runner.addresses[0][1]}"


class ReplaySite:
    """A minimal channel client of one sandbox, enough to build what a transcript assumes."""

    def __init__(
        self, sandbox: Sandbox, session: aiohttp.ClientSession, clock: Clock, images: str
    ) -> None:
        self.sandbox, self.session, self.clock, self.images = sandbox, session, clock, images
        self.token = ""
        self.channel: str | None = None

    async def send(
        self, method: str, path: str, form: Mapping[str, str] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> tuple[int, str, Mapping[str, str]]:  # fmt: skip
        """One request as given: ``(status, body text, headers)``; the clock moves a second."""
        self.clock.now += 1
        async with self.session.request(
            method, self.sandbox.api_url + path, data=form, headers=headers
        ) as response:
            return response.status, await response.text(), response.headers

    async def cmf(self, method: str, path: str, form: Mapping[str, str] | None = None) -> Any:
        """A call with the harness's token and channel that must succeed: ``data.response``."""
        headers = {"Authorization": f"Bearer {self.token}"}
        if self.channel:
            headers[CHANNEL_HEADER] = self.channel
        status, text, _ = await self.send(method, path, form, headers)
        body = json.loads(text) if text else None
        assert status == 200, (path, status, text[:300])
        assert body, (path, text[:300])
        assert "response" in body["data"], (path, text[:300])
        return body["data"]["response"]

    async def login(self, channel: str | None = None) -> None:
        form = {"grant_type": "client_credentials", "client_id": CLIENT_ID,
                "client_secret": SECRET, "scope": "read write delete"}  # fmt: skip
        _, text, _ = await self.send("POST", "/oauth/token", form)
        self.token = json.loads(text)["access_token"]
        if channel:
            await self.cmf("POST", f"/cmf/channel/announce/{channel}/{channel}", {"params": "{}"})
            self.channel = channel

    # building blocks -------------------------------------------------------------------------

    async def prop(self, name: str, remote: str, country: str, region: int, ptype: int) -> int:
        form = {"property_name": name, "remote_uid": remote, "country": country,
                "region_id": str(region), "ptype_id": str(ptype)}  # fmt: skip
        return int(await self.cmf("POST", "/cmf/property", form))

    async def room(
        self, uid: int, room_type: int, name: str = "", number: str = "", room_uid: int = 0
    ) -> Any:
        form = {"property_uid": str(uid), "room_type_id": str(room_type),
                "room_uid": str(room_uid), "max_people": "2", "room_name": name,
                "room_number": number}  # fmt: skip
        return await self.cmf("PUT", "/cmf/property/room", form)

    async def rooms_of(self, uid: int) -> list[int]:
        return [int(r["room_uid"]) for r in await self.cmf("GET", f"/cmf/property/rooms/{uid}")]

    async def base(self, uid: int, price: str = "95.00", people: int = 2) -> None:
        form = {"property_uid": str(uid), "base_price": price, "max_people": str(people)}
        await self.cmf("PUT", "/cmf/property/base/price", form)

    async def prices(self, uid: int, *entries: tuple[str, str, str]) -> None:
        rows = [{"date_from": a, "date_to": b, "ratepernight": r} for a, b, r in entries]
        await self.cmf("PUT", "/cmf/property/prices",
                       {"property_uid": str(uid), "ratepernight": json.dumps(rows)})  # fmt: skip

    async def minstays(self, uid: int, *entries: tuple[str, str, int]) -> None:
        rows = [{"date_from": a, "date_to": b, "minstay": m} for a, b, m in entries]
        await self.cmf("PUT", "/cmf/property/minstays",
                       {"property_uid": str(uid), "minstays": json.dumps(rows)})  # fmt: skip

    async def closure(self, uid: int, first: str, last: str, text: str = "") -> int:
        form = {"property_uid": str(uid), "room_ids": "[]", "text": text,
                "availability": json.dumps({"date_from": first, "date_to": last})}  # fmt: skip
        return int((await self.cmf("PUT", "/cmf/property/blackbooking", form))["contract_id"])

    async def push(self, uid: int, remote_id: str, first: str, last: str, **stay: Any) -> Any:
        item = {
            "remote_reservation_id": remote_id, "referrer": "ProbeOTA", "comments": "",
            "guest_info": {"name": "Ana", "surname": "Silva", "email": "ana@example.org",
                           "phone": "+351000000", "address": "Rua 1", "post_code": "1000-001",
                           "country_code": "PT", "language_id": "en-GB"},
            "stay_infos": [{"property_id": uid, "date_from": first, "date_to": last,
                            "room_type_id": 1, "room_type_name": "", "guest_number": 2,
                            "client_price": "360.00", "channel_price": "360.00",
                            "already_paid": "0.00", **stay}],
        }  # fmt: skip
        form = {"reservations": json.dumps({"reservations": [item]})}
        return await self.cmf("PUT", "/cmf/reservations/add", form)

    async def cancel(self, *remote_ids: str) -> Any:
        form = {"reservation_ids": json.dumps(list(remote_ids))}
        return await self.cmf("PUT", "/cmf/reservations/cancel", form)

    async def image(self, uid: int, name: str, resource_type: str, resource_id: int = 0) -> None:
        form = {"property_uid": str(uid), "url": f"{self.images}/{name}",
                "resource_type": resource_type, "resource_id": str(resource_id)}  # fmt: skip
        headers = {"Authorization": f"Bearer {self.token}", CHANNEL_HEADER: self.channel or ""}
        status, _, _ = await self.send("PUT", "/cmf/property/image/", form, headers)
        assert status == 500  # stored, then the real default site's thumbnail crash

    async def address(self, uid: int) -> None:
        form = {"property_uid": str(uid), "street": "1 Harbour Road", "town": "St Ives",
                "postcode": "TR26 1AA"}  # fmt: skip
        await self.cmf("PUT", "/cmf/property/address", form)

    async def review(self, uid: int) -> Any:
        return await self.cmf("PUT", "/cmf/property/status/review", {"property_uid": str(uid)})

    def book_on_site(self, uid: int, first: str, last: str) -> int:
        self.clock.now += 1
        booking = self.sandbox.store.book_on_site(uid, first, last, total="190.00")
        return int(booking["booking_id"])

    def cancel_on_site(self, booking_id: int) -> None:
        self.clock.now += 1
        self.sandbox.store.cancel_site_booking(booking_id)


# rewriting the real request onto the built state ----------------------------------------------


def rewrite_path(template: str, path: str, ids: IdMap) -> str:
    """Map the id segments of ``path`` (named by ``@...`` in the route template) onto ``ids``."""
    names = template.split("/")
    segments = path.split("/")
    if len(names) != len(segments):
        return path  # an unknown route: sent as it is
    kinds = {"@property_uid": ids.property, "@contract_id": ids.contract, "@room_uid": ids.room}
    if "@resource_type" in names and segments[names.index("@resource_type")] == "rooms":
        kinds["@resource_id"] = ids.room
    return "/".join(
        str(kinds[name].get(seg, seg)) if name in kinds else seg
        for name, seg in zip(names, segments, strict=True)
    )


def rewrite_form(form: Mapping[str, str] | None, ids: IdMap, site: ReplaySite) -> dict[str, str]:
    """Ids, image URLs and the masked client secret of a real form, for this sandbox."""
    out = dict(form or {})
    if "property_uid" in out:
        out["property_uid"] = str(ids.property.get(out["property_uid"], out["property_uid"]))
    if "room_uid" in out:
        out["room_uid"] = str(ids.room.get(out["room_uid"], out["room_uid"]))
    if "local_booking_id" in out:
        out["local_booking_id"] = str(ids.contract.get(out["local_booking_id"], "0"))
    if out.get("resource_type") == "rooms" and "resource_id" in out:
        out["resource_id"] = str(ids.room.get(out["resource_id"], out["resource_id"]))
    if "url" in out:
        out["url"] = site.images + "/" + out["url"].rsplit("/", 1)[-1]
    if out.get("client_secret") == "***":
        out["client_secret"] = SECRET
    if "reservations" in out:
        document = json.loads(out["reservations"])
        for item in document["reservations"]:
            for stay in item["stay_infos"]:
                real = str(stay["property_id"])
                stay["property_id"] = ids.property.get(real, stay["property_id"])
        out["reservations"] = json.dumps(document)
    return out
