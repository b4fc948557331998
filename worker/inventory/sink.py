"""Where bookings made on the hotel site go: the ``BookingSink`` protocol and the JSON-lines file.

``JsonLinesBookingSink`` appends one line per booking revision (``spec/inventory.md``) and
fsyncs before ``deliver`` returns True, so a revision is either durably in the file or will be
delivered again. Exactly once across restarts and crashes: on open the file is scanned for the
revisions it already holds, and a torn last line (a crash mid-write) is cut off — it was never
acknowledged, so it is delivered again whole.

The sink follows the file's *name*, not the file it first opened (logrotate, a consumer that
moves or deletes the file): before each append the name is compared with the open handle
(``st_dev``/``st_ino``), and when the name is gone or names another file, that file is opened
(created 0600 when missing) and scanned. A line written into a file whose last name was removed
while it was being written (``st_nlink == 0`` afterwards) reached no file, so it is written again.
``reopen()`` (SIGHUP) opens the name at once.

The index of revisions survives a rename or a delete: a rotated-away or deleted file's revisions
*were* delivered (the consumer has them, or chose to drop them), so they are never written again;
the index only grows by the revisions of any file found under the name. After a restart the
index is the current file's; the bookings job's state (``booking_revisions``) keeps older
revisions from being offered again.

Every line is valid UTF-8. A string UTF-8 cannot encode — a lone surrogate, which a site's JSON
``\ud800`` escape decodes to — would raise ``UnicodeEncodeError`` and block every later booking of
the property; ``encodable`` replaces each such character with U+FFFD and the record carries
``"flags": ["replaced_characters"]`` (``booking_record`` does it, and the file sink repeats it for a
record built any other way). ``flags`` is present only on a flagged line, after ``received_at``.

An exclusive ``flock`` on each opened file keeps a second worker process (another state
directory pointed at the same ``BOOKYFLOW_BOOKINGS_FILE``) from appending to it; one state
directory serves one daemon (``worker.lock``), so this guards only that misconfiguration.
"""

from __future__ import annotations

import asyncio
import enum
import fcntl
import json
import os
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Literal, Protocol, runtime_checkable

from worker.clock import Clock, SystemClock
from worker.errors import BookyFlowError, ConfigError
from worker.logging import get_logger

__all__ = [
    "FLAGS",
    "RECORD_FIELDS",
    "REPLACED_CHARACTERS",
    "BookingSink",
    "DeliveryError",
    "JsonLinesBookingSink",
    "ReadOnlySink",
    "booking_record",
    "booking_revision",
    "encodable",
]

log = get_logger("worker.inventory.sink")
# The line format, in order; ``received_at`` is filled in by the sink when absent.
RECORD_FIELDS = (
    "revision",
    "site",
    "channel",
    "property_uid",
    "property_remote_uid",
    "event",
    "booking",
    "received_at",
)
BookingEvent = Literal["created", "modified", "cancelled"]
# Present only when not empty, after ``received_at``: what the worker had to change in a record.
FLAGS = "flags"
REPLACED_CHARACTERS = "replaced_characters"
# Code points UTF-8 cannot encode: surrogates, which only a lone (unpaired) escape leaves in a str.
_UNENCODABLE = re.compile("[\ud800-\udfff]")


class DeliveryError(BookyFlowError, OSError):
    """The sink could not store a booking (disk full, I/O error); nothing was recorded."""

    retryable = True


@runtime_checkable
class BookingSink(Protocol):
    """Receives each booking revision; ``deliver`` is False for a revision it already has."""

    async def deliver(self, record: dict[str, Any]) -> bool: ...

    async def close(self) -> None: ...


def booking_revision(booking: Mapping[str, Any]) -> str:
    """``<booking_id>:<last_modified>``: a booking yields a new line only when this changes."""
    return f"{booking['booking_id']}:{booking['last_modified']}"


def booking_record(
    booking: Mapping[str, Any],
    *,
    site: str,
    channel: str,
    property_remote_uid: str,
    event: BookingEvent,
) -> dict[str, Any]:
    """The line for one booking revision, without ``received_at`` (the sink stamps it).

    Characters UTF-8 cannot encode are replaced and the record flagged (``encodable``).
    """
    record = {
        "revision": booking_revision(booking),
        "site": site,
        "channel": channel,
        "property_uid": booking["property_uid"],
        "property_remote_uid": property_remote_uid,
        "event": event,
        "booking": dict(booking),
    }
    return encodable(record)[0]


def encodable(record: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``record`` with every character UTF-8 cannot encode replaced by U+FFFD, and the dotted
    paths of the strings that had one (values are never reported: they are guests' data).

    A record that needed a replacement gets ``REPLACED_CHARACTERS`` in its ``flags``, so the
    consumer knows the text is not exactly what the site holds. Idempotent.
    """
    paths: list[str] = []
    cleaned = _replace(dict(record), "", paths)
    if paths:
        flags = [str(flag) for flag in cleaned.get(FLAGS) or []]
        cleaned[FLAGS] = (
            [*flags, REPLACED_CHARACTERS] if REPLACED_CHARACTERS not in flags else flags
        )
    return cleaned, paths


def _replace(value: Any, path: str, paths: list[str]) -> Any:
    """``value`` (JSON-shaped) with unencodable characters replaced; their paths appended."""
    if isinstance(value, str):
        if _UNENCODABLE.search(value) is None:
            return value
        paths.append(path or "<root>")
        return _UNENCODABLE.sub("\ufffd", value)
    if isinstance(value, Mapping):
        return {
            _replace(key, f"{path}.<key>".lstrip("."), paths): _replace(
                item, f"{path}.{key}".lstrip("."), paths
            )
            for key, item in value.items()
        }
    if isinstance(value, list | tuple):
        return [
            _replace(item, f"{path}.{index}".lstrip("."), paths) for index, item in enumerate(value)
        ]
    return value


def _scan(fd: int) -> set[str]:
    """Revisions already in the file; cuts a torn last line off. Runs in a thread."""
    revisions: set[str] = set()
    complete_size = 0
    with os.fdopen(os.dup(fd), "rb") as file:
        file.seek(0)
        for line in file:
            if not line.endswith(b"\n"):
                break
            complete_size += len(line)
            revision = _revision_of(line)
            if revision is not None:
                revisions.add(revision)
    if os.fstat(fd).st_size != complete_size:
        log.warning("sink.torn_line_removed", bytes=os.fstat(fd).st_size - complete_size)
        os.ftruncate(fd, complete_size)
        os.fsync(fd)
    return revisions


def _revision_of(line: bytes) -> str | None:
    try:
        revision = json.loads(line).get("revision")
    except (ValueError, AttributeError):
        log.warning("sink.unreadable_line", length=len(line))
        return None
    return revision if isinstance(revision, str) else None


def _fsync_dir(directory: Path) -> None:
    """Make a new file's directory entry durable too."""
    dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def _append(fd: int, data: bytes) -> None:
    """Write all of ``data`` and fsync; on failure, cut the partial write off again."""
    size = os.fstat(fd).st_size
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    except OSError:
        os.ftruncate(fd, size)
        raise


def _names(path: Path, fd: int) -> bool:
    """``path`` still names the open file ``fd`` (not renamed away, deleted or replaced)."""
    try:
        named = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (named.st_dev, named.st_ino) == (held.st_dev, held.st_ino) and held.st_nlink > 0


class _Appended(enum.Enum):
    WRITTEN = "written"  # durably in the file that has the name (or had it while written)
    STALE = "stale"  # the name no longer names the open file: nothing written
    LOST = "lost"  # the file lost its last name while being written: the line is in no file


def _append_named(path: Path, fd: int, data: bytes) -> _Appended:
    """Append to ``fd`` only while ``path`` names it; tell whether the line reached a file."""
    if not _names(path, fd):
        return _Appended.STALE
    _append(fd, data)
    return _Appended.LOST if os.fstat(fd).st_nlink == 0 else _Appended.WRITTEN


# A file deleted on every attempt is a consumer fighting the worker: give up on this delivery.
_MAX_REOPENS = 3


class JsonLinesBookingSink:
    """Appends booking revisions to a JSON-lines file (mode 0600), each exactly once.

    ``received_at`` is stamped from ``clock.wall()`` (the worker's one clock).
    """

    def __init__(self, path: Path, *, clock: Clock | None = None) -> None:
        self.path = Path(path)
        self._clock: Clock = clock or SystemClock()
        self._fd: int | None = None
        self._revisions: set[str] = set()
        self._lock = asyncio.Lock()

    def __repr__(self) -> str:
        return f"JsonLinesBookingSink({str(self.path)!r})"

    @classmethod
    async def open(cls, path: Path, **kwargs: Any) -> JsonLinesBookingSink:
        """Open (creating) and scan the file; a file locked by another worker is a ConfigError."""
        sink = cls(path, **kwargs)
        async with sink._lock:
            await sink._open("opened", startup=True)
        return sink

    @property
    def delivered_count(self) -> int:
        return len(self._revisions)

    def has(self, revision: str) -> bool:
        return revision in self._revisions

    async def deliver(self, record: dict[str, Any]) -> bool:
        """Append ``record`` durably; False (and nothing written) if its revision is known."""
        line = self._line(record)
        revision = record["revision"]
        async with self._lock:
            for _ in range(_MAX_REOPENS):
                fd = self._fd if self._fd is not None else await self._open("opened")
                if revision in self._revisions:
                    return False
                outcome = await self._append(fd, line)
                if outcome is _Appended.WRITTEN:
                    self._revisions.add(revision)
                    return True
                await self._open("deleted" if outcome is _Appended.LOST else "renamed")
            raise DeliveryError(f"cannot append to {self.path}: it keeps being deleted")

    async def reopen(self) -> None:
        """Open the file by its name now (SIGHUP, after logrotate), creating it when missing."""
        async with self._lock:
            await self._open("signal")

    async def close(self) -> None:
        async with self._lock:
            await self._close_fd()

    def _line(self, record: dict[str, Any]) -> bytes:
        """The record as one UTF-8 JSON line, in ``RECORD_FIELDS`` order (then ``flags``)."""
        missing = [name for name in RECORD_FIELDS[:-1] if name not in record]
        if missing or not isinstance(record["revision"], str):
            raise ValueError(f"booking record lacks {missing or ['a string revision']}")
        text = self._text(record)
        if _UNENCODABLE.search(text) is not None:  # a record not built by booking_record
            text = _UNENCODABLE.sub("\ufffd", self._text(encodable(record)[0]))
        return text.encode("utf-8") + b"\n"

    def _text(self, record: Mapping[str, Any]) -> str:
        stamped = {**record, "received_at": record.get("received_at") or self._received_at()}
        ordered = {name: stamped[name] for name in RECORD_FIELDS}
        if stamped.get(FLAGS):
            ordered[FLAGS] = stamped[FLAGS]
        return json.dumps(ordered, ensure_ascii=False, separators=(",", ":"), default=str)

    def _received_at(self) -> str:
        stamp = datetime.fromtimestamp(self._clock.wall(), UTC)
        return stamp.isoformat().replace("+00:00", "Z")

    async def _append(self, fd: int, line: bytes) -> _Appended:
        try:
            return await asyncio.to_thread(_append_named, self.path, fd, line)
        except OSError as exc:
            await self._close_fd()  # rescan on the next delivery, whatever state the file is in
            reason = exc.strerror or type(exc).__name__
            raise DeliveryError(f"cannot append to {self.path}: {reason}") from exc

    async def _open(self, reason: str, *, startup: bool = False) -> int:
        """Close the handle held and open the file that has the name now; merge its revisions.

        At start-up a file locked by another worker is a ``ConfigError`` (exit 78); later it is
        a ``DeliveryError``, retried, since the booking must not be lost meanwhile.
        """
        await self._close_fd()
        try:
            fd, found = await asyncio.to_thread(self._open_and_scan)
        except ConfigError as exc:
            if startup:
                raise
            raise DeliveryError(str(exc)) from None
        except OSError as exc:
            reason_text = exc.strerror or type(exc).__name__
            raise DeliveryError(f"cannot open {self.path}: {reason_text}") from exc
        self._revisions |= found
        self._fd = fd
        event = "sink.opened" if reason == "opened" else "sink.reopened"
        log.info(event, path=str(self.path), reason=reason, revisions=len(self._revisions))
        return fd

    def _open_and_scan(self) -> tuple[int, set[str]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        flags = os.O_RDWR | os.O_APPEND | os.O_CLOEXEC
        try:
            fd = os.open(self.path, flags)
        except FileNotFoundError:
            fd = os.open(self.path, flags | os.O_CREAT, 0o600)
            _fsync_dir(self.path.parent)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.fchmod(fd, 0o600)
            return fd, _scan(fd)
        except BlockingIOError:
            os.close(fd)
            raise ConfigError(f"bookings file {self.path} is in use by another worker") from None
        except BaseException:
            os.close(fd)
            raise

    async def _close_fd(self) -> None:
        fd, self._fd = self._fd, None
        if fd is not None:
            await asyncio.to_thread(os.close, fd)


class ReadOnlySink:
    """The sink of a read-only command (``check``): it never opens the file the daemon writes.

    Opening the JSON-lines file would take its lock (refusing ``check`` beside a daemon) and
    could cut the line the daemon is writing as "torn"; a read-only command delivers nothing.
    """

    async def deliver(self, record: dict[str, Any]) -> bool:
        raise DeliveryError("a read-only command delivers no bookings", retryable=False)

    async def close(self) -> None:
        return None
