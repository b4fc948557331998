"""What happens to the site and the inventory during a soak, and when.

``ChaosConfig`` is the schedule as data (periods in seconds, one-off events as fractions of the
run); ``Chaos.run`` ticks once a second and fires whatever is due against the in-process
sandbox: periodic faults, token revocations, guests booking on the site, inventory edits, one
channel-table loss and one sandbox restart (close, a pause, start on the same file and port).
``counts`` says how often each thing was done, for the report.

The many-sites soak (``tests.chaos.many_sites``) gives each site its own ``Chaos`` with a
profile of its own; these knobs exist for it and are off by default: bursts of garbage answers
(200s with invalid JSON or truncated bodies), poisoned site bookings (a lone surrogate in a
guest's name, a booking the client cannot parse), a site that is down until a fraction of the
run (nothing listening on its port), and a logrotate of the bookings file followed by SIGHUP.
"""

from __future__ import annotations

import asyncio
import math
import random
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from tests.chaos.scenario import EDITS, InventoryFile, load_example
from worker.sandbox import JournalEntry, Sandbox
from worker.sandbox.image_host import ImageHost, rehost_images

RANDOM_5XX = (502, 503, 504)  # gateway errors: the proxy answers with HTML pages
OWNER_CLIENT = "demo"
CHANNEL = "chaos-channel"


@dataclass(frozen=True)
class ChaosConfig:
    """The schedule of one run."""

    random_5xx: float = 0.20
    latency_s: float = 0.01
    jitter_s: float = 0.04
    fault_every_s: float = 5.0
    revoke_every_s: float = 30.0
    booking_every_s: float = 8.0
    channel_loss_at: float = 0.35
    restart_at: float = 0.5
    restart_pause_s: float = 1.5
    edits_from: float = 0.1
    edits_to: float = 0.8
    seed: int = 0
    garbage_every_s: float = math.inf  # a burst of garbage answers this often (inf: never)
    garbage_times: int = 4  # answers spoilt per kind and burst
    poison: bool = False  # guests' first bookings: a lone surrogate, then an unparsable one
    down_until: float = 0.0  # the sandbox starts listening only at this fraction of the run
    rotate_at: float = math.inf  # logrotate of the bookings file, then SIGHUP (inf: never)

    @classmethod
    def for_run(cls, seconds: float, seed: int) -> ChaosConfig:
        """Short runs still see several revocations and a booking every few seconds."""
        return cls(
            revoke_every_s=min(30.0, seconds / 3), booking_every_s=max(5.0, seconds / 60), seed=seed
        )


class Chaos:
    """The sandbox, the inventory file and the faults applied to both.

    ``client`` is the API client (owner) the worker uses on this sandbox; ``hangup`` is called
    after a logrotate (``rotate_at``): the runner sends the worker SIGHUP.
    """

    def __init__(
        self,
        sandbox: Sandbox,
        workdir: Path,
        config: ChaosConfig,
        images: ImageHost,
        *,
        client: str = OWNER_CLIENT,
        hangup: Callable[[], None] | None = None,
    ) -> None:
        self.sandbox = sandbox
        self.workdir = workdir
        self.config = config
        self.client = client
        self.hangup = hangup
        self.rng = random.Random(config.seed)
        example = rehost_images(load_example(), images)  # the sandbox downloads the images
        self.inventory = InventoryFile(workdir / "inventory.json", example)
        self.sink_path = workdir / "state" / "bookings.jsonl"
        self.rotated: list[Path] = []  # bookings files moved away by a logrotate
        self.poisoned: dict[str, int] = {}  # "surrogate" / "unparsable" -> booking id
        self.today = datetime.now(UTC).date()
        self.counts: Counter[str] = Counter()
        self._site_bookings: list[int] = []
        self._tokens: set[str] = set()
        self.refused_at: dict[str, float] = {}  # token -> when the site first answered 401
        self._periodic_faults = (
            self._rate_limit_burst,
            self._reset_before,
            self._reset_after,
            self._truncate,
        )
        self._reset_background_faults()
        sandbox.journal.add_listener(self._remember_token)

    def issued_tokens(self) -> set[str]:
        return set(self._tokens)

    def _remember_token(self, entry: JournalEntry, duration_s: float) -> None:
        value = entry.headers.get("Authorization", "")
        if value.startswith("Bearer "):
            token = value.removeprefix("Bearer ")
            self._tokens.add(token)
            if entry.status == 401:
                self.refused_at.setdefault(token, entry.at + duration_s)

    async def run(self, seconds: float, *, alive: Callable[[], bool]) -> None:
        """Tick once a second for ``seconds`` (or until the worker died)."""
        started = time.monotonic()
        last: Counter[str] = Counter()
        while (elapsed := time.monotonic() - started) < seconds and alive():
            await self._tick(elapsed, seconds, last)
            await asyncio.sleep(1.0)

    async def _tick(self, elapsed: float, seconds: float, last: Counter[str]) -> None:
        await self._profile_events(elapsed, seconds, last)
        config = self.config
        if self._due("fault", config.fault_every_s, elapsed, last):
            # A proxy's fault lasts a while, it does not wait for a request: one not consumed
            # within its period is dropped, or a quiet worker would meet a pile of them.
            self._reset_background_faults()
            # In turn, so even a short run sees each kind of fault.
            turn = self.counts["periodic_faults"] % len(self._periodic_faults)
            self._periodic_faults[turn]()
            self.counts["periodic_faults"] += 1
        if self._due("revoke", config.revoke_every_s, elapsed, last):
            self.counts["tokens_revoked_events"] += 1
            self.counts["tokens_revoked"] += self.sandbox.tokens.revoke_all()
        if self._due("booking", config.booking_every_s, elapsed, last):
            self._guest_acts()
        self._edit_inventory(elapsed / seconds)
        if elapsed / seconds >= config.channel_loss_at and not self.counts["channel_table_lost"]:
            self.sandbox.channels.forget_all()
            self.counts["channel_table_lost"] += 1
        if elapsed / seconds >= config.restart_at and not self.counts["sandbox_restarts"]:
            await self._restart_sandbox()

    async def _profile_events(self, elapsed: float, seconds: float, last: Counter[str]) -> None:
        """The many-sites profiles' events: coming up, garbage bursts, a logrotate."""
        config, fraction = self.config, elapsed / seconds
        if config.down_until and fraction >= config.down_until and not self.counts["came_up"]:
            await self.sandbox.start()
            self.counts["came_up"] += 1
        if self._due("garbage", config.garbage_every_s, elapsed, last):
            self._garbage_burst()
        if fraction >= config.rotate_at and not self.counts["logrotates"]:
            self._logrotate()

    def _garbage_burst(self) -> None:
        """200 answers that are no JSON, and bodies cut short; a burst not consumed is dropped."""
        self._reset_background_faults()
        self.sandbox.faults.invalid_json_next(times=self.config.garbage_times)
        self.sandbox.faults.truncate_next(times=self.config.garbage_times)
        self.counts["garbage_bursts"] += 1

    def _logrotate(self) -> None:
        """What logrotate does: move the bookings file away, then SIGHUP the daemon."""
        if self.sink_path.exists():
            rotated = self.sink_path.with_name(self.sink_path.name + ".1")
            self.sink_path.rename(rotated)
            self.rotated.append(rotated)
        self.counts["logrotates"] += 1
        if self.hangup is not None:
            self.hangup()
            self.counts["sighups"] += 1

    @staticmethod
    def _due(name: str, every_s: float, elapsed: float, last: Counter[str]) -> bool:
        slot = int(elapsed // every_s)
        if slot > last[name]:
            last[name] = slot
            return True
        return False

    def _reset_background_faults(self) -> None:
        """Drop queued faults; random 5xx (a fresh seed each time) and latency stay on."""
        faults, config = self.sandbox.faults, self.config
        faults.clear()
        seed = self.rng.randrange(2**32)
        faults.set_random_failure(config.random_5xx, statuses=RANDOM_5XX, seed=seed)
        faults.set_latency(config.latency_s, jitter_s=config.jitter_s)

    def _rate_limit_burst(self) -> None:
        self.sandbox.faults.rate_limit_next(times=3, retry_after="1")
        self.counts["faults_429_burst"] += 1

    def _reset_before(self) -> None:
        self.sandbox.faults.reset_next()
        self.counts["faults_reset_before"] += 1

    def _reset_after(self) -> None:
        self.sandbox.faults.reset_next(after_processing=True)
        self.counts["faults_reset_after_applied"] += 1

    def _truncate(self) -> None:
        self.sandbox.faults.truncate_next()
        self.counts["faults_truncated"] += 1

    def _edit_inventory(self, fraction: float) -> None:
        done = self.counts["inventory_edits"]
        if done >= len(EDITS):
            return
        span = (self.config.edits_to - self.config.edits_from) / max(len(EDITS) - 1, 1)
        if fraction >= self.config.edits_from + done * span:
            name, edit = EDITS[done]
            self.inventory.apply(edit)
            self.counts["inventory_edits"] += 1
            self.counts[f"edit_{name}"] += 1

    def _guest_acts(self) -> None:
        """A new booking on the villa; every other time also change or cancel an older one."""
        store = self.sandbox.store
        owned = {
            str(p["remote_uid"]): int(p["property_uid"])
            for p in store.properties_of(self.client, CHANNEL)
        }
        villa = owned.get("3001")
        if villa is None:
            return
        first = date(2027, 3, 10) + timedelta(days=4 * self.counts["site_bookings_created"])
        booking = store.book_on_site(
            villa, first.isoformat(), (first + timedelta(days=1)).isoformat()
        )
        self.counts["site_bookings_created"] += 1
        if self._poison(int(booking["booking_id"])):
            return
        self._site_bookings.append(int(booking["booking_id"]))
        if len(self._site_bookings) % 2 == 0:
            older = self._site_bookings.pop(0)
            if self.rng.random() < 0.5:
                store.modify_site_booking(older, total="250.00")
                self.counts["site_bookings_modified"] += 1
            else:
                store.cancel_site_booking(older)
                self.counts["site_bookings_cancelled"] += 1

    def book_if_none(self) -> None:
        """A site that came up only after the chaos (``down_until``) still gets a guest's
        booking to deliver, once the worker created the property it is made on."""
        if not self.counts["site_bookings_created"]:
            self._guest_acts()

    def _poison(self, booking_id: int) -> bool:
        """With ``poison``, the first booking gets a lone surrogate in the guest's name (the
        site's JSON answer carries a ``\\ud800`` escape), the second a total the client cannot
        parse. Written into the store's booking directly; both are left alone afterwards."""
        kind = next((k for k in ("surrogate", "unparsable") if k not in self.poisoned), None)
        if not self.config.poison or kind is None:
            return False
        booking = self.sandbox.store.records.bookings[booking_id]
        if kind == "surrogate":
            booking.firstname = "Jo\ud800se"
        else:
            booking.booking_total = "two hundred"
        self.poisoned[kind] = booking_id
        self.counts[f"site_bookings_{kind}"] += 1
        return True

    async def _restart_sandbox(self) -> None:
        await self.sandbox.close()
        await asyncio.sleep(self.config.restart_pause_s)
        await self.sandbox.start()
        self.counts["sandbox_restarts"] += 1
