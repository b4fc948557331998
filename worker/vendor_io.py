"""The vendor's ends of a site, as settings choose them: where inventory comes from, where
bookings go, and which of the site's properties this shard owns.

- ``make_source``: a plugin by dotted path, the vendor's URL (``HttpInventorySource``) or the JSON
  file, restricted to this shard's properties when sharded;
- ``make_sink``: JSON lines (the default), the webhook outbox, or a plugin;
- ``make_owned``: the owned set the CMF ownership guard reads, this shard's only when sharded.

Scopes are ``worker.scopes``; the site's calendar day is ``worker.site_day``.
"""

from __future__ import annotations

from worker.clock import Clock
from worker.errors import ConfigError
from worker.inventory import (
    BookingSink,
    InventorySource,
    JsonFileInventorySource,
    JsonLinesBookingSink,
    load_plugin,
)
from worker.inventory.http_source import HttpInventorySource
from worker.inventory.webhook import WebhookSink
from worker.metrics import WorkerMetrics
from worker.ownership import OwnedProperties
from worker.settings import Settings
from worker.sharding import ShardedInventorySource, ShardedOwnedProperties, ShardFilter
from worker.state import StateStore

__all__ = ["make_owned", "make_sink", "make_source"]


def make_source(settings: Settings, *, clock: Clock | None = None) -> InventorySource:
    """The vendor's source, restricted to this shard's properties when sharded; a URL source
    paces its retries on ``clock``."""
    source = _vendor_source(settings, clock)
    shard = ShardFilter.from_settings(settings)
    return source if shard.everything else ShardedInventorySource(source, shard)


def make_owned(settings: Settings) -> OwnedProperties:
    """The channel's properties on the site; only this shard's when sharded (jobs, bookings
    pull and the CMF ownership guard then leave the other shards' properties alone)."""
    shard = ShardFilter.from_settings(settings)
    return OwnedProperties() if shard.everything else ShardedOwnedProperties(shard)


def _vendor_source(settings: Settings, clock: Clock | None) -> InventorySource:
    """A plugin (constructed without arguments), the vendor's URL, or the JSON file."""
    if settings.source:
        source_cls = load_plugin(settings.source, InventorySource)
        source: InventorySource = source_cls()
        return source
    if settings.inventory_url is not None:
        return HttpInventorySource.from_settings(settings, clock=clock)
    path = settings.inventory
    if path is None:
        raise ConfigError("invalid configuration: BOOKYFLOW_INVENTORY is required")
    if not path.is_file():
        raise ConfigError(f"invalid configuration: inventory file {path} does not exist")
    return JsonFileInventorySource(path, max_bytes=settings.inventory_max_bytes)


async def make_sink(
    settings: Settings,
    *,
    state: StateStore | None = None,
    clock: Clock | None = None,
    metrics: WorkerMetrics | None = None,
) -> BookingSink:
    """Where site bookings go: JSON lines (``file``, the default), the webhook outbox in
    ``state`` (``webhook``: its loop reports to ``metrics``), or a plugin (constructed without
    arguments). The built-in sinks stamp and pace on ``clock``."""
    if settings.sink == "webhook":
        if state is None:
            raise ConfigError("invalid configuration: the webhook sink needs the state store")
        webhook = await WebhookSink.open(settings.webhook, state, clock=clock)
        if metrics is not None:
            metrics.webhooks = webhook.stats.as_dict
        return webhook
    if settings.sink and settings.sink != "file":
        sink_cls = load_plugin(settings.sink, BookingSink, setting="BOOKYFLOW_SINK")
        sink: BookingSink = sink_cls()
        return sink
    return await JsonLinesBookingSink.open(settings.bookings_path, clock=clock)
