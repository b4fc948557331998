"""What must hold after chaos: pure checks over the sandbox store, its journal and the outputs.

Each check returns a ``Verdict`` (name, ok, detail) so the soak runner can print one line per
invariant and the crash-matrix tests can assert on the same functions. The expected server state
is computed here from the inventory document independently of the worker's own planners, so a
planner bug cannot hide itself.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from worker.inventory.sink import FLAGS, RECORD_FIELDS, REPLACED_CHARACTERS
from worker.sandbox.journal import JournalEntry
from worker.sandbox.store import SandboxStore
from worker.sync.reservation_plan import is_site_reservation_id, site_reservation_id

CANCELLED = 6
HORIZON_DAYS = 365
# Entries that carry no bearer token by design.
TOKENLESS = ("/oauth/token", "/core/")
# A request may still be on its way when the site refuses its token to another one.
KNOWN_BAD_GRACE_S = 1.0


@dataclass(frozen=True)
class Verdict:
    """One invariant's outcome, printed as ``invariant=<name> result=PASS|FAIL detail=...``."""

    name: str
    ok: bool
    detail: str = ""

    def line(self) -> str:
        return f"invariant={self.name} result={'PASS' if self.ok else 'FAIL'} detail={self.detail}"


def _problems(name: str, problems: Sequence[str], good: str) -> Verdict:
    return Verdict(name, not problems, "; ".join(problems[:5]) if problems else good)


def _expected_nights(prop: Mapping[str, Any], today: date) -> dict[str, tuple[Decimal, int]]:
    """Price and minimum stay of every night in the horizon, later ranges winning."""
    nights = {
        (today + timedelta(days=n)).isoformat(): (Decimal(prop["base_price"]), 1)
        for n in range(HORIZON_DAYS)
    }
    for rate in prop.get("rates", []):
        for night in _nights(rate, nights):
            nights[night] = (Decimal(rate["price"]), nights[night][1])
    for stay in prop.get("minstays", []):
        for night in _nights(stay, nights):
            nights[night] = (nights[night][0], int(stay["minstay"]))
    return nights


def _nights(span: Mapping[str, Any], known: Mapping[str, Any]) -> Iterable[str]:
    day, last = date.fromisoformat(span["date_from"]), date.fromisoformat(span["date_to"])
    while day <= last:
        if day.isoformat() in known:
            yield day.isoformat()
        day += timedelta(days=1)


def _room_key(room: Mapping[str, Any]) -> tuple[str, str, int]:
    """Name, number and type: the real engine stores its own ``max_people`` whatever is sent."""
    name = room.get("room_name", room.get("name"))
    number = room.get("room_number", room.get("number"))
    return str(name), str(number), int(room["room_type_id"])


def can_go_live(wanted: Mapping[str, Any], *, legacy: bool = False) -> bool:
    """Whether the inventory wants the property live and gives what the site needs for it: a
    street, a town and a main image on the real engine; rooms and a base price (which every
    inventory property has) on the spec's older servers."""
    if legacy:
        return bool(wanted.get("published", True))
    content = wanted.get("content") or {}
    address = content.get("address") or {}
    main = any(image.get("kind") == "main" for image in content.get("images") or [])
    return bool(wanted.get("published", True) and address.get("street") and address.get("town")
                and main)  # fmt: skip


def property_problems(
    store: SandboxStore, server: Mapping[str, Any], wanted: Mapping[str, Any], today: date
) -> list[str]:
    """How one server property differs from its inventory entry (empty when equal)."""
    uid, remote = int(server["property_uid"]), wanted["remote_uid"]
    problems = []
    published = server["published"] in (True, 1, "1")
    live = can_go_live(wanted, legacy=store.legacy)
    if server["property_name"] != wanted["name"] or published != live:
        problems.append(f"{remote}: name or publication differs")
    if sorted(map(_room_key, server["rooms"])) != sorted(map(_room_key, wanted["rooms"])):
        problems.append(f"{remote}: rooms differ")
    end = (today + timedelta(days=HORIZON_DAYS - 1)).isoformat()
    calendar = store.calendar(uid, today.isoformat(), end)
    for night, (price, minstay) in _expected_nights(wanted, today).items():
        cell = calendar[night]
        if Decimal(str(cell["price"])) != price or int(cell["minstay"]) != minstay:
            problems.append(f"{remote}: {night} is {cell['price']}/{cell['minstay']}")
            break
    closures = Counter(
        (c["date_from"], c["date_to"]) for c in wanted["closures"] if c["date_to"] >= str(today)
    )
    blacks = Counter((b["date_from"], b["date_to"]) for b in store.blackbookings(uid).values())
    if closures != blacks:
        problems.append(f"{remote}: closures {sorted(blacks)} != {sorted(closures)}")
    return problems + reservation_problems(store.bookings(uid), wanted)


def reservation_problems(
    bookings: Sequence[Mapping[str, Any]], wanted: Mapping[str, Any]
) -> list[str]:
    """Confirmed reservations pushed once and live; cancelled ones cancelled if ever pushed."""
    pushed = {remote_id_of(b): b for b in bookings if remote_id_of(b)}
    problems = []
    for reservation in wanted["reservations"]:
        found = pushed.get(site_reservation_id(reservation["id"])) or pushed.get(reservation["id"])
        cancelled = found is not None and found["status"]["status_code"] == CANCELLED
        if reservation["status"] == "confirmed" and (found is None or cancelled):
            problems.append(f"{reservation['id']}: confirmed but not live on the site")
        if reservation["status"] == "cancelled" and found is not None and not cancelled:
            problems.append(f"{reservation['id']}: cancelled but still live on the site")
    return problems


def remote_id_of(booking: Mapping[str, Any]) -> str | None:
    """The channel's remote id of a pushed booking: its mapping (the spec's flat one or the real
    engine's ``linked_bookings``), else a booking number shaped like the worker's site ids (a
    cancelled push loses its mapping on the real engine)."""
    mapping = booking.get("mapping") or {}
    links = mapping.get("linked_bookings", mapping) if isinstance(mapping, Mapping) else {}
    remote = links.get("remote_booking_id") if isinstance(links, Mapping) else None
    number = str(booking.get("booking_number") or "")
    if not remote and is_site_reservation_id(number):
        remote = number
    return str(remote) if remote else None


def server_matches_inventory(
    store: SandboxStore, client: str, channel: str, inventory: Mapping[str, Any], today: date
) -> Verdict:
    """Every inventory property is on the site exactly as the inventory says, and no other."""
    server = {str(p["remote_uid"]): p for p in store.properties_of(client, channel)}
    wanted = {str(p["remote_uid"]): p for p in inventory["properties"]}
    problems = [f"missing {uid}" for uid in sorted(wanted.keys() - server.keys())]
    problems += [f"unexpected {uid}" for uid in sorted(server.keys() - wanted.keys())]
    for uid in sorted(wanted.keys() & server.keys()):
        problems += property_problems(store, server[uid], wanted[uid], today)
    return _problems("server_equals_inventory", problems, f"{len(wanted)} properties equal")


def no_duplicates(store: SandboxStore, client: str, channel: str) -> Verdict:
    """No property, room or pushed booking exists twice."""
    props = store.properties_of(client, channel)
    problems = [f"property {uid} x{n}" for uid, n in _dupes(p["remote_uid"] for p in props)]
    pushed: list[str] = []
    for prop in props:
        rooms = (f"{r['room_name']}#{r['room_number']}" for r in prop["rooms"])
        problems += [f"room {key} x{n}" for key, n in _dupes(rooms)]
        bookings = store.bookings(int(prop["property_uid"]))
        pushed += [rid for rid in map(remote_id_of, bookings) if rid]
    problems += [f"booking {rid} x{n}" for rid, n in _dupes(pushed)]
    detail = f"{len(props)} properties, {len(pushed)} pushed bookings, all unique"
    return _problems("no_duplicates", problems, detail)


def _dupes(values: Iterable[object]) -> list[tuple[str, int]]:
    return [(str(key), n) for key, n in Counter(values).items() if n > 1]


@dataclass(frozen=True)
class TokenFigures:
    """Requests that reached the site with a bad token, and how many were replayed validly."""

    bad: int
    replayed: int
    violations: list[str]


def token_figures(
    entries: Sequence[JournalEntry], refused_at: Mapping[str, float] | None = None
) -> TokenFigures:
    """Every expired/revoked request the site refused (401) is replayed at once, same
    X-Request-ID, with a valid token; no token is sent ``KNOWN_BAD_GRACE_S`` after a 401 to it.

    ``refused_at`` maps a token to when the site finished its first 401 answer for it (the
    journal's clock). Requests already in flight when that answer left are fine; a later one
    means the worker kept using a token it knew was dead.
    """
    bad, replayed, violations = 0, 0, []
    refused = refused_at or {}
    for index, entry in enumerate(entries):
        if entry.token_state not in ("expired", "revoked") or _tokenless(entry):
            continue
        bad += 1
        request_id = entry.headers.get("X-Request-ID", "")
        following = next((e for e in entries[index + 1 :] if _same_call(e, request_id)), None)
        if following is not None and following.token_state == "valid":
            replayed += 1
        elif entry.status == 401:  # else a proxy answered first: the worker cannot have known
            violations.append(f"{entry.method} {entry.path} ({entry.token_state}) not replayed")
        known_since = refused.get(_bearer(entry), float("inf"))
        if entry.at > known_since + KNOWN_BAD_GRACE_S:
            violations.append(f"{entry.method} {entry.path} sent {entry.at - known_since:.1f} s "
                              "after its token was refused")  # fmt: skip
    return TokenFigures(bad, replayed, violations)


def _bearer(entry: JournalEntry) -> str:
    return entry.headers.get("Authorization", "").removeprefix("Bearer ")


def _same_call(entry: JournalEntry, request_id: str) -> bool:
    return bool(request_id) and entry.headers.get("X-Request-ID") == request_id


def _tokenless(entry: JournalEntry) -> bool:
    return any(part in entry.path for part in TOKENLESS)


def token_discipline(
    entries: Sequence[JournalEntry], refused_at: Mapping[str, float] | None = None
) -> Verdict:
    figures = token_figures(entries, refused_at)
    detail = f"bad_token_requests={figures.bad} replayed_once_validly={figures.replayed}"
    if figures.violations:
        detail += " " + "; ".join(figures.violations[:5])
    return Verdict("token_discipline", not figures.violations, detail)


def sink_lines(path: Path, *rotated: Path) -> list[dict[str, Any]]:
    """The bookings file, after the files a logrotate moved away from it, parsed (a missing
    file has no lines). Read as bytes and decoded strictly: every line must be UTF-8."""
    lines: list[dict[str, Any]] = []
    for each in (*rotated, path):
        if each.exists():
            lines += [json.loads(line) for line in each.read_bytes().decode().splitlines()]
    return lines


def _complete(line: Mapping[str, Any]) -> bool:
    """Every field of the format, and ``flags`` only when there is something to flag."""
    return set(line) - {FLAGS} == set(RECORD_FIELDS) and line.get(FLAGS, True) != []


def site_bookings_once(
    store: SandboxStore,
    client: str,
    channel: str,
    sink: Path,
    *,
    rotated: Sequence[Path] = (),
    parked: Collection[int] = (),
) -> Verdict:
    """Every site booking's latest revision is in the sink; no revision twice; lines complete.

    ``rotated`` are bookings files moved away by a logrotate (their lines count as delivered);
    ``parked`` are bookings made unreadable on purpose, which must *not* be delivered.
    """
    lines = sink_lines(sink, *rotated)
    problems = [f"line {i} incomplete" for i, line in enumerate(lines) if not _complete(line)]
    problems += [f"revision {rev} x{n}" for rev, n in _dupes(line["revision"] for line in lines)]
    have = {line["revision"] for line in lines}
    expected = 0
    for prop in store.properties_of(client, channel):
        for booking in store.bookings(int(prop["property_uid"])):
            if remote_id_of(booking) or str(booking.get("booking_created", "")).startswith("1970"):
                continue  # the channel's own push, or a closure (the real engine lists both)
            revision = f"{booking['booking_id']}:{booking['last_modified']}"
            if int(booking["booking_id"]) in parked:
                if revision in have:
                    problems.append(f"unreadable revision {revision} delivered")
                continue
            expected += 1
            if revision not in have:
                problems.append(f"revision {revision} never delivered")
    pushed_lines = [line for line in lines if remote_id_of(line["booking"])]
    problems += [
        f"channel's own booking {remote_id_of(b['booking'])} written" for b in pushed_lines
    ]
    detail = f"{expected} site bookings, {len(lines)} lines, each revision once"
    if parked:
        detail += f", {len(parked)} parked"
    return _problems("site_bookings_exactly_once", problems, detail)


def poison_set_aside(
    lines: Sequence[Mapping[str, Any]],
    records: Sequence[Mapping[str, Any]],
    poisoned: Mapping[str, int],
) -> Verdict:
    """A booking with a lone surrogate is delivered with U+FFFD and flagged; an unparsable one
    is parked with one ``booking.parked`` warning (naming no guest data) — neither blocked
    the property's other bookings (``site_bookings_exactly_once`` checks those)."""
    problems: list[str] = []
    if (booking_id := poisoned.get("surrogate")) is not None:
        mine = [line for line in lines if line["booking"]["booking_id"] == booking_id]
        flagged = [line for line in mine if REPLACED_CHARACTERS in line.get(FLAGS, [])]
        names = {line["booking"]["guest_data"]["firstname"] for line in mine}
        if not mine or len(flagged) != len(mine) or names != {"Jo\ufffdse"}:
            problems.append(f"booking {booking_id}: {len(mine)} lines, {len(flagged)} flagged")
    if (booking_id := poisoned.get("unparsable")) is not None:
        parked = [r for r in records if r["event"] == "booking.parked"]
        if [r.get("booking_id") for r in parked] != [booking_id]:
            problems.append(f"booking {booking_id}: booking.parked x{len(parked)}")
    detail = ", ".join(
        f"{kind}_booking={booking_id}" for kind, booking_id in sorted(poisoned.items())
    )
    return _problems("poison_set_aside", problems, detail or "nothing poisoned")


def json_log_lines(lines: Sequence[str]) -> Verdict:
    """Every stdout line is a JSON object with timestamp, level and event."""
    problems = []
    for number, line in enumerate(lines):
        try:
            record = json.loads(line)
        except ValueError:
            problems.append(f"line {number} is not JSON: {line[:60]!r}")
            continue
        if not isinstance(record, dict) or not {"timestamp", "level", "event"} <= record.keys():
            problems.append(f"line {number} lacks timestamp/level/event")
    return _problems("log_lines_json", problems, f"{len(lines)} lines")


def no_secret(secrets: Iterable[str], texts: Mapping[str, str]) -> Verdict:
    """No secret (client secret, any issued token) appears in any named output."""
    wanted = [s for s in secrets if s]
    leaks = [f"secret in {name}" for name, text in texts.items() for s in wanted if s in text]
    detail = f"{len(wanted)} secrets checked in {len(texts)} outputs"
    return _problems("no_secret_in_output", sorted(set(leaks)), detail)
