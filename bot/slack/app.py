"""The Bolt app: built here, listeners registered by group. Nothing else lives here."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.deps import BotDeps
from bot.slack.listeners import actions, commands, events, ops, views

log = logging.getLogger(__name__)


def build_app(client: AsyncWebClient, signing_secret: str, deps: BotDeps) -> AsyncApp:
    # Signature verification stays on: every request must be signed by Slack (or the local
    # workspace) with the signing secret.
    # process_before_response: the answer leaves when a listener returns; listeners ack first
    # and leave slow work to `after_ack` (see there why).
    app = AsyncApp(client=client, signing_secret=signing_secret, process_before_response=True)
    for group in (commands, ops, actions, views, events):
        group.register(app, deps)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse | None:
        # A person never sees a stack trace: log it with context, tell them something useful.
        log.error("unhandled error in a Slack listener: %r", error, exc_info=error)
        return None

    return app
