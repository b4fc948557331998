"""The embedded BookyFlow server (``spec/bookyflow-api.md``) that every test and the demo use.

``Sandbox`` serves the API on loopback HTTP behind a fault-injecting proxy and a request journal;
``sandbox.faults``, ``sandbox.tokens``, ``sandbox.channels`` and ``sandbox.journal`` are the typed
control surface for in-process tests, ``worker.sandbox.remote`` the same over HTTP.
"""

from worker.sandbox.faults import FaultInjector
from worker.sandbox.journal import Journal, JournalEntry
from worker.sandbox.server import DEFAULT_CLIENT, Sandbox
from worker.sandbox.store import ClientSpec

__all__ = ["DEFAULT_CLIENT", "ClientSpec", "FaultInjector", "Journal", "JournalEntry", "Sandbox"]
