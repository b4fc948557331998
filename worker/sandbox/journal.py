"""The journal: every request the sandbox received, with what it answered, for tests to inspect.

``journal_middleware`` is the outermost layer of the sandbox, so it also sees requests that a
fault answered or dropped (status 0 when no answer was sent). The token state is evaluated before
anything else runs, so a test can tell "sent with an expired token" from "sent with a fresh one".
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from worker.sandbox.faults import ConnectionDropped

TokenState = Callable[[str | None], str]
Listener = Callable[["JournalEntry", float], None]

_FORM_METHODS = frozenset({"POST", "PUT", "PATCH"})
_FORM_TYPES = frozenset({"application/x-www-form-urlencoded", "multipart/form-data"})


@dataclass(frozen=True, repr=False)
class JournalEntry:
    """One request as received, and the status sent back (0 when the connection was dropped)."""

    method: str
    path: str
    headers: Mapping[str, str]
    form: Mapping[str, str]
    token_state: str
    status: int
    at: float

    def __repr__(self) -> str:
        # Headers and form carry bearer tokens and client secrets: show their names only.
        return (
            f"JournalEntry(method={self.method!r}, path={self.path!r}, status={self.status}, "
            f"token_state={self.token_state!r}, headers={sorted(self.headers)}, "
            f"form={sorted(self.form)}, at={self.at:.3f})"
        )


class Journal:
    """Entries in arrival order; ``listeners`` hear of each one as it is recorded."""

    def __init__(
        self, *, clock: Callable[[], float] = time.monotonic, max_entries: int | None = None
    ) -> None:
        self.entries: list[JournalEntry] = []
        self.clock = clock
        self.max_entries = max_entries
        self._listeners: list[Listener] = []

    def add_listener(self, listener: Listener) -> None:
        """Call ``listener(entry, duration_s)`` for every entry recorded from now on."""
        self._listeners.append(listener)

    def record(self, entry: JournalEntry, duration_s: float = 0.0) -> None:
        self.entries.append(entry)
        # A long-running standalone sandbox keeps only the newest entries.
        if self.max_entries is not None and len(self.entries) > self.max_entries:
            del self.entries[: len(self.entries) - self.max_entries]
        for listener in self._listeners:
            listener(entry, duration_s)

    def clear(self) -> None:
        self.entries.clear()

    def matching(self, *, method: str | None = None, path: str | None = None) -> list[JournalEntry]:
        """Entries with this method (any case) whose path contains ``path``."""
        wanted = method.upper() if method else None
        return [
            entry
            for entry in self.entries
            if (wanted is None or entry.method == wanted) and (path is None or path in entry.path)
        ]


async def _form_of(request: web.Request) -> dict[str, str]:
    """Decoded form fields; aiohttp caches the body, so the handler can read it again."""
    if request.method not in _FORM_METHODS or request.content_type not in _FORM_TYPES:
        return {}
    fields = await request.post()
    return {name: value for name, value in fields.items() if isinstance(value, str)}


def journal_middleware(
    journal: Journal, token_state: TokenState, *, exempt_prefix: str
) -> Middleware:
    """Record every request outside ``exempt_prefix`` (the control routes) in ``journal``."""

    @web.middleware
    async def record(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path.startswith(exempt_prefix):
            return await handler(request)
        received = journal.clock()
        state = token_state(request.headers.get("Authorization"))
        form: dict[str, str] = {}
        status = 500  # what aiohttp sends for an unexpected error in the handler
        try:
            form = await _form_of(request)
            response = await handler(request)
            status = response.status
            return response
        except (ConnectionDropped, asyncio.CancelledError):
            status = 0
            raise
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            entry = JournalEntry(
                request.method, request.path, request.headers, form, state, status, received
            )
            journal.record(entry, journal.clock() - received)

    return record
