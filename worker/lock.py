"""One daemon per state directory: an exclusive ``flock`` on ``<state_dir>/worker.lock``.

Two daemons on one state directory push the same reservations and pull the same bookings (the
chaos run of issue 11: 35 duplicate bookings out of 40), so ``run`` and ``sync`` take this lock
before anything else and a second one exits 78 naming the holder's pid. Read-only commands
(``check``, ``healthcheck``) never take it and work beside the daemon.

Why ``flock``: the kernel drops it when the holder dies (SIGKILL, OOM kill, power loss), so there
is never a stale lock to clean up by hand. The holder's pid is written into the file only for
the message; the file is never deleted (unlinking a lock file races with a process that has just
opened it, and the next daemon would lock a name nobody else can see).

The directory is created 0700 when missing; one that cannot be created or written is a
``StateUnwritable`` (exit 78, one line) rather than a traceback from deep inside SQLite.
"""

from __future__ import annotations

import fcntl
import os
from pathlib import Path
from types import TracebackType
from typing import Self

from worker.errors import StateLocked, StateUnwritable

__all__ = ["LOCK_FILE", "StateDirLock", "prepare_state_dir"]

LOCK_FILE = "worker.lock"
_PID_BYTES = 32


def _reason(exc: OSError) -> str:
    return exc.strerror or type(exc).__name__


def prepare_state_dir(state_dir: Path) -> None:
    """Create ``state_dir`` (0700) when missing; refuse one this process cannot write."""
    try:
        if not state_dir.is_dir():
            state_dir.mkdir(parents=True, mode=0o700)
            os.chmod(state_dir, 0o700)  # mkdir's mode is filtered by the umask
    except OSError as exc:
        raise StateUnwritable(
            f"state directory {state_dir} cannot be created: {_reason(exc)}"
        ) from None
    # access(2) also answers EROFS for root on a read-only mount, where mode bits do not bind.
    if not os.access(state_dir, os.W_OK | os.X_OK):
        raise StateUnwritable(f"state directory {state_dir} is not writable by this process")


def _read_pid(fd: int) -> int | None:
    raw = os.pread(fd, _PID_BYTES, 0).strip()
    return int(raw) if raw.isdigit() else None


class StateDirLock:
    """The held lock of one state directory; ``release()`` (or leaving ``with``) frees it."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self._fd: int | None = fd

    def __repr__(self) -> str:
        return f"StateDirLock({str(self.path)!r}, held={self._fd is not None})"

    @classmethod
    def acquire(cls, state_dir: Path) -> StateDirLock:
        """Take the lock now or raise: ``StateLocked`` (held), ``StateUnwritable`` (cannot)."""
        state_dir = Path(state_dir)
        prepare_state_dir(state_dir)
        path = state_dir / LOCK_FILE
        try:
            fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        except OSError as exc:
            raise StateUnwritable(f"cannot create {path}: {_reason(exc)}") from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = _read_pid(fd)
            os.close(fd)
            raise StateLocked(_locked_message(state_dir, holder), holder_pid=holder) from None
        except BaseException:
            os.close(fd)
            raise
        cls._write_pid(fd, path)
        return cls(path, fd)

    @staticmethod
    def _write_pid(fd: int, path: Path) -> None:
        try:
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{os.getpid()}\n".encode(), 0)
        except OSError as exc:
            os.close(fd)
            raise StateUnwritable(f"cannot write {path}: {_reason(exc)}") from None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def release(self) -> None:
        """Free the lock (closing the file drops the ``flock``); safe to call twice."""
        fd, self._fd = self._fd, None
        if fd is not None:
            os.close(fd)

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.release()


def _locked_message(state_dir: Path, holder: int | None) -> str:
    who = f"pid {holder}" if holder is not None else "a process whose pid is not recorded"
    return (
        f"state directory {state_dir} is in use by another worker ({who}); one state "
        "directory serves one daemon: stop it, or give this one its own BOOKYFLOW_STATE_DIR"
    )
