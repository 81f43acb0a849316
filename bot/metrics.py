"""Prometheus metrics for a process: a Temporal runtime whose exporter serves the SDK's runtime
metrics (workers, polls, activities, client RPCs) and the product's (`domain.product_metrics`).

A worker serves the exporter on its metrics port as is (`/metrics`). The bot serves the same text
at `/metrics` on its own port, read from an exporter bound to a loopback port of its own; before
each scrape it reads the deployment's routing for the rollout percentage (`RolloutGauge`)."""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

import aiohttp
from aiohttp import web
from temporalio.common import MetricMeter
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from activities.worker_deployments import DeploymentView
from domain.product_metrics import BUCKETS, rollout_percentage

log = logging.getLogger(__name__)

SCRAPE_TIMEOUT = aiohttp.ClientTimeout(total=5)
# A scrape waits this long for the deployment's routing; then it serves the last value.
ROUTING_TIMEOUT_S = 2.0


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return int(s.getsockname()[1])


@dataclass(frozen=True)
class PrometheusExport:
    runtime: Runtime
    address: str
    """host:port where the SDK's exporter listens."""

    @classmethod
    def start(cls, host: str = "127.0.0.1", port: int = 0) -> PrometheusExport:
        """port 0: a free port on `host` (the bot reads it and serves it on its own port)."""
        address = f"{host}:{port or _free_port(host)}"
        config = PrometheusConfig(
            bind_address=address,
            counters_total_suffix=True,
            durations_as_seconds=True,
            histogram_bucket_overrides=BUCKETS,
        )
        return cls(Runtime(telemetry=TelemetryConfig(metrics=config)), address)

    async def scrape(self) -> str:
        async with (
            aiohttp.ClientSession(timeout=SCRAPE_TIMEOUT) as http,
            http.get(f"http://{self.address}/metrics") as response,
        ):
            response.raise_for_status()
            return await response.text()


@dataclass
class RolloutGauge:
    """`purchasebot_rollout_percentage{deployment, build_id, role}`: the share of new requests
    routed to the current build (100 less the ramp) and to the ramping build (the ramp; the
    dashboard's `rollout_percentage`), as the Worker Deployment's routing says when /metrics is
    scraped. A build that lost its role is shown at 0 (a gauge's series cannot be removed).
    Department rollouts pin one department's requests and are not in these shares."""

    meter: MetricMeter
    describe: Callable[[], Awaitable[DeploymentView]]
    _shown: set[tuple[str, str]] = field(default_factory=set)

    async def refresh(self) -> None:
        try:
            view = await asyncio.wait_for(self.describe(), ROUTING_TIMEOUT_S)
        except Exception:  # the rest of the metrics are still worth serving
            log.warning("rollout percentage: the deployment's routing was not read", exc_info=True)
            return
        ramp = view.ramp_percent if view.ramping_build else 0.0
        shares = {}
        if view.current_build:
            shares[(view.current_build, "current")] = 100.0 - ramp
        if view.ramping_build:
            shares[(view.ramping_build, "ramping")] = ramp
        for build_id, role in self._shown - shares.keys():
            rollout_percentage(self.meter, view.name, build_id, role, 0.0)
        for (build_id, role), percent in shares.items():
            rollout_percentage(self.meter, view.name, build_id, role, percent)
        self._shown |= shares.keys()


def mount_metrics(
    http: web.Application,
    export: PrometheusExport,
    before_scrape: Callable[[], Awaitable[None]] | None = None,
) -> None:
    """`before_scrape`: brings gauges up to date (e.g. `RolloutGauge.refresh`)."""

    async def metrics(_: web.Request) -> web.Response:
        if before_scrape is not None:
            await before_scrape()
        try:
            text = await export.scrape()
        except (aiohttp.ClientError, TimeoutError) as err:
            return web.Response(status=503, text=f"metrics exporter unavailable: {err}\n")
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    http.router.add_get("/metrics", metrics)
