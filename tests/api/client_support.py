"""Helpers shared by the client suites: settings for a loopback site, token extraction."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from worker.api.client import BookyFlowClient
from worker.sandbox import Sandbox
from worker.settings import HttpSettings, RetrySettings, Settings

DEMO_SECRET = "s3cret-demo-secret"
# Loopback tests must not be paced like a shared PHP host.
FAST_HTTP = HttpSettings(rate_limit_per_s=100_000, rate_limit_burst=100_000)


def make_settings(
    api_url: str,
    *,
    client_id: str = "demo",
    secret: str = DEMO_SECRET,
    scopes: str = "read write delete",
    http: HttpSettings = FAST_HTTP,
    **retry: Any,
) -> Settings:
    """Settings for one site; keyword extras override ``RetrySettings`` fields."""
    return Settings(
        api_url=api_url,
        client_id=client_id,
        client_secret=secret,
        scopes=scopes,
        channel_name="acme",
        channel_friendly_name="Acme Channel",
        http=http,
        retry=RetrySettings(**retry),
    )


def bearer_tokens(headers_seen: list[dict[str, str]]) -> set[str]:
    """Token values from ``Authorization: Bearer`` headers (any header-name case)."""
    tokens = set()
    for headers in headers_seen:
        for name, value in headers.items():
            if name.lower() == "authorization" and value.startswith("Bearer "):
                tokens.add(value.removeprefix("Bearer "))
    return tokens


@asynccontextmanager
async def without_refresh_loop(client: BookyFlowClient) -> AsyncIterator[BookyFlowClient]:
    """Use a client without its background refresh loop (for auto-advancing fake clocks).

    An auto-advancing clock would let the loop's sleeps race virtual time forward; tokens are
    still fetched on demand by ``TokenManager.get``.
    """
    try:
        yield client
    finally:
        await client.close()


async def announce(client: BookyFlowClient) -> None:
    """Announce the test channel, as the worker does before any other CMF call."""
    name = client.settings.channel_name
    await client.request(
        "POST", f"cmf/channel/announce/{name}/{name}", form={"params": "{}"}, idempotent=True
    )


async def announced(sandbox: Sandbox) -> Sandbox:
    """Announce the channel with a throw-away client, then forget that traffic."""
    async with BookyFlowClient(make_settings(sandbox.api_url)) as client:
        await announce(client)
    sandbox.journal.clear()
    return sandbox
