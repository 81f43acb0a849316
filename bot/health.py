"""Liveness and readiness over HTTP, as container runtimes probe them.

`/livez`: the process answers (restart it if not). `/readyz`: it can do its work now, i.e. the
Temporal server answers (send it no traffic, or count it out of a rollout, if not).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import timedelta

from aiohttp import web
from temporalio.client import Client

log = logging.getLogger(__name__)

HEALTH_CHECK_TIMEOUT = timedelta(seconds=2)


def json_response(checks: Mapping[str, bool]) -> web.Response:
    ok = all(checks.values())
    return web.Response(
        status=200 if ok else 503,
        content_type="application/json",
        text=json.dumps({"ok": ok, **checks}),
    )


async def temporal_ok(temporal: Client) -> bool:
    try:
        return await temporal.service_client.check_health(timeout=HEALTH_CHECK_TIMEOUT)
    except Exception as err:  # any failure means "not ready"; the reason is logged
        log.warning("health: Temporal unreachable: %s", err)
        return False


def add_probe_routes(
    http: web.Application,
    temporal: Client,
    *,
    serving: Callable[[], Awaitable[bool]] | None = None,
) -> None:
    """`serving`: an extra readiness check of the process's own parts (e.g. workers running)."""

    async def livez(_: web.Request) -> web.Response:
        return json_response({"alive": True})

    async def readyz(_: web.Request) -> web.Response:
        checks = {"temporal": await temporal_ok(temporal)}
        if serving is not None:
            checks["serving"] = await serving()
        return json_response(checks)

    http.router.add_get("/livez", livez)
    http.router.add_get("/readyz", readyz)


async def serve_probes(
    temporal: Client,
    host: str,
    port: int,
    *,
    serving: Callable[[], Awaitable[bool]] | None = None,
    more_routes: Callable[[web.Application], None] | None = None,
) -> web.AppRunner:
    """A probe server: probes only for workers; the bot in Socket Mode adds its API here."""
    http = web.Application()
    add_probe_routes(http, temporal, serving=serving)
    if more_routes is not None:
        more_routes(http)
    runner = web.AppRunner(http, access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner
