"""``worker.api.bodies.read_capped``: compressed answers decode, and the cap holds while inflating.

Served by a real aiohttp.web site on loopback and read by a real ``BookyFlowClient``.
"""

from __future__ import annotations

import gzip
import json
import tracemalloc
import zlib
from collections.abc import Awaitable, Callable

import pytest
from aiohttp import web

from tests.api.client_support import without_refresh_loop
from tests.api.hostile_site import MIB, HostileSite, gzip_bomb, serving
from tests.api.test_client_hostile import client_for
from worker.errors import MalformedResponse, ResponseTooLarge

PAYLOAD = {"data": {"response": {"ok": True, "text": "é" * 2000}}}


def coded(
    encoding: str, encode: Callable[[bytes], bytes]
) -> Callable[..., Awaitable[web.Response]]:
    async def handler(request: web.Request) -> web.Response:
        body = encode(json.dumps(PAYLOAD).encode())
        headers = {"Content-Type": "application/json", "Content-Encoding": encoding}
        return web.Response(body=body, headers=headers)

    return handler


@pytest.mark.parametrize(
    ("encoding", "encode"),
    [("gzip", gzip.compress), ("deflate", zlib.compress), ("identity", lambda b: b)],
)
async def test_gzip_deflate_and_identity_answers_decode(
    encoding: str, encode: Callable[[bytes], bytes]
) -> None:
    """Each coding we ask for (``Accept-Encoding: gzip, deflate``) gives back the same JSON."""
    site = HostileSite()
    async with (
        serving(site, {"/api/coded": coded(encoding, encode)}),
        without_refresh_loop(client_for(site)) as client,
    ):
        answer = await client.request("GET", "coded")
    assert answer == PAYLOAD["data"]["response"]
    assert site.seen[-1][1].get("Accept-Encoding") == "gzip, deflate"


async def test_an_encoding_we_did_not_ask_for_is_a_malformed_response() -> None:
    """A ``br`` body (never asked for) is a typed error, not bytes parsed as JSON."""
    site = HostileSite()
    async with (
        serving(site, {"/api/coded": coded("br", lambda b: b)}),
        without_refresh_loop(client_for(site, max_attempts=1)) as client,
    ):
        with pytest.raises(MalformedResponse, match="unsupported Content-Encoding"):
            await client.request("GET", "coded")


async def test_inflating_a_bomb_never_holds_much_more_than_the_cap() -> None:
    """512 MiB of zeros against an 8 MiB cap: Python's peak allocation stays under 3 × the cap.

    aiohttp's own decompression inflated each network read whole (a 256 KiB read is ~256 MiB);
    ``read_capped`` inflates with ``max_length``, so no single step can outgrow the cap.
    """
    site = HostileSite()
    async with (
        serving(site, {"/api/bomb": gzip_bomb(512 * MIB)}),
        without_refresh_loop(client_for(site, max_response_bytes=8 * MIB)) as client,
    ):
        tracemalloc.start()
        try:
            with pytest.raises(ResponseTooLarge):
                await client.request("GET", "bomb")
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert peak < 3 * 8 * MIB
