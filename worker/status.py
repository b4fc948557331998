"""``bookyflow-worker status``: where every property stands, read from the state directory alone.

It sends no request to the site and takes no lock, so it works beside the running daemon (SQLite
in WAL mode lets a reader in while the daemon writes). Per property — the vendor's ``remote_uid``
beside the site's uid — it reports published or why not (the site's last review warnings), the
last success and last error of each job, what is pending (intents a crash may have left, images
to try again) and what is held with its reason (rejected reservations, a cancellation that cannot
be sent safely, content the site cannot store, bookings parked as unreadable). Per site: the
token's expiry and each job's last success, from the heartbeat the daemon writes, and the bookings
not yet delivered.

``collect`` builds the report as plain JSON values; ``render`` is the console table.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from worker.demo import render_table
from worker.health import HEARTBEAT_FILE, read_heartbeat
from worker.settings import Settings
from worker.state import DB_NAME, ReservationRecord, StateStore
from worker.sync.publishing import short_reason

__all__ = ["collect", "render"]

JOBS = ("properties", "ari", "reservations", "bookings")
_HELD_CONTENT = ("not_stored", "refused")


async def collect(settings: Settings, *, label: str | None = None) -> dict[str, Any]:
    """The status of one site (see the module docstring)."""
    state_dir = Path(settings.state_dir)
    heartbeat = read_heartbeat(state_dir / HEARTBEAT_FILE) or {}
    site: dict[str, Any] = {
        "site": label or settings.base_url,
        "api_url": settings.base_url,
        "channel": settings.channel_name,
        "state_dir": str(state_dir),
        "daemon": _daemon(heartbeat),
        "properties": [],
    }
    if not (state_dir / DB_NAME).exists():
        site["note"] = "no state yet: the worker has not run against this site"
        return site
    state = await StateStore.open(state_dir)
    try:
        site["properties"] = [await _property(state, r) for r in await state.list_properties()]
        site["bookings"] = await _bookings(state)
    finally:
        await state.close()
    return site


def _daemon(heartbeat: Mapping[str, Any]) -> dict[str, Any]:
    """What the daemon last wrote: when, token expiry, each job's last success."""
    if not heartbeat:
        return {"heartbeat_at": None}
    jobs = heartbeat.get("jobs") or {}
    return {
        "heartbeat_at": _iso(heartbeat.get("written_at")),
        "ready": heartbeat.get("ready"),
        "breaker": heartbeat.get("breaker"),
        "token_expires_at": _iso(heartbeat.get("token_expires_at")),
        "jobs": {
            name: {"last_ok": _iso(job.get("last_ok")), "failures": job.get("failures")}
            for name, job in jobs.items()
        },
    }


def _iso(epoch: object) -> str | None:
    if not isinstance(epoch, int | float):
        return None
    return datetime.fromtimestamp(epoch, UTC).isoformat(timespec="seconds")


async def _property(state: StateStore, record: Any) -> dict[str, Any]:
    uid = record.property_uid
    entry: dict[str, Any] = {"remote_uid": record.remote_uid, "property_uid": uid}
    if uid is None:
        return {
            **entry,
            "published": "no: being created",
            "pending": ["create (intent)"],
            "held": [],
            "jobs": {},
        }
    content = await state.get_content(uid)
    reservations = await state.reservations_of(uid)
    outcomes = await state.job_outcomes(uid)
    closures = await state.get_closures(uid)
    pending = [
        f"reservation {r.remote_id}: {r.status}"
        for r in reservations
        if r.status in ("intent", "cancel_intent")
    ]
    pending += [
        f"closure {c}: create (intent)" for c, r in closures.items() if r.contract_id is None
    ]
    pending += [
        f"image {part.removeprefix('image:')}: try again"
        for part, v in content.items()
        if v.get("outcome") == "failed"
    ]
    return {
        **entry,
        "published": _published(record.status, content.get("review")),
        "jobs": {
            job: {"last_ok": o.ok_at, "last_error": o.error, "last_error_at": o.error_at}
            for job, o in sorted(outcomes.items())
        },
        "pending": pending,
        "held": _held(reservations, content),
        "nights_pushed": len(await state.get_pushed(uid)),
        "closures": sum(1 for r in closures.values() if r.contract_id is not None),
    }


def _published(status: str, review: Mapping[str, Any] | None) -> str:
    if status == "published":
        return "yes"
    warnings = (review or {}).get("warnings") or []
    if warnings:
        return "no: " + ", ".join(short_reason(str(w)) for w in warnings)
    return "no: not reviewed yet" if review is None else "no"


def _held(
    reservations: Sequence[ReservationRecord], content: Mapping[str, Mapping[str, Any]]
) -> list[str]:
    held = [
        f"reservation {r.remote_id}: {r.message}"
        for r in reservations
        if r.status == "failed" or (r.message or "").startswith("cancel held")
    ]
    held += [
        f"content {part}: {value.get('outcome')} ({value.get('reason', '')})".rstrip(" ()")
        for part, value in sorted(content.items())
        if value.get("outcome") in _HELD_CONTENT
    ]
    return held


async def _bookings(state: StateStore) -> dict[str, Any]:
    """Bookings the vendor has not received: parked ones, and the webhook outbox's entries."""
    outbox = await state.outbox_counts()
    oldest = outbox.oldest_pending.isoformat(timespec="seconds") if outbox.oldest_pending else None
    return {
        "parked": await state.parked_booking_count(),
        "webhook_pending": outbox.pending,
        "webhook_dead_lettered": outbox.dead_lettered,
        "webhook_oldest_pending": oldest,
    }


def render(sites: Sequence[Mapping[str, Any]]) -> str:
    """The console table: one block per site, one row per property."""
    blocks = []
    for site in sites:
        daemon = site["daemon"]
        head = [
            f"site {site['site']}  channel {site['channel']}",
            f"  heartbeat {daemon.get('heartbeat_at') or 'none (daemon not running?)'}"
            f"  token expires {daemon.get('token_expires_at') or '?'}"
            f"  bookings {_bookings_line(site.get('bookings') or {})}",
        ]
        rows = [_row(prop) for prop in site["properties"]]
        header = [
            "remote uid -> uid",
            "published",
            *(f"{job} ok" for job in JOBS),
            "pending",
            "held / last error",
        ]
        blocks.append("\n".join([*head, render_table(header, rows)]) if rows else "\n".join(head))
    return "\n\n".join(blocks)


def _bookings_line(bookings: Mapping[str, Any]) -> str:
    shown = {k: v for k, v in bookings.items() if v not in (None, 0) or k == "parked"}
    return ", ".join(f"{key} {value}" for key, value in sorted(shown.items())) or "-"


def _row(prop: Mapping[str, Any]) -> list[str]:
    jobs = prop.get("jobs") or {}
    errors = [
        f"{job}: {o['last_error']}"
        for job, o in jobs.items()
        if o.get("last_error") and (o.get("last_ok") or "") < (o.get("last_error_at") or "")
    ]
    return [
        f"{prop['remote_uid']} -> {prop['property_uid'] or '-'}",
        _short(prop["published"], 48),
        *(_when((jobs.get(job) or {}).get("last_ok")) for job in JOBS),
        str(len(prop.get("pending") or [])),
        _short("; ".join([*(prop.get("held") or []), *errors]) or "-", 60),
    ]


def _when(iso: str | None) -> str:
    """``2026-12-01T11:09:16.123+00:00`` → ``12-01 11:09:16`` (UTC), ``-`` when never."""
    if not iso:
        return "-"
    try:
        return datetime.fromisoformat(iso).astimezone(UTC).strftime("%m-%d %H:%M:%S")
    except ValueError:
        return iso[:19]


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"
