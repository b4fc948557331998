"""Signals for a running ``Worker``: SIGTERM/SIGINT stop it, SIGHUP reloads it.

Handlers are installed before start-up so that no signal is missed, and they work when the
worker is PID 1 in a container (PID 1 ignores only signals that have no handler). SIGHUP is
the logrotate convention: reopen the bookings file by name and re-read the inventory now. Left
without a handler it would kill the daemon (exit 129, no drain, no log line: issue 11).
"""

from __future__ import annotations

import asyncio
import signal
import threading
from typing import Any, Protocol, Self, runtime_checkable

from worker.logging import get_logger

__all__ = ["Reloadable", "SignalStop", "Stoppable"]

log = get_logger("worker.signals")


class Stoppable(Protocol):
    """What a signal stops: a ``Worker``, or a ``Supervisor`` of many."""

    running: bool
    stop_reason: str | None

    def request_stop(self, reason: str = "requested") -> None: ...


@runtime_checkable
class Reloadable(Protocol):
    """What SIGHUP reloads: reopen output files, re-read the inventory (never blocks)."""

    def request_reload(self, reason: str = "requested") -> None: ...


class SignalStop:
    """SIGTERM/SIGINT: the first stops the worker gracefully, a second cancels ``task`` at once.

    Installed before start-up so no signal is missed; a signal that arrives while the worker is
    still starting cancels the start-up (nothing is running that could be drained). SIGHUP asks
    a ``Reloadable`` worker to reload; one that is not (yet) gets one log line and keeps running.
    """

    SIGNALS = (signal.SIGTERM, signal.SIGINT)
    RELOAD = signal.SIGHUP

    def __init__(self, worker: Stoppable, task: asyncio.Task[Any]) -> None:
        self.worker = worker
        self.task = task
        self.received: list[str] = []
        self.reloads = 0
        self._installed = False

    def __enter__(self) -> Self:
        # Only the main thread receives signals (an embedding or a test may run us elsewhere).
        self._installed = threading.current_thread() is threading.main_thread()
        if self._installed:
            loop = asyncio.get_running_loop()
            for signum in self.SIGNALS:
                loop.add_signal_handler(signum, self._on_signal, signum)
            loop.add_signal_handler(self.RELOAD, self._on_reload)
        return self

    def __exit__(self, *exc_info: object) -> None:
        if self._installed:
            loop = asyncio.get_running_loop()
            for signum in (*self.SIGNALS, self.RELOAD):
                loop.remove_signal_handler(signum)

    def _on_signal(self, signum: int) -> None:
        name = signal.Signals(signum).name
        self.received.append(name)
        if len(self.received) == 1 and self.worker.running:
            self.worker.request_stop(name)
            return
        log.warning("worker.cancelling", signal=name, running=self.worker.running)
        self.worker.stop_reason = self.worker.stop_reason or name
        self.task.cancel()

    def _on_reload(self) -> None:
        self.reloads += 1
        if isinstance(self.worker, Reloadable):
            self.worker.request_reload(self.RELOAD.name)
        else:
            log.warning("worker.reload", signal=self.RELOAD.name, ok=False, error="not supported")
