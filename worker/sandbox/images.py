"""Fetching an image the way the real engine's ``PUT /cmf/property/image/`` does, and its answers.

The engine downloads the URL itself and stores the file under its base name; on a default site
configuration it then crashes making the thumbnail and answers HTTP 500 with a PHP error page
("Division by zero"), although the large image is stored. An unreachable URL answers 200 with an
empty body and stores nothing. This is the only place the sandbox opens outgoing connections
(aiohttp's client, bounded in time and size), so tests can serve images on loopback.
"""

from __future__ import annotations

import posixpath
from urllib.parse import unquote, urlsplit

import aiohttp
from aiohttp import web

FETCH_TIMEOUT_S = 5.0
MAX_IMAGE_BYTES = 10 * 1024 * 1024
_CONTENT_TYPE = "text/html"
DIVISION_BY_ZERO = (
    "<h1>500 Internal Server Error</h1><h3>Division by zero (0)</h3><pre>"
    "#0 [internal function]: Gregwar\\Image\\Adapter\\Common->zoomCrop()\n"
    "#1 /var/www/html/jomres/remote_plugins/channelmanagement_framework/vendor/gregwar/image/"
    "Gregwar/Image/Image.php(624): call_user_func_array()\n"
    "#2 /var/www/html/jomres/remote_plugins/api_feature_cmf/PUT/cmf_property_image.php(42): "
    "channelmanagement_framework_utilities::get_image()\n#3 {main}</pre>"
)


def base_name(url: str) -> str:
    """The file name the engine stores an image under: the URL path's last segment."""
    return posixpath.basename(unquote(urlsplit(url).path))


async def fetch(url: str) -> bytes | None:
    """The image's bytes, or None when it cannot be fetched (or is too large)."""
    if urlsplit(url).scheme not in ("http", "https") or not base_name(url):
        return None
    timeout = aiohttp.ClientTimeout(total=FETCH_TIMEOUT_S)
    try:
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.get(url, allow_redirects=True) as response,
        ):
            if response.status != 200:
                return None
            body = await response.content.read(MAX_IMAGE_BYTES + 1)
    except (aiohttp.ClientError, TimeoutError, ValueError):
        return None
    return body if 0 < len(body) <= MAX_IMAGE_BYTES else None


def stored_answer() -> web.Response:
    """What the default real site answers after storing an image."""
    return web.Response(status=500, text=DIVISION_BY_ZERO, content_type=_CONTENT_TYPE)


def not_fetched_answer() -> web.Response:
    """What it answers when the URL could not be fetched: 200, empty body."""
    return web.Response(status=200, body=b"", content_type=_CONTENT_TYPE)
