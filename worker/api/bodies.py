"""Reading a response body under a cap that holds after decompression, whatever the chunk sizes.

A well-compressed chunk can inflate a thousandfold (64 KiB of gzip is 64 MiB of zeros), so
the cap must hold during inflation, not only after it. Rather than depend on how large the
pieces are that aiohttp's own decompression inflates at once, sessions are made with
``auto_decompress=False`` (``transport.new_session``) and the body is inflated here with
``max_length``: never more than the bytes still allowed (plus one, to see the cap passed) at a
time, so memory stays within ``max_bytes`` plus one read chunk however the bytes arrive
(``tests/api/test_bodies.py`` measures it).

Only ``gzip`` and ``deflate`` (both zlib) are asked for (``ACCEPT_ENCODING``); any other coding
is a ``MalformedResponse``, not a body to guess at.
"""

from __future__ import annotations

import zlib

import aiohttp

from worker.errors import MalformedResponse, ResponseTooLarge

__all__ = ["ACCEPT_ENCODING", "read_capped"]

ACCEPT_ENCODING = "gzip, deflate"
_READ_CHUNK = 64 * 1024
# zlib's wbits: 16 + MAX_WBITS reads a gzip header; 32 + MAX_WBITS detects zlib or gzip (some
# servers label a zlib stream "gzip" and the reverse).
_WBITS = {"gzip": 32 + zlib.MAX_WBITS, "x-gzip": 32 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}


def _inflater(response: aiohttp.ClientResponse) -> zlib._Decompress | None:
    coding = response.headers.get("Content-Encoding", "").strip().lower()
    if coding in ("", "identity"):
        return None
    if coding not in _WBITS:
        raise MalformedResponse(
            f"unsupported Content-Encoding {coding[:40]!r}", status=response.status
        )
    return zlib.decompressobj(_WBITS[coding])


async def read_capped(response: aiohttp.ClientResponse, max_bytes: int, *, setting: str) -> bytes:
    """The decoded body, or ``ResponseTooLarge`` as soon as it passes ``max_bytes`` (the cap's
    ``setting`` is named in the message).

    An uncoded body with a ``Content-Length`` is judged by it (aiohttp reads no byte past it);
    any other is read chunk by chunk. Leaving early closes the connection instead of pooling
    it half read.
    """
    inflater = _inflater(response)
    declared = response.content_length
    if inflater is None and declared is not None:
        if declared > max_bytes:
            raise _too_large(response.status, max_bytes, setting)
        return await response.read()
    body = bytearray()
    async for chunk in response.content.iter_chunked(_READ_CHUNK):
        if inflater is None:
            body += chunk
        else:
            _inflate_into(body, inflater, chunk, max_bytes, response.status)
        if len(body) > max_bytes:
            raise _too_large(response.status, max_bytes, setting)
    if inflater is not None and not inflater.eof and inflater.unconsumed_tail == b"":
        body += inflater.flush()
    return bytes(body)


def _inflate_into(
    body: bytearray, inflater: zlib._Decompress, chunk: bytes, max_bytes: int, status: int
) -> None:
    """Inflate ``chunk`` into ``body`` in pieces no larger than what is still allowed (+1)."""
    data = chunk
    while data and len(body) <= max_bytes:
        try:
            body += inflater.decompress(data, max_bytes + 1 - len(body))
        except zlib.error as exc:
            raise MalformedResponse(f"a corrupt compressed body ({exc})", status=status) from exc
        data = inflater.unconsumed_tail


def _too_large(status: int, max_bytes: int, setting: str) -> ResponseTooLarge:
    return ResponseTooLarge(
        f"response body passed {max_bytes} bytes ({setting})",
        status=status,
        max_bytes=max_bytes,
        retryable=False,
    )
