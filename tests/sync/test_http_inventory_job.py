"""The jobs fed by the HTTP inventory source (``BOOKYFLOW_INVENTORY=http://127.0.0.1:...``)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.inventory.vendor_server import VendorServer
from tests.sync.conftest import HarnessFactory
from tests.sync.support import seaside
from worker.sandbox import Sandbox
from worker.vendor_io import make_source


@pytest.fixture
async def vendor() -> AsyncIterator[VendorServer]:
    server = await VendorServer(token="job-token-77aa").start()
    yield server
    await server.close()


async def test_the_properties_job_syncs_from_the_vendors_url(
    sandbox: Sandbox, harness_for: HarnessFactory, vendor: VendorServer, tmp_path: Path
) -> None:
    """Through make_source: created from the URL; an unchanged document costs 304s only."""
    token = tmp_path / "token"
    token.write_text("job-token-77aa", encoding="utf-8")
    harness = await harness_for(
        sandbox, inventory=vendor.url, inventory_token_file=token, state_dir=tmp_path / "s"
    )
    prop = seaside("1001")
    vendor.serve({"properties": [{**prop, "content": harness.publishable(prop)}]})
    harness.context.source = make_source(harness.settings)
    assert (await harness.run("properties")).counts["created"] == 1
    assert (await harness.run("ari")).ok
    assert vendor.statuses == [200, 304]
    assert [str(p["remote_uid"]) for p in harness.site_properties()] == ["1001"]
