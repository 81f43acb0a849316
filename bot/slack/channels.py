"""Posting in a public channel the way real Slack allows it.

Slack refuses `chat.postMessage` to a public channel the bot is not a member of
(`not_in_channel`) unless the app holds chat:write.public. The bot joins instead
(`conversations.join`, scope channels:join, which takes the channel's id: a name is looked up
with `conversations.list`, scope channels:read) and posts again. Joining on demand, rather
than once at start, also covers the bot being removed from the channel later.
"""

from __future__ import annotations

import logging
import re
from typing import Any

from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient
from slack_sdk.web.async_slack_response import AsyncSlackResponse

log = logging.getLogger(__name__)

CHANNEL_ID = re.compile(r"^[CG][A-Z0-9]{2,}$")


class ChannelUnreachable(Exception):
    """No public channel of that name exists for the bot to join."""


async def channel_id(client: AsyncWebClient, channel: str) -> str:
    """The id of a channel given by id, `name` or `#name`."""
    name = channel.removeprefix("#")
    if CHANNEL_ID.match(name):
        return name
    cursor: str | None = None
    while True:
        page = await client.conversations_list(
            types="public_channel", exclude_archived=True, limit=200, cursor=cursor
        )
        for found in page["channels"]:
            if found.get("name") == name:
                return str(found["id"])
        cursor = (page.get("response_metadata") or {}).get("next_cursor") or None
        if cursor is None:
            raise ChannelUnreachable(f"no public channel #{name} to join")


async def post_joining(client: AsyncWebClient, channel: str, **message: Any) -> AsyncSlackResponse:
    """chat.postMessage, joining the public channel first if Slack says the bot is not in it."""
    try:
        return await client.chat_postMessage(channel=channel, **message)
    except SlackApiError as err:
        if err.response.get("error") != "not_in_channel":
            raise
    joined = await channel_id(client, channel)
    await client.conversations_join(channel=joined)
    log.info("joined channel %s (%s) to post in it", channel, joined)
    return await client.chat_postMessage(channel=joined, **message)
