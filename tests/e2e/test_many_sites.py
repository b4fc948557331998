"""Many sites in one process, and static sharding across processes, as an operator runs them."""

from __future__ import annotations

import asyncio
import json
import signal
from collections import Counter
from pathlib import Path

import pytest

from tests.e2e.conftest import CHANNEL, Site, Spawn, WorkerProcess, assert_json_lines
from tests.polling import wait_until
from tests.sync.support import seaside
from worker.sandbox import ClientSpec

SHARDS = 3
UIDS = [str(1000 + n) for n in range(12)]


def _write_inventory(site: Site) -> None:
    props = [seaside(uid, reservations=[]) for uid in UIDS]
    site.inventory.write_text(json.dumps({"properties": props}), encoding="utf-8")


async def _all_shards(spawn: Spawn, *args: str, **env: str) -> list[WorkerProcess]:
    """``sync --once`` on every shard at the same time, as three replicas would."""
    workers = [
        await spawn("sync", "--once", *args, **env,
                    BOOKYFLOW_SHARD_COUNT=str(SHARDS), BOOKYFLOW_SHARD_INDEX=f"worker-{index}")
        for index in range(SHARDS)
    ]  # fmt: skip
    codes = await asyncio.gather(*(worker.wait() for worker in workers))
    assert codes == [0] * SHARDS, [worker.stdout[-3:] for worker in workers]
    return workers


@pytest.mark.slow  # over 3 s (--durations): real worker processes, run to their end
async def test_three_shards_create_every_property_exactly_once(site: Site, spawn: Spawn) -> None:
    """Three replicas over one config create each property once and deliver each booking once."""
    _write_inventory(site)
    await _all_shards(spawn)
    created = Counter(
        str(p["remote_uid"]) for p in site.sandbox.store.properties_of("demo", CHANNEL)
    )
    assert sorted(created) == UIDS
    assert set(created.values()) == {1}
    shard_dirs = [site.state_dir / f"shard-{index}" for index in range(SHARDS)]
    assert all((path / "state.db").is_file() for path in shard_dirs)
    hotels = {str(p["remote_uid"]): int(p["property_uid"])
              for p in site.sandbox.store.properties_of("demo", CHANNEL)}  # fmt: skip
    booked = {
        site.sandbox.store.book_on_site(hotels[uid], "2027-04-10", "2027-04-12")["booking_id"]
        for uid in UIDS
    }
    await _all_shards(spawn, "--job", "bookings")
    await _all_shards(spawn, "--job", "bookings")  # a second pull delivers nothing again
    delivered = Counter(
        json.loads(line)["booking"]["booking_id"]
        for path in shard_dirs
        for line in (path / "bookings.jsonl").read_text().splitlines()
    )
    assert set(delivered) == booked
    assert set(delivered.values()) == {1}


def _sites_toml(site: Site, path: Path) -> Path:
    tables = [
        ("alpha", "alpha", "secret-alpha-value"),
        ("bravo", "bravo", "secret-bravo-value"),
        ("charlie", "charlie", "wrong-charlie-secret"),
    ]
    body = "".join(
        f'[[sites]]\nname = "{name}"\napi_url = "{site.sandbox.api_url}"\n'
        f'client_id = "{client}"\nclient_secret = "{secret}"\n\n'
        for name, client, secret in tables
    )
    path.write_text(body, encoding="utf-8")
    return path


async def _properties_synced(worker: WorkerProcess, sites: set[str]) -> None:
    """Wait (bounded: ``tests.polling``) until each site's properties job has finished."""

    def done() -> set[str | None]:
        return {
            record.get("site")
            for record in worker.records
            if record["event"] == "job.finished" and record.get("job") == "properties"
        }

    await wait_until(
        lambda: sites <= done(), f"the properties job of {sorted(sites)}", every_s=0.05,
        gone=worker.gone,
    )  # fmt: skip


async def test_one_process_serves_many_sites_and_a_bad_one_waits(
    site: Site, spawn: Spawn, tmp_path: Path
) -> None:
    """Two sites sync in one ``run`` while the rejected one is reported; SIGTERM stops all (0)."""
    for name in ("alpha", "bravo"):
        spec = ClientSpec(name, f"secret-{name}-value", ("read", "write", "delete"))
        site.sandbox.store.add_client(spec)
    config = _sites_toml(site, tmp_path / "sites.toml")
    worker = await spawn("run", BOOKYFLOW_CONFIG_FILE=str(config))
    failed = await worker.event("site.failed")
    assert (failed["site"], failed["error_type"]) == ("charlie", "CredentialsRejected")
    await _properties_synced(worker, {"alpha", "bravo"})
    for name in ("alpha", "bravo"):
        assert len(site.sandbox.store.properties_of(name, CHANNEL)) == 3
    worker.proc.send_signal(signal.SIGTERM)
    assert await worker.wait() == 0
    assert_json_lines(worker)
    finished_sites = {r.get("site") for r in worker.records if r["event"] == "job.finished"}
    assert finished_sites <= {"alpha", "bravo"}
    assert finished_sites
    assert (site.state_dir / "heartbeat.json").is_file()
    assert (site.state_dir / "alpha" / "state.db").is_file()
    output = "\n".join(worker.stdout + worker.stderr)
    assert "secret-alpha-value" not in output
    assert "wrong-charlie-secret" not in output


@pytest.mark.slow  # over 3 s: three real worker processes
async def test_three_shards_over_many_sites_serve_each_site_exactly_once(
    site: Site, spawn: Spawn, tmp_path: Path
) -> None:
    """One 9-site configuration, 3 shard processes: every site is synced by exactly one shard
    (sites are sharded by API URL, so each has its own), and its properties exist once."""
    labels = [f"hotel-{n}" for n in range(9)]
    inventory = tmp_path / "nine.json"
    props = [seaside(uid, reservations=[]) for uid in UIDS[:2]]
    inventory.write_text(json.dumps({"properties": props}), encoding="utf-8")
    tables = []
    for label in labels:
        site.sandbox.store.add_client(
            ClientSpec(label, f"secret-{label}-value", ("read", "write", "delete"))
        )
        port = await site.sandbox.listen_also()
        tables.append(
            f'[[sites]]\nname = "{label}"\napi_url = "http://127.0.0.1:{port}/bookyflow/api"\n'
            f'client_id = "{label}"\nclient_secret = "secret-{label}-value"\n'
            f'inventory = "{inventory}"\n'
        )
    config = tmp_path / "nine.toml"
    config.write_text("\n".join(tables), encoding="utf-8")
    workers = await _all_shards(spawn, "--job", "properties", BOOKYFLOW_CONFIG_FILE=str(config))
    served = [
        {r["site"] for r in worker.records if r["event"] == "job.finished" and "site" in r}
        for worker in workers
    ]
    assert sorted(label for shard in served for label in shard) == labels  # once each
    for label in labels:
        created = Counter(
            str(p["remote_uid"]) for p in site.sandbox.store.properties_of(label, CHANNEL)
        )
        assert created == Counter(UIDS[:2]), label
