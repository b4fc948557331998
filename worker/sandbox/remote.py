"""A small typed client for the ``/_sandbox`` control routes of a sandbox in another process.

Test tooling of the sandbox (hence aiohttp's client here, outside ``worker.api``)::

    async with RemoteSandbox("http://127.0.0.1:8080", admin_token) as remote:
        await remote.fail_next(503, times=2)
        entries = await remote.journal(path="/cmf/")
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import aiohttp

from worker.closing import AsyncClosing
from worker.sandbox.control import CONTROL_ROOT

JSON = dict[str, Any]


class RemoteSandboxError(RuntimeError):
    """A control route answered with an error status."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"sandbox control route answered HTTP {status}: {message}")
        self.status = status


class RemoteSandbox(AsyncClosing):
    """The control surface of ``Sandbox`` (faults, tokens, channels, journal, site bookings)."""

    def __init__(self, url: str, admin_token: str) -> None:
        self._root = url.rstrip("/") + CONTROL_ROOT
        self._headers = {"Authorization": f"Bearer {admin_token}"}
        self._session: aiohttp.ClientSession | None = None

    def __repr__(self) -> str:
        return f"RemoteSandbox({self._root!r})"

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def fail_next(self, status: int, **options: Any) -> None:
        """Options as ``FaultInjector.fail_next``: times, path, html, retry_after."""
        await self.add_fault("fail_next", status=status, **options)

    async def rate_limit_next(self, **options: Any) -> None:
        await self.add_fault("rate_limit_next", **options)

    async def set_random_failure(
        self, fraction: float, *, statuses: Sequence[int] = (500, 502, 503), seed: int | None = None
    ) -> None:
        await self.add_fault(
            "random_failure", fraction=fraction, statuses=list(statuses), seed=seed
        )

    async def set_latency(self, seconds: float, *, jitter_s: float = 0.0) -> None:
        await self.add_fault("latency", seconds=seconds, jitter_s=jitter_s)

    async def reset_next(self, **options: Any) -> None:
        """Options: times, path, after_processing."""
        await self.add_fault("reset_next", **options)

    async def truncate_next(self, **options: Any) -> None:
        await self.add_fault("truncate_next", **options)

    async def invalid_json_next(self, **options: Any) -> None:
        await self.add_fault("invalid_json_next", **options)

    async def add_fault(self, kind: str, **spec: Any) -> None:
        await self._call("POST", "/faults", {"kind": kind, **spec})

    async def clear_faults(self) -> None:
        await self._call("DELETE", "/faults")

    async def revoke_tokens(self) -> int:
        return int((await self._call("POST", "/tokens/revoke"))["revoked"])

    async def expire_tokens(self) -> int:
        return int((await self._call("POST", "/tokens/expire"))["expired"])

    async def set_token_ttl(self, seconds: float) -> None:
        await self._call("POST", "/tokens/ttl", {"seconds": seconds})

    async def forget_channels(self) -> None:
        await self._call("POST", "/channels/forget")

    async def set_legacy(self, enabled: bool) -> None:
        await self._call("POST", "/legacy", {"enabled": enabled})

    async def journal(self, *, method: str | None = None, path: str | None = None) -> list[JSON]:
        """Entries as JSON objects; ``authorization`` says whether the header was sent."""
        query = {key: value for key, value in (("method", method), ("path", path)) if value}
        entries: list[JSON] = (await self._call("GET", "/journal", params=query))["entries"]
        return entries

    async def clear_journal(self) -> None:
        await self._call("DELETE", "/journal")

    async def book_on_site(
        self, property_uid: int, date_from: str, date_to: str, **guest: Any
    ) -> JSON:
        body = {"property_uid": property_uid, "date_from": date_from, "date_to": date_to, **guest}
        return await self._call("POST", "/bookings", body)

    async def modify_site_booking(self, booking_id: int, **changes: Any) -> JSON:
        return await self._call("POST", f"/bookings/{booking_id}/modify", changes)

    async def cancel_site_booking(self, booking_id: int) -> JSON:
        return await self._call("POST", f"/bookings/{booking_id}/cancel")

    async def state(self, *, client: str, channel: str, start: str, end: str) -> JSON:
        """Properties of one channel with rooms, closures, bookings and calendar ``start..end``."""
        query = {"client": client, "channel": channel, "start": start, "end": end}
        return await self._call("GET", "/state", params=query)

    async def _call(
        self, method: str, path: str, body: JSON | None = None, params: dict[str, str] | None = None
    ) -> JSON:
        if self._session is None:
            self._session = aiohttp.ClientSession(headers=self._headers)
        async with self._session.request(
            method, self._root + path, json=body, params=params
        ) as response:
            text = await response.text()
            if response.status >= 400:
                raise RemoteSandboxError(response.status, text[:200])
            payload: JSON = json.loads(text)
            return payload
