"""How Slack reaches the bot: HTTP (one endpoint for commands, interactivity and events, plus
/health, /livez and /readyz) or Socket Mode when SLACK_APP_TOKEN is set."""

from __future__ import annotations

import logging

from aiohttp import web
from slack_bolt.adapter.aiohttp import to_aiohttp_response
from slack_bolt.adapter.socket_mode.aiohttp import AsyncSocketModeHandler
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.errors import SlackApiError
from temporalio.client import Client

from bot.api.app import mount_api
from bot.api.framework import Api
from bot.health import add_probe_routes, json_response, temporal_ok
from bot.slack.after_ack import AfterAck
from bot.slack.error_answers import error_answer
from bot.slack.request_gate import Refusal, RequestGate

log = logging.getLogger(__name__)


def web_app(
    app: AsyncApp, temporal: Client, signing_secret: str, after_ack: AfterAck, api: Api
) -> web.Application:
    gate = RequestGate(signing_secret)

    async def slack_events(request: web.Request) -> web.Response:
        admitted = gate.admit(await request.read(), request.query_string, request.headers)
        if isinstance(admitted, Refusal):
            gate.log.refused(admitted.kind, request.remote)
            return web.Response(status=admitted.status, text=admitted.kind)
        async with after_ack.answering():
            try:
                answer = await app.async_dispatch(admitted)
            except Exception:  # Bolt's own parsing of an odd (signed) payload
                gate.log.refused("signed payload Bolt cannot read", request.remote)
                answer = error_answer(admitted.body)
            return await to_aiohttp_response(answer)

    async def health(_: web.Request) -> web.Response:
        # For people: both connections. Probes use /livez and /readyz (Temporal only: a Slack
        # hiccup must not take every bot replica out of service at once).
        return json_response(
            {"slack": await _slack_ok(app), "temporal": await temporal_ok(temporal)}
        )

    http = web.Application()
    http.router.add_post("/slack/events", slack_events)
    http.router.add_get("/health", health)
    add_probe_routes(http, temporal)
    mount_api(http, api)
    return http


async def _slack_ok(app: AsyncApp) -> bool:
    try:
        return bool((await app.client.auth_test())["ok"])
    except (SlackApiError, OSError) as err:
        log.warning("health: Slack unreachable: %s", err)
        return False


async def start_http(
    app: AsyncApp,
    temporal: Client,
    signing_secret: str,
    after_ack: AfterAck,
    api: Api,
    *,
    host: str,
    port: int,
) -> web.AppRunner:
    runner = web.AppRunner(web_app(app, temporal, signing_secret, after_ack, api), access_log=None)
    await runner.setup()
    await web.TCPSite(runner, host, port).start()
    return runner


async def start_socket_mode(app: AsyncApp, app_token: str) -> AsyncSocketModeHandler:
    handler = AsyncSocketModeHandler(app, app_token)
    await handler.connect_async()  # type: ignore[no-untyped-call]  # Bolt lacks the hint
    return handler
