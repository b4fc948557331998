"""What a route module declares: an ``Endpoint`` (method, path, checks it needs, handler) and the
``Call`` its handler receives once the checks passed.

Handlers are plain synchronous functions of a ``Call``: the form is read before they run, so a whole
request's writes land in one store batch without an ``await`` in between; the one thing that must
be awaited (downloading an image) is an endpoint's ``preload``, run after the checks and before the
batch. A handler returns the ``data.response`` payload (the envelope and legacy shaping are applied
around it), a ``Keyed`` payload, or a ready ``web.Response`` (the token endpoint, the image upload).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from worker.sandbox.forms import invalid
from worker.sandbox.store import ChannelRef, Grant, SandboxStore
from worker.sandbox.store_inventory import Property

SCOPE_BY_METHOD = {"GET": "read", "POST": "write", "PUT": "write", "DELETE": "delete"}


@dataclass(frozen=True)
class Call:
    """One request that passed the token, scope, channel and ownership checks."""

    store: SandboxStore
    request: web.Request
    form: Mapping[str, str]
    grant: Grant | None = None
    channel: ChannelRef | None = None
    prop: Property | None = None
    preloaded: Any = None

    @property
    def legacy(self) -> bool:
        return self.store.legacy

    @property
    def engine(self) -> bool:
        """Whether to answer as the real engine (the default mode)."""
        return not self.store.legacy

    @property
    def live_site(self) -> str:
        """The site's address as the real engine reports it (``meta.site.live_site``)."""
        return f"{self.request.scheme}://{self.request.host}"

    def param(self, name: str) -> str:
        """A path segment (already URL-decoded)."""
        return self.request.match_info[name]

    @property
    def owned(self) -> Property:
        """The property the request is about (checked before the handler ran)."""
        if self.prop is None:
            raise invalid("property_uid not set")
        return self.prop

    @property
    def channel_ref(self) -> ChannelRef:
        if self.channel is None:
            raise invalid("Channel not set")
        return self.channel

    @property
    def owner_id(self) -> int:
        if self.grant is None:
            raise invalid("no token")
        return self.grant.owner_id


Handler = Callable[[Call], Any]
Preload = Callable[[Call], Awaitable[Any]]


@dataclass(frozen=True)
class Endpoint:
    """One route and the checks it needs before its handler runs.

    ``property_from`` says where the property uid comes from (``"path"`` segment ``property_uid``
    or the ``"form"`` field); ``legacy_failure`` is ``(data key, field)`` under which old servers
    report this write endpoint's errors inside a 200 success envelope; ``preload`` fetches what
    the handler needs from the network (its result is ``call.preloaded``).
    """

    method: str
    path: str
    handler: Handler
    auth: bool = True
    channel: bool = True
    property_from: str | None = None
    legacy_failure: tuple[str, str] | None = None
    preload: Preload | None = None
