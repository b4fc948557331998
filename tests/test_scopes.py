"""Scopes: one parser; what a worker asks for and checks comes only from its jobs' ``scopes``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from worker.scopes import PRUNE_SCOPES, START_SCOPES, needed_by, parse_scopes, to_request
from worker.service import Worker
from worker.settings import Settings
from worker.sync.jobs import JOBS

OFF = {"enabled": False, "interval_s": 60}


def _settings(tmp_path: Path, **extra: Any) -> Settings:
    return Settings(
        api_url="http://127.0.0.1:9", client_id="demo", client_secret="s3cret-demo",
        channel_name="acme", state_dir=tmp_path, **extra,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("raw", "parsed"),
    [("read,write  read", ("read", "write")), (" delete ", ("delete",)), ("", ()), (None, ())],
)
def test_scope_lists_split_on_spaces_and_commas(raw: str | None, parsed: tuple[str, ...]) -> None:
    """Spaces or commas separate names; each name once, first occurrence first; none is ()."""
    assert parse_scopes(raw) == parsed


def test_needed_scopes_are_the_jobs_own() -> None:
    """Every job's ``scopes`` in run order, each once; prune adds its own."""
    assert needed_by(JOBS.values()) == ("read", "write", "delete")
    assert needed_by([JOBS["bookings"]]) == ("read",)
    assert needed_by([JOBS["bookings"]], prune=True) == ("read", *PRUNE_SCOPES)


def test_a_worker_asks_for_what_its_jobs_and_its_start_up_need(tmp_path: Path) -> None:
    """Only the bookings job enabled: the preflight checks read; the token asks for the
    announce's write too. ``BOOKYFLOW_SCOPES``, when set, is asked for as written."""
    jobs = {name: OFF for name in ("properties", "ari", "reservations")}
    worker = Worker(_settings(tmp_path, jobs=jobs))
    assert worker.needed_scopes == ("read",)
    assert worker.settings.requested_scopes == to_request(("read",)) == START_SCOPES
    explicit = Worker(_settings(tmp_path, jobs=jobs, scopes="read,delete"))
    assert explicit.settings.requested_scopes == ("read", "delete")


def test_every_job_enabled_asks_for_every_scope(tmp_path: Path) -> None:
    """The default worker runs every job: read, write and delete (reopening a closure)."""
    assert Worker(_settings(tmp_path)).settings.requested_scopes == ("read", "write", "delete")
