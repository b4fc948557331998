"""Durable state in SQLite (``<BOOKYFLOW_STATE_DIR>/state.db``): what the worker has done.

It keeps the maps from the vendor's ids to BookyFlow's (properties, rooms), what was last pushed
per property and night (so only changes are sent), closures created, reservation intents and
outcomes, the last revision handled per site booking, per-property progress of the jobs, content
sent, job outcomes and the webhook outbox.

Crash safety is by intent records: before a write that must not be repeated (create a property,
push or cancel a reservation) the job records an ``intent`` here, and every write commits with
``synchronous=FULL`` before ``await`` returns. After a crash an intent is resolved from the server
(``properties/ids``, ``booking/link``) instead of being sent again. The server stays the fallback
truth: a lost state directory costs a reconciliation, never a duplicate.

One module per concern; ``StateStore`` is every table group over one connection:

- ``store``: the file, the connection, open/close, corruption, ``forget_property``;
- ``schema``: the migrations and the per-property tables; ``tables``: the shared plumbing
  (transactions, reads by column name, the ``Clock``);
- ``properties``, ``rooms``, ``ari`` (pushed cells, closures), ``progress`` (typed per-property
  state), ``reservations``, ``bookings`` (booking revisions), ``content``, ``outcomes`` (job
  outcomes), ``outbox`` (the webhook outbox): one table group each, its records and its SQL.
"""

from worker.state.ari import ClosureRecord, PushedCell
from worker.state.bookings import BookingRevision
from worker.state.outbox import DeadLetter, OutboxCounts, OutboxEntry
from worker.state.outcomes import JobOutcome
from worker.state.progress import AriProgress, BookingsRead, RoomsSynced
from worker.state.properties import PropertyRecord, PropertyStatus
from worker.state.reservations import ReservationRecord, ReservationStatus
from worker.state.schema import MIGRATIONS
from worker.state.store import DB_NAME, OnCorrupt, StateCorrupt, StateStore

__all__ = [
    "DB_NAME",
    "MIGRATIONS",
    "AriProgress",
    "BookingRevision",
    "BookingsRead",
    "ClosureRecord",
    "DeadLetter",
    "JobOutcome",
    "OnCorrupt",
    "OutboxCounts",
    "OutboxEntry",
    "PropertyRecord",
    "PropertyStatus",
    "PushedCell",
    "ReservationRecord",
    "ReservationStatus",
    "RoomsSynced",
    "StateCorrupt",
    "StateStore",
]
