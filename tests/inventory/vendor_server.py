"""A vendor's inventory endpoint on loopback (``aiohttp.web``), for the HTTP source's tests.

It serves one document with a strong ``ETag`` (a hash of the bytes), answers ``If-None-Match``
with 304, wants ``Authorization: Bearer <token>`` when ``token`` is set, and can be told to fail
the next requests (``fail_next(503, times=2)``). Every answer's status is kept in ``statuses``.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from aiohttp import web


class VendorServer:
    """The vendor's side of ``BOOKYFLOW_INVENTORY=http://127.0.0.1:<port>/inventory.json``."""

    def __init__(self, *, token: str | None = None) -> None:
        self.token = token
        self.body = b'{"properties": []}'
        self.etags = True
        self.statuses: list[int] = []
        self.seen_headers: list[dict[str, str]] = []
        self._failures: list[tuple[int, dict[str, str]]] = []
        self._runner: web.AppRunner | None = None
        self.url = ""

    def serve(self, document: Any) -> None:
        """Serve ``document`` (JSON-encoded unless it is already text) from now on."""
        text = document if isinstance(document, str) else json.dumps(document)
        self.body = text.encode("utf-8")

    def fail_next(
        self, status: int, *, times: int = 1, headers: dict[str, str] | None = None
    ) -> None:
        self._failures += [(status, headers or {})] * times

    @property
    def etag(self) -> str:
        return '"' + hashlib.sha256(self.body).hexdigest()[:16] + '"'

    async def start(self) -> VendorServer:
        app = web.Application()
        app.router.add_get("/inventory.json", self._handle)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.url = f"http://127.0.0.1:{port}/inventory.json"
        return self

    async def close(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()

    async def _handle(self, request: web.Request) -> web.Response:
        self.seen_headers.append(dict(request.headers))
        response = self._answer(request)
        self.statuses.append(response.status)
        return response

    def _answer(self, request: web.Request) -> web.Response:
        if self._failures:
            status, headers = self._failures.pop(0)
            return web.Response(status=status, headers=headers, text="vendor trouble")
        if (
            self.token is not None
            and request.headers.get("Authorization") != f"Bearer {self.token}"
        ):
            return web.Response(status=401, text="bad token")
        if self.etags and request.headers.get("If-None-Match") == self.etag:
            return web.Response(status=304, headers={"ETag": self.etag})
        headers = {"ETag": self.etag} if self.etags else {}
        return web.Response(body=self.body, headers=headers, content_type="application/json")
