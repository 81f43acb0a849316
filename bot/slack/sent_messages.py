"""Exactly-once messages on Slack, which has no idempotency key for chat.postMessage.

Each message carries its key in Slack's message metadata. An activity retry (after a timeout,
a lost answer or a worker crash) first reads the conversation's latest messages for that key
and reuses a message found there instead of posting it again. Slack's errors are sorted into
trouble worth another try after the delay Slack asked for (429 Retry-After, 5xx, timeouts)
and errors no retry can fix (channel_not_found, user_not_found, account_inactive, ...).
"""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from temporalio import activity

from activities.notifier import NotDeliveredYet, Undeliverable
from bot.slack.channels import ChannelUnreachable
from bot.slack.ops_alerts import error_code, transient_delay
from domain import product_metrics

log = logging.getLogger(__name__)

SENT_EVENT = "purchasebot_message"
# How far back a retry looks: the bot's own message is among the newest in a DM (a retry comes
# seconds to minutes after the attempt it repeats).
LOOKBACK = 50


async def find_sent(client: AsyncWebClient, channel: str, key: str) -> str | None:
    """The ts of a message already sent under `key` in `channel`, if any. When Slack refuses
    the lookup for good (an installation without the history scopes), None: a possible
    duplicate is better than a message never sent."""
    try:
        history = await client.conversations_history(
            channel=channel, limit=LOOKBACK, include_all_metadata=True
        )
    except SlackApiError as err:
        if transient_delay(err) is not None:
            raise
        log.warning("cannot look for a message already sent (%s): sending it", error_code(err))
        return None
    for message in history.get("messages") or []:
        metadata = message.get("metadata") or {}
        payload = metadata.get("event_payload") or {}
        if metadata.get("event_type") == SENT_EVENT and payload.get("key") == key:
            return str(message["ts"])
    return None


@contextlib.asynccontextmanager
async def slack_trouble(what: str) -> AsyncIterator[None]:
    """Slack's errors as NotDeliveredYet (retry after a delay) or Undeliverable (never)."""
    try:
        yield
    except (SlackApiError, TimeoutError, aiohttp.ClientError) as err:
        if activity.in_activity():
            product_metrics.slack_api_error(activity.metric_meter(), error_code(err))
        delay = transient_delay(err)
        if delay is not None:
            raise NotDeliveredYet(f"{what}: {error_code(err)}", delay) from err
        raise Undeliverable(f"{what}: {error_code(err)}") from err
    except ChannelUnreachable as err:
        raise Undeliverable(f"{what}: {err}") from err
