"""The registry of sync jobs, in the order a full cycle runs them.

``properties`` first (it creates what the others act on), then ``ari`` (prices need the base
price), ``reservations`` (bookings need rooms) and ``bookings``. The service schedules each with
its own interval and runs them through ``worker.sync.job.run_job``; ``sync --once`` runs
them in order.
"""

from __future__ import annotations

from worker.sync.ari import AriJob
from worker.sync.bookings import BookingsJob
from worker.sync.job import Job
from worker.sync.properties import PropertiesJob
from worker.sync.reservations import ReservationsJob

__all__ = ["JOBS"]

JOBS: dict[str, Job] = {
    "properties": PropertiesJob(),
    "ari": AriJob(),
    "reservations": ReservationsJob(),
    "bookings": BookingsJob(),
}
