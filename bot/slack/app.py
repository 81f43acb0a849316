"""The Bolt app: built here, listeners registered by group. Nothing else lives here."""

from __future__ import annotations

import logging
from typing import Any, Protocol

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.response import BoltResponse
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.common import MetricMeter

from bot.slack.deps import BotDeps
from bot.slack.error_answers import error_answer
from bot.slack.listeners import actions, commands, events, ops, rules_modal, views
from bot.slack.metered_client import count_slack_errors

log = logging.getLogger(__name__)


class ListenerGroup(Protocol):
    """A listeners module: registers its listeners, and declares the slash commands it
    registers."""

    SLASH_COMMANDS: tuple[str, ...]

    def register(self, app: AsyncApp, deps: BotDeps) -> None: ...


LISTENER_GROUPS: tuple[ListenerGroup, ...] = (commands, ops, actions, views, rules_modal, events)


def slash_commands() -> tuple[str, ...]:
    """Every slash command the app answers: the one list the local workspace offers, manifest.yaml
    must declare (tested) and the tests use."""
    return tuple(name for group in LISTENER_GROUPS for name in group.SLASH_COMMANDS)


def build_app(
    client: AsyncWebClient, signing_secret: str, deps: BotDeps, meter: MetricMeter | None = None
) -> AsyncApp:
    """`meter`: where the listeners' failed Slack calls are counted (see metered_client)."""
    # Signature verification stays on: every request must be signed by Slack (or the local
    # workspace) with the signing secret.
    # process_before_response: the answer leaves when a listener returns; listeners ack first
    # and leave slow work to `deps.after_ack` (see bot/slack/after_ack.py why).
    app = AsyncApp(client=client, signing_secret=signing_secret, process_before_response=True)
    if meter is not None:
        app.use(count_slack_errors(meter))
    for group in LISTENER_GROUPS:
        group.register(app, deps)

    @app.error
    async def on_error(error: Exception, body: dict[str, Any]) -> BoltResponse:
        # A person never sees a stack trace or a failed request (Bolt's default is a 500): log
        # it with context, answer with something they can act on.
        log.error("unhandled error in a Slack listener: %r", error, exc_info=error)
        return error_answer(body)

    return app
