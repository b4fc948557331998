"""The embedded BookyFlow server (``spec/bookyflow-api.md``) that every test and the demo use.

``Sandbox`` serves the API on loopback HTTP behind a fault-injecting proxy and a request journal;
``sandbox.faults``, ``sandbox.tokens``, ``sandbox.channels`` and ``sandbox.journal`` are the typed
control surface for in-process tests, ``worker.sandbox.remote`` the same over HTTP.

The names below are imported on first use, so importing one submodule (the store, say) does not
pull in the whole server.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from worker.sandbox.faults import FaultInjector
    from worker.sandbox.journal import Journal, JournalEntry
    from worker.sandbox.server import DEFAULT_CLIENT, Sandbox
    from worker.sandbox.store import ClientSpec

__all__ = ["DEFAULT_CLIENT", "ClientSpec", "FaultInjector", "Journal", "JournalEntry", "Sandbox"]

_HOMES = {
    "DEFAULT_CLIENT": "worker.sandbox.server",
    "ClientSpec": "worker.sandbox.store",
    "FaultInjector": "worker.sandbox.faults",
    "Journal": "worker.sandbox.journal",
    "JournalEntry": "worker.sandbox.journal",
    "Sandbox": "worker.sandbox.server",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module 'worker.sandbox' has no attribute {name!r}")
    return getattr(importlib.import_module(home), name)
