"""The properties job: create the vendor's properties, keep their rooms, publish them once complete.

Each run starts from the server's truth: ``properties/ids`` replaces ``ctx.owned``. Then, per
vendor property (``property_plan`` explains the matching):

1. **Resolve** its uid: the state record when its uid is still on the server, else a server
   property with its remote uid — which also resolves an ``intent`` left by a crash between the
   POST and the state write, and a lost state directory. Only what is found nowhere is created.
   A uid of state's that ``properties/ids`` does not list is asked for by uid first
   (``GET property/<uid>``, ``property_plan.still_ours``): a flaky or restored site can omit
   properties from its list, and creating them again would duplicate them (issue 11). Still there
   → kept (``property.unlisted``); gone or not ours → forgotten and created again
   (``property.lost``); no answer → left alone until a later run (``property.recheck_failed``).
2. **Create** (``POST property``) after writing the intent; "That Remote ID already exists"
   means a previous attempt landed, and the property is adopted from ``properties/ids``.
3. **Complete** (under the property's write lock): rooms (``rooms.sync_rooms``), the base price
   (which creates the tariff; "already exist(s)" on a replay means done), the content
   (``content.sync_content``), then publishing (``publishing.publish_step``: review only after a
   change or once a day, publish once complete, unpublish when the vendor says so). A property
   the server already shows as published is recorded as such without a write, so a recovered
   state sends nothing.

Held properties (their current inventory entry is bad) get no writes. Properties leave the server
only with ``settings.prune`` (which requires the ``delete`` scope), only when the inventory
document was read cleanly (a bad entry could be any property, and a removal cannot be undone),
and only as safe prune allows (``worker.sync.prune``).
Creating a property is not gated by back-off (it has no uid yet); it is simply tried again the
next run.
"""

from __future__ import annotations

from typing import Literal

from worker.errors import BookyFlowError, ClientRequestError, OwnershipError, already_exists
from worker.inventory.document import InventorySnapshot
from worker.inventory.models import Property as VendorProperty
from worker.logging import get_logger
from worker.sync.content import sync_content
from worker.sync.context import SyncContext
from worker.sync.each import for_each_property
from worker.sync.job import JobResult
from worker.sync.property_plan import RemoteMatch, find_on_server, still_ours
from worker.sync.prune import prune_properties
from worker.sync.publishing import publish_step
from worker.sync.rooms import sync_rooms
from worker.sync.tariff import ensure_base_price

log = get_logger(__name__)
Recheck = Literal["kept", "lost", "unknown"]


class AmbiguousProperty(BookyFlowError):
    """Several server properties could be this vendor property (mangled remote uids)."""


class PropertiesJob:
    """Create, complete and publish the vendor's properties; keep their rooms in step."""

    name = "properties"
    scopes: tuple[str, ...] = ("read", "write")  # + "delete" with settings.prune

    async def run(self, ctx: SyncContext) -> JobResult:
        result = JobResult(self.name)
        snapshot = await ctx.source.load()
        server = [
            (p.local_property_uid, p.remote_property_uid) for p in await ctx.cmf.property_ids()
        ]
        ctx.owned.replace(server)
        resolved = await self._resolve_all(ctx, snapshot, server, result)
        vendor = snapshot.by_remote_uid()
        created: set[int] = set()
        for remote_uid, uid in list(resolved.items()):
            if uid is None and remote_uid not in snapshot.held:
                new_uid = await self._create_isolated(ctx, vendor[remote_uid], result)
                resolved[remote_uid] = new_uid
                if new_uid is not None:
                    created.add(new_uid)
        uids = {uid: vendor[r] for r, uid in resolved.items() if uid and r not in snapshot.held}
        if held := len(snapshot.held & resolved.keys()):
            result.counts["held"] += held

        async def complete(uid: int) -> None:
            await self._complete(ctx, uids[uid], uid, result, new=uid in created)

        await for_each_property(ctx, result, uids, complete)
        if ctx.settings.prune and ctx.only is None:  # a change push sees a part only
            await self._prune(ctx, snapshot, server, set(resolved.values()), result)
        return result

    # -- resolve ------------------------------------------------------------------------------

    async def _resolve_all(
        self,
        ctx: SyncContext,
        snapshot: InventorySnapshot,
        server: list[tuple[int, str]],
        result: JobResult,
    ) -> dict[str, int | None]:
        """Vendor remote uid → property uid on the server (None: to be created).

        A property whose re-check got no answer is in neither: not created, not completed.
        """
        on_server = {uid for uid, _ in server}
        resolved: dict[str, int | None] = {}
        unknown: set[str] = set()
        for prop in snapshot.properties:  # first pass: what state knows and the server confirms
            record = await ctx.state.get_property(prop.remote_uid)
            if record and record.property_uid in on_server:
                resolved[prop.remote_uid] = record.property_uid
            elif record and record.property_uid is not None:
                verdict = await self._recheck(ctx, prop, record.property_uid, result)
                if verdict == "kept":
                    resolved[prop.remote_uid] = record.property_uid
                elif verdict == "unknown":
                    unknown.add(prop.remote_uid)
        for prop in snapshot.properties:  # second pass: find the rest by remote uid
            if prop.remote_uid in resolved or prop.remote_uid in unknown:
                continue
            claimed = {uid for uid in resolved.values() if uid is not None}
            try:
                resolved[prop.remote_uid] = await self._find(ctx, prop, server, claimed, result)
            except AmbiguousProperty as exc:
                result.fail(f"property {prop.remote_uid}", exc)
                log.error("property.ambiguous", remote_uid=prop.remote_uid, message=str(exc))
        return resolved

    async def _recheck(
        self, ctx: SyncContext, prop: VendorProperty, uid: int, result: JobResult
    ) -> Recheck:
        """Ask the site for a property of state's that ``properties/ids`` did not list.

        The uid is owned for the question (state says we created it; the site's answer decides):
        kept owned when the site still has it as ours, dropped otherwise.
        """
        remote_uid = prop.remote_uid
        ctx.owned.add(uid, remote_uid)
        try:
            found = await ctx.cmf.get_property(uid)
        except OwnershipError:  # "does not have access ..., or the property does not exist"
            found = None
        except BookyFlowError as exc:
            ctx.owned.discard(uid)
            result.fail(f"property {remote_uid}", exc)
            log.warning("property.recheck_failed", remote_uid=remote_uid, uid=uid, error=str(exc))
            return "unknown"
        if found is not None and still_ours(remote_uid, uid, found):
            log.warning("property.unlisted", remote_uid=remote_uid, uid=uid, kept=True)
            return "kept"
        ctx.owned.discard(uid)
        log.warning("property.lost", remote_uid=remote_uid, uid=uid)
        await ctx.state.forget_property(remote_uid)
        return "lost"

    async def _find(
        self,
        ctx: SyncContext,
        prop: VendorProperty,
        server: list[tuple[int, str]],
        claimed: set[int],
        result: JobResult,
    ) -> int | None:
        matches = find_on_server(prop.remote_uid, server, claimed)
        if len(matches) > 1:
            named = [
                m for m in matches if (await ctx.cmf.get_property(m.uid)).property_name == prop.name
            ]
            if len(named) != 1:
                raise AmbiguousProperty(
                    f"several server properties match remote uid {prop.remote_uid!r}"
                )
            matches = named
        if not matches:
            return None
        await self._adopt(ctx, prop, matches[0])
        result.counts["adopted"] += 1
        return matches[0].uid

    async def _adopt(self, ctx: SyncContext, prop: VendorProperty, match: RemoteMatch) -> None:
        if match.mangled:
            stored = ctx.owned.remote_uid(match.uid)
            log.warning("property.remote_uid_mangled", remote_uid=prop.remote_uid, stored=stored)
        await ctx.state.record_property_created(prop.remote_uid, match.uid)
        log.info("property.adopted", remote_uid=prop.remote_uid, uid=match.uid)

    # -- create -------------------------------------------------------------------------------

    async def _create_isolated(
        self, ctx: SyncContext, prop: VendorProperty, result: JobResult
    ) -> int | None:
        try:
            uid = await self._create(ctx, prop)
        except Exception as exc:  # one property's failure must not stop the others
            result.fail(f"property {prop.remote_uid}", exc)
            log.warning("property.create_failed", remote_uid=prop.remote_uid, error=str(exc))
            return None
        result.counts["created"] += 1
        return uid

    async def _create(self, ctx: SyncContext, prop: VendorProperty) -> int:
        await ctx.state.record_property_intent(prop.remote_uid)
        try:
            uid = await ctx.cmf.create_property(
                name=prop.name,
                remote_uid=prop.remote_uid,
                country=prop.country,
                region_id=prop.region_id,
                ptype_id=prop.ptype_id,
            )
        except ClientRequestError as exc:
            if not already_exists(exc):
                raise
            uid = await self._adopt_existing(ctx, prop)
        await ctx.state.record_property_created(prop.remote_uid, uid)
        ctx.owned.add(uid, prop.remote_uid)
        log.info("property.created", remote_uid=prop.remote_uid, uid=uid)
        return uid

    async def _adopt_existing(self, ctx: SyncContext, prop: VendorProperty) -> int:
        """The server already has this remote uid: a replayed create, or a legacy collision."""
        server = [
            (p.local_property_uid, p.remote_property_uid) for p in await ctx.cmf.property_ids()
        ]
        claimed = {r.property_uid for r in await ctx.state.list_properties() if r.property_uid}
        matches = find_on_server(prop.remote_uid, server, claimed)
        if len(matches) != 1:
            raise AmbiguousProperty(_unadoptable(prop.remote_uid))
        ctx.owned.add(matches[0].uid, prop.remote_uid)
        await self._adopt(ctx, prop, matches[0])
        return matches[0].uid

    # -- complete -----------------------------------------------------------------------------

    async def _complete(
        self, ctx: SyncContext, prop: VendorProperty, uid: int, result: JobResult, *, new: bool
    ) -> None:
        """Rooms, base price, content, then publishing (``publishing.publish_step``)."""
        writes = await sync_rooms(ctx, prop, uid)
        await ensure_base_price(ctx, uid, prop.base_price, prop.max_people)
        writes += await sync_content(ctx, prop, uid, result)
        if writes and not new:
            result.counts["updated"] += 1
        await publish_step(ctx, prop, uid, result)

    # -- prune --------------------------------------------------------------------------------

    async def _prune(
        self,
        ctx: SyncContext,
        snapshot: InventorySnapshot,
        server: list[tuple[int, str]],
        kept: set[int | None],
        result: JobResult,
    ) -> None:
        """Safe prune (``worker.sync.prune``): never on an empty or unclean document, never
        more than ``BOOKYFLOW_PRUNE_MAX_FRACTION`` at once, never a live reservation's property."""
        await prune_properties(ctx, snapshot, server, kept, result)


def _unadoptable(remote_uid: str) -> str:
    """Why an "already exists" answer led nowhere, with the likely cause when there is one."""
    message = f"remote uid {remote_uid!r} exists but cannot be adopted"
    if not remote_uid.isdigit():
        # The real engine casts remote_property_uid to an integer (cmf_property.php): every
        # non-numeric id becomes 0, so a channel's second such property "already exists".
        message += (
            "; this site stores remote uids as integers, so every non-numeric one collides:"
            " use digits for remote_uid (docs/inventory.md)"
        )
    return message
