"""Route templates (metric labels without ids) and the client's write counters by route."""

from __future__ import annotations

import pytest

from tests.api.client_support import announced, make_settings, without_refresh_loop
from worker.api.client import BookyFlowClient
from worker.api.routes import route_template
from worker.sandbox import Sandbox
from worker.testing import FakeClock


@pytest.mark.parametrize(
    ("path", "template"),
    [
        ("cmf/versions", "/cmf/versions"),
        ("/oauth/token", "/oauth/token"),
        ("cmf/property/17", "/cmf/property/{id}"),
        ("cmf/property/image/", "/cmf/property/image"),
        ("cmf/properties/change/logs", "/cmf/properties/change/logs"),
        ("cmf/property/calendar/3/2026-05-01/2026-05-31", "/cmf/property/calendar/{id}/{id}/{id}"),
        ("cmf/property/booking/link/3/OTA-9f2c", "/cmf/property/booking/link/{id}/{id}"),
        ("cmf/property/booking/link/3/cancel", "/cmf/property/booking/link/{id}/{id}"),
        ("cmf/property/image/3/a.jpg/rooms/12", "/cmf/property/image/{id}/{id}/{id}/{id}"),
        ("cmf/channel/announce/property/My%20OTA", "/cmf/channel/announce/{id}/{id}"),
        ("cmf/property/text/en", "/cmf/property/text/{id}"),
        ("cmf/property/4f1e2d3c-aaaa-bbbb-cccc-0123456789ab", "/cmf/property/{id}"),
    ],
)
def test_route_template_replaces_every_id(path: str, template: str) -> None:
    """Ids, dates, names and every segment after the first value become ``{id}``."""
    assert route_template(path) == template


async def test_writes_are_counted_once_per_call_by_route(sandbox: Sandbox) -> None:
    """A POST retried after a 503 counts as one write of its route; reads count nothing."""
    await announced(sandbox)
    settings = make_settings(sandbox.api_url)
    client = BookyFlowClient(settings, clock=FakeClock(auto_advance=True))
    announce = "cmf/channel/announce/acme/Acme%20Channel"
    async with without_refresh_loop(client):
        await client.request("GET", "cmf/versions")
        sandbox.faults.fail_next(503, times=1, path="cmf/channel/announce/acme/")
        await client.request("POST", announce, form={"params": "{}"}, idempotent=True)
    assert client.stats.writes_by_route == {"/cmf/channel/announce/{id}/{id}": 1}
    assert client.stats.retries == 1
