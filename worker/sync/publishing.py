"""Publishing as a state machine: review when something changed, publish once complete,
unpublish when the vendor says ``published: false``, publish again when it says ``true``.

The site decides completeness (``status/review``: on the real engine rooms, a tariff, a street,
a town and a main image). A review is asked only when the property's content or rooms changed
since the last one (``review_key``: a digest of the content records and the room map) or on the
first run of a day (the hotel may have completed it on the site); its answer is kept in state
(``content["review"]``). An incomplete property is reported once per change with the site's
warnings (``property.incomplete``) and counted (``incomplete``) every run, so it shows in
``job.finished`` and the metrics.

A review that passed lets the property be published without another one (the real engine needs
none to publish again after an unpublish). State's ``published`` status is trusted while it
lasts; whenever it is not ``published``, the site's own flag is read (one GET), so a lost state
directory neither publishes twice nor leaves a property published against the vendor's wish.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from typing import Any

from worker.inventory.models import Property as VendorProperty
from worker.logging import get_logger
from worker.sync.context import SyncContext
from worker.sync.job import JobResult

log = get_logger(__name__)
REVIEW = "review"


def review_key(content: Mapping[str, Mapping[str, Any]], rooms: Mapping[str, int]) -> str:
    """Digest of what a review depends on: every content record but the review, and the rooms."""
    parts = sorted((part, value.get("digest"), value.get("outcome"))
                   for part, value in content.items() if part != REVIEW)  # fmt: skip
    text = repr((parts, sorted(rooms.items())))
    return hashlib.blake2b(text.encode(), digest_size=10).hexdigest()


def review_due(last: Mapping[str, Any] | None, key: str, today: str) -> bool:
    """Ask the site again? Only after a change, or once a day while incomplete."""
    if last is None or last.get("key") != key:
        return True
    return not last.get("complete") and last.get("day") != today


async def publish_step(ctx: SyncContext, prop: VendorProperty, uid: int, result: JobResult) -> None:
    """Move the property towards the vendor's ``published`` wish (see the module docstring)."""
    record = await ctx.state.get_property(prop.remote_uid)
    if record is None:
        return
    in_state = record.status == "published"
    on_site = in_state or (await ctx.cmf.get_property(uid)).published
    if not prop.published:
        if on_site:
            await ctx.cmf.unpublish_property(uid)
            await ctx.state.record_property_unpublished(prop.remote_uid)
            result.counts["unpublished"] += 1
            log.info("property.unpublished", remote_uid=prop.remote_uid)
        return
    if on_site:
        if not in_state:
            await ctx.state.record_property_published(prop.remote_uid)
        return
    if await _complete(ctx, prop, uid, result) and await ctx.cmf.publish_property(uid):
        await ctx.state.record_property_published(prop.remote_uid)
        result.counts["published"] += 1
        log.info("property.published", remote_uid=prop.remote_uid)
    else:
        result.counts["incomplete"] += 1


async def _complete(ctx: SyncContext, prop: VendorProperty, uid: int, result: JobResult) -> bool:
    """Whether the site calls the property complete: the last review's answer, or a new one."""
    content = await ctx.state.get_content(uid)
    key = review_key(content, await ctx.state.get_rooms(uid))
    today = ctx.today().isoformat()
    last = content.get(REVIEW)
    if not review_due(last, key, today):
        return bool(last and last.get("complete"))
    review = await ctx.cmf.review_property(uid)
    warnings = list(review.warnings)
    await ctx.state.record_content(
        uid, REVIEW, {"key": key, "day": today, "complete": review.property_complete,
                      "warnings": warnings},
    )  # fmt: skip
    reported = last is not None and (last.get("key"), last.get("warnings")) == (key, warnings)
    if not review.property_complete and not reported:
        log.warning("property.incomplete", remote_uid=prop.remote_uid, warnings=warnings)
    return review.property_complete


_REASONS = (
    ("image", "main image"),
    ("address", "address"),
    ("tariff", "tariff"),
    ("room", "rooms"),
)


def short_reason(warning: str) -> str:
    """A review warning in a few words (the site's own are whole sentences: "Research has
    proven that properties with lots of high quality images ..." means a main image is missing)."""
    lowered = warning.lower()
    for word, reason in _REASONS:
        if word in lowered:
            return f"needs {reason}"
    return warning[:40]
