"""The bot's Slack Web API calls count their failures in `purchasebot_slack_api_errors`, as the
worker's notification activities count theirs: ops watching Slack's error rate see the bot's
own calls too (App Home views, ephemeral answers, modals, ops alerts).

Bolt gives each request's listeners a new client copied from the app's (`_init_context`), so
a subclass of the app's client alone would miss them: `count_slack_errors` swaps the metered
one into each request's context."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp
from slack_bolt.context.async_context import AsyncBoltContext
from slack_bolt.response import BoltResponse
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse
from temporalio.common import MetricMeter

from bot.slack.ops_alerts import error_code
from domain import product_metrics

Middleware = Callable[
    [AsyncBoltContext, Callable[[], Awaitable[BoltResponse]]], Awaitable[BoltResponse | None]
]


class MeteredWebClient(AsyncWebClient):
    def __init__(self, *, meter: MetricMeter, **client_args: Any) -> None:
        super().__init__(**client_args)
        self._meter = meter

    async def api_call(self, api_method: str, **call_args: Any) -> AsyncSlackResponse:
        try:
            return await super().api_call(api_method, **call_args)
        except (SlackApiError, TimeoutError, aiohttp.ClientError) as err:
            product_metrics.slack_api_error(self._meter, error_code(err))
            raise


def metered(client: AsyncWebClient, meter: MetricMeter) -> MeteredWebClient:
    """`client`'s settings (token, URL, session, retries: what Bolt copies), counted in `meter`."""
    return MeteredWebClient(
        meter=meter,
        token=client.token,
        base_url=client.base_url,
        timeout=client.timeout,
        ssl=client.ssl,
        proxy=client.proxy,
        session=client.session,
        trust_env_in_session=client.trust_env_in_session,
        headers=client.headers,
        team_id=client.default_params.get("team_id"),
        logger=client.logger,
        retry_handlers=list(client.retry_handlers),
    )


def count_slack_errors(meter: MetricMeter) -> Middleware:
    """A Bolt middleware: the request's listeners get a metered client."""

    async def middleware(
        context: AsyncBoltContext, next: Callable[[], Awaitable[BoltResponse]]
    ) -> BoltResponse | None:
        context["client"] = metered(context.client, meter)
        return await next()

    return middleware
