"""The HTTP transport seam: how an aiohttp session is made for a client of ours.

``BookyFlowClient(settings, session_factory=...)`` takes any ``SessionFactory`` (a callable with
no arguments returning an ``aiohttp.ClientSession``), the way httpx takes ``transport=``: a test
can count sessions, point a custom connector at the sandbox, or add trace configs, without a mock
of our own client. The default is ``new_session(settings.http)``: TLS verified (against
``http.ca_bundle`` when set), a per-host connection limit, explicit timeouts, no cookie jar, and
no decompression inside aiohttp: ``worker.api.bodies.read_capped`` inflates under the body cap.

Whatever the factory returns goes through ``without_hidden_retries`` before its first request
(``BookyFlowClient`` and ``HttpInventorySource`` both do it), so every retry is one of
``call_with_retry``'s and none hides inside aiohttp.
"""

from __future__ import annotations

import functools
import os
import ssl
from collections.abc import Callable, Mapping, Sequence

import aiohttp

from worker.api.bodies import ACCEPT_ENCODING
from worker.settings import HttpSettings

__all__ = ["SessionFactory", "new_session", "without_hidden_retries"]

SessionFactory = Callable[[], aiohttp.ClientSession]


def tls_context(ca_bundle: str | os.PathLike[str]) -> ssl.SSLContext:
    """One verifying context per CA bundle file version, shared by every session of the process.

    A context holding a bundle's certificates costs hundreds of kilobytes; a thousand sites
    (and an inventory URL's session per load) each building their own would cost hundreds of
    megabytes. A replaced or edited bundle (a new mtime or size) gets a context of its own.
    """
    st = os.stat(ca_bundle)
    return _tls_context(os.fspath(ca_bundle), st.st_mtime_ns, st.st_size)


@functools.lru_cache(maxsize=8)
def _tls_context(ca_bundle: str, _mtime_ns: int, _size: int) -> ssl.SSLContext:
    return ssl.create_default_context(cafile=ca_bundle)


def new_session(
    http: HttpSettings,
    *,
    headers: Mapping[str, str] | None = None,
    connector: aiohttp.BaseConnector | None = None,
    trace_configs: Sequence[aiohttp.TraceConfig] = (),
) -> aiohttp.ClientSession:
    """A session as ``http`` configures it; ``connector`` replaces the TLS/limit connector, and
    ``trace_configs`` see every request (aiohttp's tracing signals)."""
    if connector is None:
        context = tls_context(http.ca_bundle) if http.ca_bundle else True
        connector = aiohttp.TCPConnector(limit_per_host=http.max_connections_per_host, ssl=context)
    # sock_connect, not connect: waiting for a pooled connection must not count as connecting
    timeout = aiohttp.ClientTimeout(
        total=http.total_timeout_s,
        sock_connect=http.connect_timeout_s,
        sock_read=http.read_timeout_s,
    )
    return aiohttp.ClientSession(
        connector=connector,
        timeout=timeout,
        headers={"Accept-Encoding": ACCEPT_ENCODING, **(headers or {})},
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,  # bodies.read_capped inflates within the cap
        trace_configs=list(trace_configs) or None,
    )


def without_hidden_retries(session: aiohttp.ClientSession) -> aiohttp.ClientSession:
    """``session``, no longer re-sending a GET/PUT/DELETE by itself when a pooled connection drops.

    A PUT of reservations/add re-sent that way duplicates bookings, and a hidden retry escapes
    our budget and logs. aiohttp has no public switch; its own test client flips the same
    attribute, and this is the one place in the worker that does.
    """
    session._retry_connection = False
    return session
