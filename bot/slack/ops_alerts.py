"""Ops alerts that arrive in a real workspace: the ops channel, joined when needed, else DMs.

The bot joins the ops channel when Slack says it is not a member (see `channels`). When the
channel still cannot be reached (archived, private, renamed, a scope missing), or Slack keeps
failing until the last attempt, the alert goes to every ops user (directory.yaml `ops_users`)
by DM, saying why: an alert nobody sees is worse than one in the wrong place.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence

import aiohttp
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from activities.notifier import NotDeliveredYet
from bot.slack import blocks as kit
from bot.slack.channels import ChannelUnreachable, post_joining

log = logging.getLogger(__name__)

# Slack's own trouble: worth another try. Any other `ok: false` error will not go away by itself.
TRANSIENT_ERRORS = frozenset(
    {"ratelimited", "internal_error", "fatal_error", "service_unavailable", "request_timeout"}
)


def transient_delay(err: Exception) -> float | None:
    """Seconds to wait before trying again (Retry-After when Slack gave one), or None when the
    error is permanent."""
    if isinstance(err, TimeoutError | aiohttp.ClientError):
        return 1.0
    if not isinstance(err, SlackApiError):
        return None
    status = err.response.status_code
    if status == 429 or status >= 500 or err.response.get("error") in TRANSIENT_ERRORS:
        retry_after = err.response.headers.get("Retry-After", "1")
        try:
            return max(float(retry_after), 0.0)
        except ValueError:
            return 1.0
    return None


def error_code(err: Exception) -> str:
    if isinstance(err, SlackApiError):
        return str(err.response.get("error") or f"HTTP {err.response.status_code}")
    return type(err).__name__


class AlertUndeliverable(Exception):
    """Neither the ops channel nor any ops user can be reached."""


class OpsAlerts:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        channel: str,
        ops_users: Callable[[], Sequence[str]],
    ) -> None:
        self._client = client
        self._channel = channel
        self._ops_users = ops_users

    async def send(self, text: str, *, last_try: bool) -> None:
        """Deliver to the channel, or by DM to the ops users. Raises NotDeliveredYet when Slack
        is having trouble and this is not the last try (the caller retries later)."""
        try:
            await post_joining(self._client, self._channel, text=text, blocks=[kit.text(text)])
            return
        except (SlackApiError, ChannelUnreachable, TimeoutError, aiohttp.ClientError) as err:
            delay = transient_delay(err)
            if delay is not None and not last_try:
                raise NotDeliveredYet(f"ops alert: {error_code(err)}", delay) from err
            reason = error_code(err) if not isinstance(err, ChannelUnreachable) else str(err)
        log.warning("ops channel %s unreachable (%s): alerting ops by DM", self._channel, reason)
        await self._direct_messages(text, reason)

    async def _direct_messages(self, text: str, reason: str) -> None:
        users = list(self._ops_users())
        if not users:
            raise AlertUndeliverable(f"ops channel unreachable ({reason}) and no ops_users")
        note = f"(Sent to you directly: the ops channel {self._channel} is unreachable: {reason}.)"
        for user in users:
            opened = await self._client.conversations_open(users=user)
            await self._client.chat_postMessage(
                channel=str(opened["channel"]["id"]),
                text=f"{text}\n{note}",
                blocks=[kit.text(text), kit.context(note)],
            )
