"""The alert rules and the dashboard against the real thing: a Prometheus scraping a real worker.

One stack for the module: the embedded sandbox (in-process, its images on a local host), a
``bookyflow-worker run`` subprocess syncing against it with short job intervals and
``BOOKYFLOW_HEALTH_PORT`` set, and a ``prometheus`` subprocess scraping that port every second
with ``alerts.yml`` as its rule file, evaluated every second. Once the target is up, every job has
run and a fault has made the worker retry, Prometheus's HTTP API is asked whether every rule loaded
healthy, whether every alert and dashboard expression runs, whether each reads only series the
worker exports, and whether each dashboard query returns series. Every process is stopped at
teardown, whatever happened. Skipped, with one line, where ``prometheus`` is not installed
(Debian package ``prometheus``; ``.ci/run`` installs it).
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import socket
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import aiohttp
import pytest
import pytest_asyncio

from tests.ops.monitoring import (
    ALERTS,
    alert_rules,
    dashboard,
    expand,
    label_values,
    legend_labels,
    matchers,
    metric_names,
    panel_queries,
)
from worker.sandbox import DEFAULT_CLIENT, Sandbox
from worker.sandbox.image_host import ImageHost, rehost_images

PROMETHEUS = shutil.which("prometheus")
if PROMETHEUS is None:
    pytest.skip("prometheus not installed (Debian package `prometheus`)", allow_module_level=True)

# The first test also pays for starting and settling the stack (~15 s, READY_WITHIN_S at most).
pytestmark = [
    pytest.mark.slow,
    pytest.mark.timeout(90),
    pytest.mark.asyncio(loop_scope="module"),
]

REPO = Path(__file__).resolve().parents[2]
EXAMPLE_INVENTORY = REPO / "config" / "inventory.example.json"
SCRAPE_JOB = "bookyflow"
READY_WITHIN_S = 40.0
# What Grafana would put in for its own variables at a 1 s scrape interval (rounded up, so that a
# window always holds several scrapes of this short run).
GRAFANA_VARIABLES = {"__rate_interval": "30s", "__interval": "2s", "__range": "5m"}


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _log_file(path: Path) -> IO[bytes]:
    return path.open("wb")


def _tail(path: Path, lines: int = 15) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])


@dataclass
class Process:
    """A subprocess of the stack, its output going to a file."""

    name: str
    proc: asyncio.subprocess.Process
    log: Path

    async def stop(self) -> None:
        if self.proc.returncode is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()

    def tail(self) -> str:
        return f"--- {self.name} (exit {self.proc.returncode}):\n{_tail(self.log)}"


async def start_process(name: str, args: list[str], env: dict[str, str], cwd: Path) -> Process:
    log = cwd / f"{name}.log"
    with _log_file(log) as output:
        proc = await asyncio.create_subprocess_exec(
            *args, env=env, cwd=cwd, stdout=output, stderr=asyncio.subprocess.STDOUT
        )
    return Process(name, proc, log)


class PrometheusAPI:
    """The few calls of Prometheus's HTTP API these tests make; every answer must be a success."""

    def __init__(self, session: aiohttp.ClientSession, base_url: str) -> None:
        self.session, self.base_url = session, base_url

    async def get(self, path: str, **params: str) -> Any:
        async with self.session.get(f"{self.base_url}{path}", params=params) as response:
            body = await response.json()
        assert body["status"] == "success", (path, params, body)
        return body["data"]

    async def query(self, expr: str) -> list[dict[str, Any]]:
        data = await self.get("/api/v1/query", query=expr)
        return list(data["result"])

    async def query_range(self, expr: str, seconds: float = 20.0) -> list[dict[str, Any]]:
        now = time.time()
        data = await self.get(
            "/api/v1/query_range", query=expr, start=str(now - seconds), end=str(now), step="2"
        )
        return list(data["result"])

    async def names(self) -> set[str]:
        return set(await self.get("/api/v1/label/__name__/values"))

    async def labels_of(self, metric: str) -> set[str]:
        """Every label name the stored series of ``metric`` carry."""
        series = await self.get("/api/v1/series", **{"match[]": metric})
        return {label for one in series for label in one}


@dataclass
class Stack:
    api: PrometheusAPI
    sandbox: Sandbox
    site: str
    processes: list[Process]

    def tails(self) -> str:
        return "\n".join(process.tail() for process in self.processes)


def _worker_env(sandbox: Sandbox, inventory: Path, state_dir: Path, port: int) -> dict[str, str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("BOOKYFLOW_")}
    return base | {
        "BOOKYFLOW_API_URL": sandbox.api_url,
        "BOOKYFLOW_CLIENT_ID": DEFAULT_CLIENT.client_id,
        "BOOKYFLOW_CLIENT_SECRET": DEFAULT_CLIENT.secret,
        "BOOKYFLOW_CHANNEL_NAME": "prometheus-channel",
        "BOOKYFLOW_INVENTORY": str(inventory),
        "BOOKYFLOW_STATE_DIR": str(state_dir),
        "BOOKYFLOW_HEALTH_HOST": "127.0.0.1",
        "BOOKYFLOW_HEALTH_PORT": str(port),
        "BOOKYFLOW_HTTP__RATE_LIMIT_PER_S": "500",
        "BOOKYFLOW_HTTP__RATE_LIMIT_BURST": "100",
        "BOOKYFLOW_JOBS__PROPERTIES__INTERVAL_S": "2",
        "BOOKYFLOW_JOBS__ARI__INTERVAL_S": "2",
        "BOOKYFLOW_JOBS__RESERVATIONS__INTERVAL_S": "1",
        "BOOKYFLOW_JOBS__BOOKINGS__INTERVAL_S": "1",
        "BOOKYFLOW_GRACE_S": "5",
    }


def _prometheus_config(directory: Path, worker_port: int) -> Path:
    config = {
        "global": {"scrape_interval": "1s", "scrape_timeout": "1s", "evaluation_interval": "1s"},
        "rule_files": [str(ALERTS)],
        "scrape_configs": [
            {"job_name": SCRAPE_JOB, "static_configs": [{"targets": [f"127.0.0.1:{worker_port}"]}]}
        ],
    }
    path = directory / "prometheus.yml"
    path.write_text(json.dumps(config), encoding="utf-8")  # JSON is YAML
    return path


def _inventory(directory: Path, images: ImageHost) -> Path:
    document = json.loads(EXAMPLE_INVENTORY.read_text(encoding="utf-8"))
    path = directory / "inventory.json"
    path.write_text(json.dumps(rehost_images(document, images)), encoding="utf-8")
    return path


async def _start_worker(
    sandbox: Sandbox, images: ImageHost, directory: Path, health_port: int
) -> Process:
    inventory = _inventory(directory, images)
    env = _worker_env(sandbox, inventory, directory / "state", health_port)
    return await start_process("worker", [sys.executable, "-m", "worker", "run"], env, directory)


async def _start_prometheus(directory: Path, worker_port: int, port: int) -> Process:
    assert PROMETHEUS is not None
    args = [
        PROMETHEUS,
        f"--config.file={_prometheus_config(directory, worker_port)}",
        f"--storage.tsdb.path={directory / 'tsdb'}",
        f"--web.listen-address=127.0.0.1:{port}",
        "--log.level=warn",
    ]
    return await start_process("prometheus", args, dict(os.environ), directory)


async def _eventually(
    what: str, check: Callable[[], Awaitable[bool]], deadline: float, stack: Stack
) -> None:
    """Wait (bounded by ``deadline``, monotonic) until ``check()`` holds."""
    while True:
        try:
            if await check():
                return
        except (aiohttp.ClientError, AssertionError):
            pass  # Prometheus still starting, or the series not there yet
        dead = [p for p in stack.processes if p.proc.returncode is not None]
        if dead or time.monotonic() > deadline:
            raise AssertionError(f"never {what}\n{stack.tails()}")
        await asyncio.sleep(0.5)


async def _settle(stack: Stack) -> None:
    """Until the worker is scraped, every job has succeeded, it has retried, the rules ran."""
    api, deadline = stack.api, time.monotonic() + READY_WITHIN_S

    async def has(expr: str) -> bool:
        return bool(await api.query(expr))

    async def every_job_succeeded() -> bool:
        jobs = await api.query("count by (exported_job) (bookyflow_job_interval_seconds)")
        not_yet = await api.query(
            "count by (exported_job) (bookyflow_job_interval_seconds) unless on (exported_job)"
            ' (bookyflow_job_runs_total{outcome="ok"} > 0)'
        )
        return bool(jobs) and not not_yet

    async def rules_evaluated() -> bool:
        rules = [r for g in (await api.get("/api/v1/rules"))["groups"] for r in g["rules"]]
        return bool(rules) and all(rule["health"] != "unknown" for rule in rules)

    await _eventually(
        "scraped the worker", lambda: has(f'up{{job="{SCRAPE_JOB}"}} == 1'), deadline, stack
    )
    await _eventually("saw every job succeed", every_job_succeeded, deadline, stack)
    stack.sandbox.faults.fail_next(503, times=2)  # a retry, and a 5xx status class
    await _eventually(
        "saw a retry", lambda: has("sum(bookyflow_http_retries_total) > 0"), deadline, stack
    )
    await _eventually(
        "held 10 scrapes",
        lambda: has(f'count_over_time(up{{job="{SCRAPE_JOB}"}}[1m]) >= 10'),
        deadline,
        stack,
    )
    await _eventually("evaluated every rule", rules_evaluated, deadline, stack)
    sites = await api.query("bookyflow_site_ready")
    stack.site = sites[0]["metric"]["site"]


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Stack]:
    """Sandbox, worker and Prometheus, running and settled; all stopped at teardown."""
    directory = tmp_path_factory.mktemp("prometheus-live")
    worker_port, prometheus_port = free_port(), free_port()
    async with AsyncExitStack() as exits:
        images = await exits.enter_async_context(ImageHost())
        sandbox = await exits.enter_async_context(Sandbox())
        worker = await _start_worker(sandbox, images, directory, worker_port)
        exits.push_async_callback(worker.stop)
        prometheus = await _start_prometheus(directory, worker_port, prometheus_port)
        exits.push_async_callback(prometheus.stop)
        session = await exits.enter_async_context(
            aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10))
        )
        api = PrometheusAPI(session, f"http://127.0.0.1:{prometheus_port}")
        live = Stack(api, sandbox, "", [worker, prometheus])
        await _settle(live)
        yield live


async def test_every_rule_is_loaded_and_healthy(stack: Stack) -> None:
    """Prometheus loaded every alert of alerts.yml and evaluates each without an error."""
    groups = (await stack.api.get("/api/v1/rules"))["groups"]
    loaded = {rule["name"]: rule for group in groups for rule in group["rules"]}
    assert set(loaded) == {rule.name for rule in alert_rules()}
    unhealthy = {
        name: rule.get("lastError") for name, rule in loaded.items() if rule["health"] != "ok"
    }
    assert unhealthy == {}


async def test_every_alert_expression_runs_on_exported_series(stack: Stack) -> None:
    """Each alert expression runs, and every series it reads is one the worker exports."""
    exported = await stack.api.names()
    for rule in alert_rules():
        await stack.api.query(rule.expr)  # a parse or evaluation error fails here
        missing = metric_names(rule.expr) - exported
        assert missing == set(), rule.name


async def test_every_dashboard_query_returns_series(stack: Stack) -> None:
    """Each panel query, variables substituted as Grafana would, runs and returns series."""
    exported = await stack.api.names()
    values = GRAFANA_VARIABLES | {"site": stack.site, "instance": ".*"}
    empty, unlabelled = [], []
    for query in panel_queries(dashboard()):
        assert metric_names(query.expr) <= exported, query
        variable = label_values(query.expr)
        if variable is not None:
            metric, label = variable
            found = await stack.api.get(f"/api/v1/label/{label}/values", **{"match[]": metric})
            assert found, query
            continue
        series = await stack.api.query_range(expand(query.expr, values))
        if not series:
            empty.append(query.where)
        if any(legend_labels(query.legend) - one["metric"].keys() for one in series):
            unlabelled.append(query.where)
    assert empty == []
    assert unlabelled == []  # a legend naming a label its series do not carry


async def test_every_label_the_expressions_name_is_exported(stack: Stack) -> None:
    """Labels matched in selectors, and those an alert's text shows, are on the series read."""
    exprs = [rule.expr for rule in alert_rules()]
    exprs += [query.expr for query in panel_queries(dashboard())]
    matched = {(metric, label) for expr in exprs for metric, label, _, _ in matchers(expr)}
    assert matched, "no matcher found: the check would prove nothing"
    missing = [
        pair for pair in sorted(matched) if pair[1] not in await stack.api.labels_of(pair[0])
    ]
    assert missing == []
    for rule in alert_rules():
        shown = set(re.findall(r"\$labels\.(\w+)", " ".join(rule.annotations.values())))
        carried = [await stack.api.labels_of(metric) for metric in metric_names(rule.expr)]
        assert shown <= set.intersection(*carried), rule.name


async def test_site_variable_lists_the_workers_site(stack: Stack) -> None:
    """The dashboard's Site variable offers the label the worker gives its site."""
    board = dashboard()
    site = next(v for v in board["templating"]["list"] if v["name"] == "site")
    variable = label_values(site["definition"])
    assert variable is not None
    metric, label = variable
    assert await stack.api.get(f"/api/v1/label/{label}/values", **{"match[]": metric}) == [
        stack.site
    ]
