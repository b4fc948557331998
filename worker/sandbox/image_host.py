"""A stand-in for the vendor's image CDN: the sandbox (like the real engine) downloads each
property image from its URL, so the demo and the tests need somewhere to serve them from.

``GET /img/<name>`` answers a small JPEG (the same bytes for every name: the engine stores what
it downloads, it does not look at it); anything else is a 404, which is how a test makes a URL
unreachable. Loopback only, like the sandbox.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from worker.closing import AsyncClosing

__all__ = ["JPEG", "ImageHost", "rehost_images"]

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

# A valid 1×1 baseline JPEG.
JPEG = bytes.fromhex(
    "ffd8ffe000104a46494600010100000100010000ffdb004300080606070605080707070909080a0c140d0c0b0b0c"
    "1912130f141d1a1f1e1d1a1c1c20242e2720222c231c1c2837292c30313434341f27393d38323c2e333432ffc000"
    "0b080001000101011100ffc4001f0000010501010101010100000000000000000102030405060708090a0bffc400"
    "b5100002010303020403050504040000017d01020300041105122131410613516107227114328191a1082342b1c1"
    "1552d1f02433627282090a161718191a25262728292a3435363738393a434445464748494a535455565758595a63"
    "6465666768696a737475767778797a838485868788898a92939495969798999aa2a3a4a5a6a7a8a9aab2b3b4b5b6"
    "b7b8b9bac2c3c4c5c6c7c8c9cad2d3d4d5d6d7d8d9dae1e2e3e4e5e6e7e8e9eaf1f2f3f4f5f6f7f8f9faffda0008"
    "010100003f00fbd3ffd9"
)


async def _image(request: web.Request) -> web.Response:
    return web.Response(body=JPEG, content_type="image/jpeg")


class ImageHost(AsyncClosing):
    """``async with ImageHost() as host: host.url("main.jpg")`` — served on a free loopback port."""

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._host, self._port = host, port
        self._runner: web.AppRunner | None = None
        self.base_url = ""
        self.served = 0

    def url(self, name: str) -> str:
        """The URL of image ``name`` (a path that is not ``/img/...`` is unreachable)."""
        return f"{self.base_url}/img/{name}"

    async def start(self) -> ImageHost:
        app = web.Application()
        app.router.add_get("/img/{name}", self._count(_image))
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://{self._host}:{port}"
        return self

    def _count(self, handler: Handler) -> Handler:
        async def counted(request: web.Request) -> web.StreamResponse:
            self.served += 1
            response: web.StreamResponse = await handler(request)
            return response

        return counted

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def open(self) -> None:
        """``async with`` starts it (``worker.closing.AsyncClosing``)."""
        await self.start()


def rehost_images(document: dict[str, Any], host: ImageHost) -> dict[str, Any]:
    """The inventory document with every image URL moved onto ``host`` (same file names).

    The example inventory names a vendor CDN that does not exist here; the demo and the tests
    serve the same files from loopback instead, so the sandbox's downloads succeed.
    """
    for prop in document.get("properties", []):
        for image in (prop.get("content") or {}).get("images") or []:
            image["url"] = host.url(str(image["url"]).rsplit("/", 1)[-1])
    return document
