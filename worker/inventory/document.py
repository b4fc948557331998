"""Pure parsing of the inventory document into a snapshot, entry by entry.

The rules of partial validity (``spec/inventory.md``, operator contract):

- The top level must be a JSON object with a ``properties`` list and nothing else; otherwise the
  whole document is bad and the previous snapshot stays in force (``fresh=False``).
- Each property entry is validated on its own. A bad entry is reported (``properties[2].rooms[0]
  .max_people: ...``) and left out, while the others sync.
- A bad entry must not cause anything to be pushed or removed on its account. So when a bad entry
  names (by ``remote_uid``) a property that was good before, the last good version is served in
  its place and its ``remote_uid`` is listed in ``held``. When a bad entry cannot be identified
  (no usable ``remote_uid``), every previously good property missing from the new document is
  held: any of them could be that entry, and dropping one would look like a removal.
- Bad *records* are isolated (``spec/inventory.md``, "Bad records are isolated"): when every error
  of a property lies inside its ``reservations``, ``rates``, ``minstays`` or ``closures``, only
  those records are held and the rest of the property syncs. A bad reservation is skipped (a
  reservation missing from the file is neither pushed nor cancelled). A list of rates, minimum
  stays or closures with a bad entry is served as its last good version, whole: dropping one
  rate would push other prices for its nights, dropping a closure would reopen it. With no last
  good version (the first read after a start) such a property is held whole, as above.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from worker.inventory.interning import INTERN_KEY, Interner
from worker.inventory.models import Property, cross_property_problems, describe_errors, format_path

__all__ = [
    "DOCUMENT_PATH",
    "InventoryProblem",
    "InventorySnapshot",
    "parse_bytes",
    "parse_document",
]

# The path reported for problems of the document as a whole (unreadable, not JSON, wrong shape).
DOCUMENT_PATH = "$"


@dataclass(frozen=True)
class InventoryProblem:
    """One validation problem: the path of the bad field and what is wrong with it."""

    path: str
    message: str

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"


@dataclass(frozen=True)
class InventorySnapshot:
    """What the vendor has now, as far as the worker may act on it.

    ``fresh`` is False when the current document could not be used at all and the last good one
    is served instead. ``held`` names properties served from their last good version because
    their current entry is bad; sync jobs push nothing new for them and remove nothing.
    """

    properties: tuple[Property, ...] = ()
    problems: tuple[InventoryProblem, ...] = ()
    fresh: bool = True
    held: frozenset[str] = field(default_factory=frozenset)

    def by_remote_uid(self) -> dict[str, Property]:
        return {prop.remote_uid: prop for prop in self.properties}

    def restricted(self, keep: Callable[[str], bool]) -> InventorySnapshot:
        """Only the properties (and held uids) whose remote uid ``keep`` accepts; problems are
        kept: they are the vendor's to fix whichever view reports them."""
        return replace(
            self,
            properties=tuple(p for p in self.properties if keep(p.remote_uid)),
            held=frozenset(uid for uid in self.held if keep(uid)),
        )

    def stale(self, *problems: InventoryProblem) -> InventorySnapshot:
        """This snapshot kept in force because the document is unusable."""
        uids = frozenset(prop.remote_uid for prop in self.properties)
        return InventorySnapshot(self.properties, problems, fresh=False, held=uids)


class _Document(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid", strict=True)

    properties: list[Any] = Field(strict=False)


def parse_bytes(data: bytes, previous: InventorySnapshot) -> InventorySnapshot:
    """Decode and parse the raw file content; ``previous`` is the last snapshot served.

    The decoded document is this function's own, so it is handed over and dropped: its
    entries are then released one by one as they become models (``_validate_entries``).
    """
    # utf-8-sig: editors on Windows save a byte-order mark, which RFC 8259 lets a parser ignore.
    try:
        raw = json.loads(data.decode("utf-8-sig"))
    except UnicodeDecodeError as exc:
        return previous.stale(InventoryProblem(DOCUMENT_PATH, f"not UTF-8: {exc.reason}"))
    except json.JSONDecodeError as exc:
        message = f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}"
        return previous.stale(InventoryProblem(DOCUMENT_PATH, message))
    except (ValueError, RecursionError) as exc:
        # Not JSONDecodeErrors, found by tests/fuzz: an integer beyond Python's 4300-digit
        # conversion limit (ValueError) and nesting deeper than the recursion limit.
        problem = "nested too deeply" if isinstance(exc, RecursionError) else "number too large"
        return previous.stale(InventoryProblem(DOCUMENT_PATH, f"invalid JSON: {problem}"))
    entries = _entries(raw, previous)
    del raw  # the entries list below is pydantic's copy: the document itself can go now
    if isinstance(entries, InventorySnapshot):
        return entries
    return _parse_entries(entries, previous)


def parse_document(raw: object, previous: InventorySnapshot) -> InventorySnapshot:
    """Validate a decoded document entry by entry (see the module docstring for the rules)."""
    entries = _entries(raw, previous)
    if isinstance(entries, InventorySnapshot):
        return entries
    return _parse_entries(entries, previous)


def _entries(raw: object, previous: InventorySnapshot) -> list[Any] | InventorySnapshot:
    """The document's property entries (a new list), or the stale snapshot if it is unusable."""
    try:
        return _Document.model_validate(raw).properties
    except ValidationError as exc:
        problems = [InventoryProblem(p or DOCUMENT_PATH, m) for p, m in describe_errors(exc)]
        return previous.stale(*problems)


def _parse_entries(entries: list[Any], previous: InventorySnapshot) -> InventorySnapshot:
    good, problems = _validate_entries(entries, previous)
    bad_indexes = {index for index in range(len(entries)) if index not in good}
    return _merge_with_previous(entries, good, bad_indexes, problems, previous)


def _interner(previous: InventorySnapshot) -> Interner:
    """One interner for this parse, seeded with the ranges the previous snapshot holds."""
    interner = Interner()
    for prop in previous.properties:
        interner.seed((*prop.rates, *prop.minstays, *prop.closures))
    return interner


def _validate_entries(
    entries: list[Any], previous: InventorySnapshot
) -> tuple[dict[int, Property], list[InventoryProblem]]:
    """Validate each entry; a good one's raw dict is replaced by a stub naming its remote uid.

    Releasing the raw dicts as they become models keeps the parse's peak memory near the
    larger of the two instead of their sum; the stub still identifies the entry should the
    cross-property rules reject it afterwards.
    """
    good: dict[int, Property] = {}
    problems: list[InventoryProblem] = []
    context = {INTERN_KEY: _interner(previous)}
    before = previous.by_remote_uid()
    for index, entry in enumerate(entries):
        try:
            good[index] = Property.model_validate(entry, context=context)
        except ValidationError as exc:
            last_good = before.get(_remote_uid_of(entry) or "")
            repaired = _isolate(entry, exc, last_good, context)
            problems += _problems(exc, index, repaired is not None)
            if repaired is None:
                continue
            good[index] = repaired
        entries[index] = {"remote_uid": good[index].remote_uid}
    for loc, message in cross_property_problems(sorted(good.items())):
        good.pop(int(loc[1]), None)
        problems.append(InventoryProblem(format_path(loc), message))
    return good, problems


# Record lists whose bad entries are skipped, and those served whole at their last good version.
_SKIPPED = frozenset({"reservations"})
_KEPT_LAST_GOOD = frozenset({"rates", "minstays", "closures"})
_HELD_NOTE = {
    "reservations": "held: this reservation is skipped until it is fixed",
    "rates": "held: the last good rates stay in force until it is fixed",
    "minstays": "held: the last good minstays stay in force until it is fixed",
    "closures": "held: the last good closures stay in force until it is fixed",
}


def _bad_records(exc: ValidationError) -> dict[str, set[int]] | None:
    """``{list: bad indexes}`` when every error lies inside a record list; else None."""
    bad: dict[str, set[int]] = {}
    for error in exc.errors():
        loc = error["loc"]
        if len(loc) < 2 or loc[0] not in _SKIPPED | _KEPT_LAST_GOOD or not isinstance(loc[1], int):
            return None
        bad.setdefault(str(loc[0]), set()).add(loc[1])
    return bad


def _isolate(
    entry: Any, exc: ValidationError, last_good: Property | None, context: dict[str, Any]
) -> Property | None:
    """The property with its bad records held (see the module docstring), or None."""
    bad = _bad_records(exc)
    if bad is None or not isinstance(entry, dict):
        return None
    repaired = dict(entry)
    for section, indexes in bad.items():
        if section in _SKIPPED:
            repaired[section] = [r for i, r in enumerate(entry[section]) if i not in indexes]
        elif last_good is None:
            return None  # nothing to keep in force: the whole property is held
        else:
            repaired[section] = list(getattr(last_good, section))
    try:
        return Property.model_validate(repaired, context=context)
    except ValidationError:
        return None  # e.g. the kept closures name a room the new entry no longer has


def _problems(exc: ValidationError, index: int, isolated: bool) -> list[InventoryProblem]:
    found = describe_errors(exc, prefix=("properties", index))
    if not isolated:
        return [InventoryProblem(path, message) for path, message in found]
    sections = [str(error["loc"][0]) for error in exc.errors()]
    return [
        InventoryProblem(path, f"{message}; {_HELD_NOTE[section]}")
        for (path, message), section in zip(found, sections, strict=True)
    ]


def _merge_with_previous(
    entries: list[Any],
    good: dict[int, Property],
    bad_indexes: set[int],
    problems: list[InventoryProblem],
    previous: InventorySnapshot,
) -> InventorySnapshot:
    before = previous.by_remote_uid()
    good_uids = {prop.remote_uid for prop in good.values()}
    served: dict[int, Property] = dict(good)
    unidentified = False
    for index in bad_indexes:
        uid = _remote_uid_of(entries[index])
        if uid is None:
            unidentified = True
        elif uid in before and uid not in good_uids:
            served[index] = before[uid]
    properties = [served[index] for index in sorted(served)]
    if unidentified:
        present = {prop.remote_uid for prop in properties}
        properties += [prop for uid, prop in before.items() if uid not in present]
    held = frozenset(p.remote_uid for p in properties) - frozenset(good_uids)
    return InventorySnapshot(tuple(properties), tuple(problems), fresh=True, held=held)


def _remote_uid_of(entry: object) -> str | None:
    uid = entry.get("remote_uid") if isinstance(entry, dict) else None
    return uid if isinstance(uid, str) and uid else None
