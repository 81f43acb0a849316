"""Prometheus metrics for a process: a Temporal runtime whose exporter serves the SDK's runtime
metrics (workers, polls, activities, client RPCs) and the product's (`domain.product_metrics`).

A worker serves the exporter on its metrics port as is (`/metrics`). The bot serves the same text
at `/metrics` on its own port, read from an exporter bound to a loopback port of its own."""

from __future__ import annotations

import socket
from dataclasses import dataclass

import aiohttp
from aiohttp import web
from temporalio.runtime import PrometheusConfig, Runtime, TelemetryConfig

from domain.product_metrics import BUCKETS

SCRAPE_TIMEOUT = aiohttp.ClientTimeout(total=5)


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


def mount_metrics(http: web.Application, export: PrometheusExport) -> None:
    async def metrics(_: web.Request) -> web.Response:
        try:
            text = await export.scrape()
        except (aiohttp.ClientError, TimeoutError) as err:
            return web.Response(status=503, text=f"metrics exporter unavailable: {err}\n")
        return web.Response(text=text, content_type="text/plain", charset="utf-8")

    http.router.add_get("/metrics", metrics)
