"""The worker's HTTP endpoint: /metrics in the Prometheus text format and /health as JSON."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import orjson
from aiohttp import web
from mode import Service
from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

log = logging.getLogger(__name__)

# (healthy, details): unhealthy answers 503, so a load balancer or orchestrator can see it.
HealthCheck = Callable[[], tuple[bool, dict[str, Any]]]


class MetricsServer(Service):
    def __init__(self, host: str, port: int, health: HealthCheck, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._host, self._port = host, port
        self._health = health
        self._runner: web.AppRunner | None = None

    async def _metrics(self, _request: web.Request) -> web.Response:
        return web.Response(body=generate_latest(REGISTRY), headers={"Content-Type": CONTENT_TYPE_LATEST})

    async def _health_view(self, _request: web.Request) -> web.Response:
        healthy, details = self._health()
        return web.Response(body=orjson.dumps(details), status=200 if healthy else 503, content_type="application/json")

    async def on_start(self) -> None:
        application = web.Application()
        application.router.add_get("/metrics", self._metrics)
        application.router.add_get("/health", self._health_view)
        self._runner = web.AppRunner(application, access_log=None)
        await self._runner.setup()
        await web.TCPSite(self._runner, self._host, self._port).start()
        log.info("metrics on http://%s:%d/metrics, health on /health", self._host, self._port)

    async def on_stop(self) -> None:
        if self._runner is not None:
            await self._runner.cleanup()
