"""``GET /healthz /readyz /metrics`` on ``aiohttp.web`` (the house's one HTTP server library).

``/healthz`` answers 200 while the process serves; ``/readyz`` 200 when ready, else 503;
``/metrics`` the Prometheus text that ``prometheus-client`` renders from the process's registry
(``worker.telemetry.Telemetry.render``). HEAD works on each; other methods get 405, other paths
404. A port already taken is a ``ConfigError`` naming ``host:port`` (exit 78), not a traceback.
"""

from __future__ import annotations

import errno
from collections.abc import Callable

from aiohttp import web

from worker.errors import ConfigError
from worker.logging import get_logger
from worker.telemetry import CONTENT_TYPE

__all__ = ["HealthServer"]

log = get_logger("worker.health")
# In a container the probe comes from outside (kubelet, compose): every interface by default.
ALL_INTERFACES = "0.0.0.0"  # noqa: S104 - deliberate, see above


class HealthServer:
    """The health endpoints of one process (one worker, or a supervisor's many sites).

    A worker is ready once started, with a valid token and its site's breaker closed
    (``Worker.ready``; a supervisor: at least one site); while a site is down at start-up, or its
    breaker is open, ``/readyz`` answers 503 and ``/healthz`` 200: the process is alive, it is
    the site that is not.
    """

    def __init__(
        self,
        ready: Callable[[], bool],
        metrics: Callable[[], bytes],
        *,
        host: str = ALL_INTERFACES,
        port: int = 0,
    ) -> None:
        self._ready, self._metrics = ready, metrics
        self.host, self.port = host, port
        self._runner: web.AppRunner | None = None

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_get("/healthz", self._healthz)
        app.router.add_get("/readyz", self._readyz)
        app.router.add_get("/metrics", self._metrics_page)
        return app

    async def start(self) -> None:
        """Listen on ``host:port`` (port 0: any free one, read back into ``port``)."""
        runner = web.AppRunner(self.app(), access_log=None, handle_signals=False)
        await runner.setup()
        try:
            site = web.TCPSite(runner, self.host, self.port)
            await site.start()
        except OSError as exc:
            await runner.cleanup()
            raise ConfigError(_listen_error(self.host, self.port, exc)) from None
        self._runner = runner
        self.port = int(runner.addresses[0][1])
        log.info("health.listening", host=self.host, port=self.port)

    async def close(self) -> None:
        runner, self._runner = self._runner, None
        if runner is not None:
            await runner.cleanup()

    async def _healthz(self, request: web.Request) -> web.Response:
        return web.Response(text="ok\n")

    async def _readyz(self, request: web.Request) -> web.Response:
        if self._ready():
            return web.Response(text="ok\n")
        return web.Response(status=503, text="not ready\n")

    async def _metrics_page(self, request: web.Request) -> web.Response:
        response = web.Response(body=self._metrics())
        response.headers["Content-Type"] = CONTENT_TYPE
        return response


def _listen_error(host: str, port: int, exc: OSError) -> str:
    where = f"{host}:{port}"
    if exc.errno == errno.EADDRINUSE:
        why = "the address is already in use (another process listens there)"
    elif exc.errno == errno.EADDRNOTAVAIL:
        why = "the address is not one of this host's"
    else:
        why = exc.strerror or type(exc).__name__
    return (
        f"cannot serve the health endpoints on {where}: {why}; "
        "choose another BOOKYFLOW_HEALTH_PORT or BOOKYFLOW_HEALTH_HOST"
    )
