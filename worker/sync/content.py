"""Content sync for one property: send the parts that changed, confirm them by reading back.

``content_plan`` decides what is due; this module does the I/O and keeps the records
(``state.content``: per part ``{"digest", "outcome", ...}``). Outcomes:

- ``stored``: the site holds it (read back after the PUT, or found in line without one);
- ``not_stored``: the site answered but does not hold it (features on a 10.7.2 engine), or a
  second language on a site that keeps one set of texts — reported once (``content.not_stored``);
- ``refused``: the site refused the PUT (an error envelope, an unknown route) — reported once;
- ``failed`` (images): the site does not hold it after the upload — the URL was unreachable, or
  a fault swallowed the request. Tried again on the next runs, up to ``IMAGE_TRIES_PER_DAY``
  times a day, then the next day (a dead URL is not downloaded every cycle).

A part is sent again only when the vendor changes it. The image upload's answer is ignored on
purpose: the real engine answers 500 after storing an image and an empty 200 when it could not
fetch the URL, so the image list decides.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from worker.api.models import StoredImage
from worker.errors import (
    ClientRequestError,
    MalformedResponse,
    RateLimited,
    ServerError,
    TransportError,
)
from worker.inventory.models import Property as VendorProperty
from worker.logging import get_logger
from worker.sync.content_plan import (
    ImageSpec,
    desired_images,
    desired_parts,
    digest,
    extra_languages,
    image_parts,
    in_line,
)
from worker.sync.context import SyncContext
from worker.sync.job import JobResult

log = get_logger(__name__)
UNCLEAR = (ServerError, MalformedResponse, TransportError)  # the upload may have happened
IMAGE_TRIES_PER_DAY = 3


async def sync_content(ctx: SyncContext, prop: VendorProperty, uid: int, result: JobResult) -> int:
    """Bring the property's content in line with the vendor's; returns the number of writes."""
    records = await ctx.state.get_content(uid)
    writes = await _sync_parts(ctx, prop, uid, records, result)
    await _report_languages(ctx, prop, uid, records)
    if prop.content.images is not None:
        writes += await _sync_images(ctx, prop, uid, records, result)
    return writes


# -- parts ----------------------------------------------------------------------------------


async def _sync_parts(
    ctx: SyncContext,
    prop: VendorProperty,
    uid: int,
    records: Mapping[str, Mapping[str, Any]],
    result: JobResult,
) -> int:
    parts = desired_parts(prop.content, country=prop.country, region_id=prop.region_id)
    due = {p: f for p, f in parts.items() if records.get(p, {}).get("digest") != digest(f)}
    if not due:
        return 0
    site = await ctx.cmf.property_content(uid)
    sent: dict[str, dict[str, str]] = {}
    for part, fields in due.items():
        if in_line(part, fields, site):
            await _record(ctx, uid, part, fields, "stored")
            continue
        sendable = await _sendable(ctx, part, fields)
        try:
            await _send(ctx, uid, part, sendable)
        except ClientRequestError as exc:
            await _record(ctx, uid, part, fields, "refused", reason=exc.message)
            log.warning("content.refused", part=part, message=exc.message)
            result.counts["content_refused"] += 1
            continue
        sent[part] = sendable
        result.counts["content_sent"] += 1
    if sent:
        await _confirm(ctx, uid, parts, sent, result)
    return len(sent)


async def _sendable(ctx: SyncContext, part: str, fields: dict[str, str]) -> dict[str, str]:
    """The fields to send: features the site does not know are dropped (and reported)."""
    if part != "features" or not fields["features"]:
        return fields
    known = {f.property_feature_id for f in await ctx.cmf.property_features()}
    wanted = [int(f) for f in fields["features"].split(",")]
    if unknown := [f for f in wanted if f not in known]:
        log.warning("content.features_unknown", features=unknown)
    return {"features": ",".join(str(f) for f in wanted if f in known)}


async def _send(ctx: SyncContext, uid: int, part: str, fields: Mapping[str, str]) -> None:
    cmf = ctx.cmf
    if part == "address":
        await cmf.set_address(uid, street=fields["street"], town=fields["town"],
                              postcode=fields["postcode"])  # fmt: skip
    elif part == "location":
        await cmf.set_location(
            uid, country_code=fields["country_code"], region_id=int(fields["region_id"]),
            lat=float(fields["lat"]), long=float(fields["long"]),
        )  # fmt: skip
    elif part == "contacts":
        await cmf.set_contacts(uid, telephone=fields["telephone"], fax=fields["fax"],
                               email=fields["email"])  # fmt: skip
    elif part == "stars":
        await cmf.set_stars(uid, stars=int(fields["stars"]), superior=fields["superior"] == "1")
    elif part == "features":
        await cmf.set_features(uid, [int(f) for f in fields["features"].split(",") if f])
    else:
        texts = {name: value for name, value in fields.items() if name != "language"}
        await cmf.set_texts(uid, fields["language"], texts)


async def _confirm(
    ctx: SyncContext,
    uid: int,
    parts: Mapping[str, dict[str, str]],
    sent: Mapping[str, dict[str, str]],
    result: JobResult,
) -> None:
    """Read the property back: each part sent is ``stored`` or, reported once, ``not_stored``."""
    site = await ctx.cmf.property_content(uid)
    for part, fields in sent.items():
        if in_line(part, fields, site):
            await _record(ctx, uid, part, parts[part], "stored")
            log.info("content.sent", part=part)
            continue
        await _record(ctx, uid, part, parts[part], "not_stored", reason="not read back")
        result.counts["content_not_stored"] += 1
        log.warning("content.not_stored", part=part, reason="the site answered but holds it not")


async def _report_languages(
    ctx: SyncContext, prop: VendorProperty, uid: int, records: Mapping[str, Mapping[str, Any]]
) -> None:
    """Texts beyond the first language: reported once per change, never sent."""
    for language in extra_languages(prop.content):
        texts = (prop.content.texts or {})[language].model_dump()
        part = f"texts:{language}"
        if records.get(part, {}).get("digest") == digest(texts):
            continue
        await _record(ctx, uid, part, texts, "not_stored", reason="one set of texts per site")
        log.warning("content.not_stored", part=part, reason="the site keeps one set of texts")


async def _record(
    ctx: SyncContext,
    uid: int,
    part: str,
    fields: Mapping[str, str],
    outcome: str,
    **extra: Any,
) -> None:
    value = {"digest": digest(fields), "outcome": outcome, **extra}
    await ctx.state.record_content(uid, part, value)


# -- images ---------------------------------------------------------------------------------


def _settled(record: Mapping[str, Any] | None, spec: ImageSpec, today: str) -> bool:
    """Nothing to do: sent and stored (or refused), or failed as often as a day allows."""
    if record is None or record.get("digest") != spec.digest:
        return False
    if record.get("outcome") != "failed":
        return True
    return record.get("day") == today and _tries(record, today) >= IMAGE_TRIES_PER_DAY


def _tries(record: Mapping[str, Any] | None, today: str) -> int:
    """Failed uploads of the image today."""
    if record is None or record.get("day") != today or record.get("outcome") != "failed":
        return 0
    return int(record.get("tries", 1))


async def _sync_images(
    ctx: SyncContext,
    prop: VendorProperty,
    uid: int,
    records: Mapping[str, Mapping[str, Any]],
    result: JobResult,
) -> int:
    placed, waiting = desired_images(prop.content.images or (), await ctx.state.get_rooms(uid))
    today = ctx.today().isoformat()
    recorded = image_parts(records)
    wanted = {spec.part for spec in placed} | {f"image:{image.file_name}" for image in waiting}
    upload = [spec for spec in placed if not _settled(recorded.get(spec.part), spec, today)]
    tries = {spec.part: _tries(recorded.get(spec.part), today) for spec in upload}
    remove = {part: value for part, value in recorded.items() if part not in wanted}
    if not (upload or remove):
        return 0
    site = set(await ctx.cmf.images(uid))
    for part, value in remove.items():
        await _remove(ctx, uid, part, value, site, result)
    sent = [spec for spec in upload if spec.stored() not in site]
    for spec in upload:
        if spec.stored() in site:  # a lost state directory, or an upload whose answer was lost
            await ctx.state.record_content(uid, spec.part, _image_value(spec, "stored", today))
    if sent:
        await _upload(ctx, uid, sent, today, tries, result)
    return len(remove) + len(sent)


async def _send_upload(ctx: SyncContext, uid: int, spec: ImageSpec) -> bool:
    """Send one upload, its answer ignored; False when the site provably never saw it."""
    try:
        await ctx.cmf.upload_image(uid, spec.url, resource_type=spec.resource_type,
                                   resource_id=spec.resource_id)  # fmt: skip
    except UNCLEAR as exc:
        log.info("content.image_answer_ignored", file_name=spec.file_name, error=str(exc))
        return not _not_seen(exc)  # a proxy's 503/429 or a refused connection: nothing seen
    except ClientRequestError as exc:
        log.warning("content.image_refused", file_name=spec.file_name, message=exc.message)
    return True


def _not_seen(exc: BaseException) -> bool:
    """An upload answered by something in front of the site (or never sent): only the engine's
    own answers (its 500 after storing, an empty 200) say that it tried the URL."""
    if isinstance(exc, TransportError):
        return not exc.sent
    return isinstance(exc, RateLimited | ServerError) and getattr(exc, "status", None) in (
        429,
        502,
        503,
        504,
    )


def _image_value(spec: ImageSpec, outcome: str, today: str) -> dict[str, Any]:
    return {"digest": spec.digest, "outcome": outcome, "day": today,
            "resource_type": spec.resource_type, "resource_id": spec.resource_id}  # fmt: skip


async def _remove(
    ctx: SyncContext,
    uid: int,
    part: str,
    value: Mapping[str, Any],
    site: set[StoredImage],
    result: JobResult,
) -> None:
    image = StoredImage(
        resource_type=str(value.get("resource_type", "")),
        resource_id=int(value.get("resource_id", 0)),
        file_name=part.removeprefix("image:"),
    )
    if image in site:
        await ctx.cmf.delete_image(uid, image)
        result.counts["images_deleted"] += 1
        log.info("content.image_deleted", file_name=image.file_name)
    await ctx.state.forget_content(uid, part)


async def _upload(
    ctx: SyncContext,
    uid: int,
    specs: list[ImageSpec],
    today: str,
    tries: Mapping[str, int],
    result: JobResult,
) -> None:
    """Upload, then let the image list say which ones the site really holds."""
    types = {t.internal_type for t in await ctx.cmf.image_types()}
    unseen: set[str] = set()
    for spec in specs:
        if spec.resource_type not in types:
            await ctx.state.record_content(uid, spec.part, _image_value(spec, "refused", today))
            log.warning("content.image_type_unknown", resource_type=spec.resource_type)
            continue
        if not await _send_upload(ctx, uid, spec):
            unseen.add(spec.part)
    stored = set(await ctx.cmf.images(uid))
    for spec in specs:
        if spec.resource_type not in types:
            continue
        held = spec.stored() in stored
        value = _image_value(spec, "stored" if held else "failed", today)
        if not held:  # an upload the site never saw is not a try of the URL
            value["tries"] = tries.get(spec.part, 0) + (spec.part not in unseen)
        await ctx.state.record_content(uid, spec.part, value)
        result.counts["images_sent" if held else "images_failed"] += 1
        if held:
            log.info("content.image_sent", file_name=spec.file_name)
        elif value["tries"] == IMAGE_TRIES_PER_DAY:  # said once a day, when it stops trying
            log.warning("content.image_failed", url=spec.url, tries=value["tries"],
                        reason="not in the site's images; tried again tomorrow")  # fmt: skip
