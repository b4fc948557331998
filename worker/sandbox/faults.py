"""Fault injection: what the proxies and crashing PHP in front of a real site do to requests.

``FaultInjector`` is pure decision logic (queues of rules, a seeded random source, a latency
setting); ``fault_middleware`` is the thin aiohttp shell that applies its decisions. Where a fault
acts decides whether the request reached BookyFlow:

- *before* the site (never applied): ``fail_next``, ``rate_limit_next``, random failures, and
  ``reset_next()`` — a proxy answers or drops the connection;
- *after* the site (applied, the answer is lost or mangled): ``reset_next(after_processing=True)``,
  ``truncate_next`` and ``invalid_json_next``.

Latency applies to every request before anything else. Rules are consumed first-in first-out; a
rule with a ``path`` only matches requests whose path contains it.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from http import HTTPStatus
from typing import Literal

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

Sleep = Callable[[float], Awaitable[None]]
FaultKind = Literal["respond", "reset", "truncate", "invalid_json"]
Stage = Literal["before", "after"]

# Proxies answer gateway errors with HTML pages; the client must not expect JSON there.
HTML_BY_DEFAULT = frozenset({502, 503, 504})
# What a PHP notice printed ahead of the JSON looks like: the body is no longer JSON.
PHP_NOTICE = (
    b"<br />\n<b>Notice</b>:  Undefined index: channel in "
    b"/var/www/html/bookyflow/api/index.php on line 42<br />\n"
)


@dataclass(frozen=True)
class Fault:
    """One decision for one request."""

    kind: FaultKind
    status: int = 0
    html: bool = False
    retry_after: str | None = None


@dataclass
class _Rule:
    fault: Fault
    stage: Stage
    remaining: int
    path: str | None = None

    def matches(self, path: str) -> bool:
        return self.path is None or self.path in path


@dataclass
class _RandomFailure:
    fraction: float
    statuses: tuple[int, ...]
    rng: random.Random = field(default_factory=random.Random)


def _positive_times(times: int) -> int:
    if times < 1:
        raise ValueError("times must be at least 1")
    return times


def _error_status(status: int) -> int:
    if not 400 <= status <= 599:
        raise ValueError("a fault status must be an HTTP error status (400-599)")
    return status


class FaultInjector:
    """Queued, random and latency faults; answered "by a proxy in front of the site" by default."""

    def __init__(self, *, sleep: Sleep = asyncio.sleep, seed: int | None = None) -> None:
        self.sleep = sleep
        self._rules: list[_Rule] = []
        self._random: _RandomFailure | None = None
        self._latency_s = 0.0
        self._jitter_s = 0.0
        self._jitter_rng = random.Random(seed)

    def fail_next(
        self,
        status: int,
        *,
        times: int = 1,
        path: str | None = None,
        html: bool | None = None,
        retry_after: str | None = None,
    ) -> None:
        """The next ``times`` matching requests get ``status`` without reaching the site."""
        _error_status(status)
        as_html = status in HTML_BY_DEFAULT if html is None else html
        fault = Fault("respond", status, as_html, retry_after)
        self._add(fault, "before", times, path)

    def rate_limit_next(
        self, *, times: int = 1, retry_after: str = "1", path: str | None = None
    ) -> None:
        """429 with ``Retry-After`` (delta-seconds or an HTTP-date string)."""
        self.fail_next(429, times=times, path=path, retry_after=retry_after)

    def set_random_failure(
        self,
        fraction: float,
        *,
        statuses: Sequence[int] = (500, 502, 503),
        seed: int | None = None,
    ) -> None:
        """Fail this fraction of requests with a status drawn from ``statuses``; 0 turns it off."""
        if not 0.0 <= fraction <= 1.0:
            raise ValueError("fraction must be between 0 and 1")
        if not statuses:
            raise ValueError("statuses must not be empty")
        chosen = tuple(_error_status(status) for status in statuses)
        self._random = _RandomFailure(fraction, chosen, random.Random(seed)) if fraction else None

    def set_latency(self, seconds: float, *, jitter_s: float = 0.0) -> None:
        """Delay every request by ``seconds`` plus up to ``jitter_s`` more."""
        if seconds < 0 or jitter_s < 0:
            raise ValueError("latency and jitter must not be negative")
        self._latency_s, self._jitter_s = seconds, jitter_s

    def reset_next(
        self, *, times: int = 1, path: str | None = None, after_processing: bool = False
    ) -> None:
        """Drop the connection without an answer; after_processing: the site applied it first."""
        self._add(Fault("reset"), "after" if after_processing else "before", times, path)

    def truncate_next(self, *, times: int = 1, path: str | None = None) -> None:
        """The site applies the request, then its body is cut off mid-JSON."""
        self._add(Fault("truncate"), "after", times, path)

    def invalid_json_next(self, *, times: int = 1, path: str | None = None) -> None:
        """The site applies the request, then a PHP notice spoils the JSON body."""
        self._add(Fault("invalid_json"), "after", times, path)

    def clear(self) -> None:
        """Remove every queued rule, the random failure rate and the latency."""
        self._rules.clear()
        self._random = None
        self._latency_s = self._jitter_s = 0.0

    @property
    def pending(self) -> int:
        """How many queued faults are still to fire."""
        return sum(rule.remaining for rule in self._rules)

    def delay_s(self) -> float:
        """The latency to add to the next request."""
        jitter = self._jitter_rng.uniform(0.0, self._jitter_s) if self._jitter_s else 0.0
        return self._latency_s + jitter

    def before(self, path: str) -> Fault | None:
        """Consume the proxy's decision for a request on ``path`` before the site sees it."""
        fault = self._take("before", path)
        if fault is not None or self._random is None:
            return fault
        chance = self._random
        if chance.rng.random() >= chance.fraction:
            return None
        status = chance.rng.choice(chance.statuses)
        return Fault("respond", status, status in HTML_BY_DEFAULT)

    def after(self, path: str) -> Fault | None:
        """Consume what happens to the site's answer for a request on ``path``."""
        return self._take("after", path)

    def _add(self, fault: Fault, stage: Stage, times: int, path: str | None) -> None:
        self._rules.append(_Rule(fault, stage, _positive_times(times), path or None))

    def _take(self, stage: Stage, path: str) -> Fault | None:
        for rule in self._rules:
            if rule.stage == stage and rule.matches(path):
                rule.remaining -= 1
                if rule.remaining == 0:
                    self._rules.remove(rule)
                return rule.fault
        return None


class ConnectionDropped(web.HTTPInternalServerError):
    """Raised after the transport was aborted: aiohttp then writes nothing and logs nothing.

    An ``HTTPException`` (rather than a plain error) keeps aiohttp's server quiet: writing its
    response fails on the closed transport, which aiohttp treats as a client disconnect.
    """


def drop_connection(request: web.Request) -> ConnectionDropped:
    """Abort the TCP connection under ``request``; the caller raises the returned exception."""
    if request.transport is not None:
        request.transport.abort()
    return ConnectionDropped()


def proxy_response(fault: Fault) -> web.Response:
    """The error page a proxy or WAF sends: HTML for gateway errors, plain text otherwise."""
    try:
        reason = HTTPStatus(fault.status).phrase
    except ValueError:
        reason = "Error"
    headers = {"Retry-After": fault.retry_after} if fault.retry_after else {}
    title = f"{fault.status} {reason}"
    if fault.html:
        page = f"<html><body><h1>{title}</h1><hr><center>nginx</center></body></html>\n"
        return web.Response(
            status=fault.status, text=page, content_type="text/html", headers=headers
        )
    return web.Response(status=fault.status, text=title, headers=headers)


def _body_of(response: web.StreamResponse) -> bytes | None:
    if isinstance(response, web.Response) and isinstance(response.body, bytes | bytearray):
        return bytes(response.body)
    return None


def spoil_response(fault: Fault, response: web.StreamResponse) -> web.StreamResponse:
    """Cut the site's body in half (truncate) or put a PHP notice in front of it (invalid JSON)."""
    body = _body_of(response)
    if body is None:
        return response
    spoilt = body[: len(body) // 2] if fault.kind == "truncate" else PHP_NOTICE + body
    return web.Response(status=response.status, body=spoilt, content_type=response.content_type)


def fault_middleware(injector: FaultInjector, *, exempt_prefix: str) -> Middleware:
    """The proxy in front of the site; paths under ``exempt_prefix`` (control routes) pass by."""

    @web.middleware
    async def faults(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(exempt_prefix):
            return await handler(request)
        delay = injector.delay_s()
        if delay:
            await injector.sleep(delay)
        early = injector.before(request.path)
        if early is not None:
            if early.kind == "reset":
                raise drop_connection(request)
            return proxy_response(early)
        response = await handler(request)
        late = injector.after(request.path)
        if late is None:
            return response
        if late.kind == "reset":
            raise drop_connection(request)
        return spoil_response(late, response)

    return faults
