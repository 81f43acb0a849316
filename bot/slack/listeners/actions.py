"""Buttons on approval messages and the same buttons in a manager's App Home. A click becomes
the workflow's `decide` Update; a refusal (not the approver, own request, already decided) is
explained to the clicker only: under the message, or at the top of their refreshed Home."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import blocks
from bot.slack.decisions import clicked_message_ref, decided_in_home, show_decision
from bot.slack.deps import BotDeps
from bot.slack.home import HomeTab
from bot.slack.payloads import Click, button_request_id, message_blocks, read_click
from domain.refusal import Refused

log = logging.getLogger(__name__)

FORM_NOT_OPENED = "The reason form could not be opened; nothing was changed. Click Reject again."
NOT_A_REQUEST_BUTTON = "This button does not belong to a purchase request; nothing was changed."

SLASH_COMMANDS: tuple[str, ...] = ()  # registers none


def register(app: AsyncApp, deps: BotDeps) -> None:
    home = HomeTab(deps)

    async def refuse(respond: AsyncRespond, why: object) -> None:
        await respond(response_type="ephemeral", replace_original=False, text=blocks.warning(why))

    async def refuse_click(
        click: Click, respond: AsyncRespond, client: AsyncWebClient, why: object
    ) -> None:
        # A Home click has no message to answer under: the refreshed Home says it instead.
        if click.in_home:
            await home.publish(client, click.user, notice=blocks.warning(why))
        else:
            await refuse(respond, why)

    @app.action(blocks.APPROVE_ACTION)
    async def approve(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        deps.after_ack.schedule(_approve(read_click(body), respond, client), "approve click")

    async def _approve(click: Click | None, respond: AsyncRespond, client: AsyncWebClient) -> None:
        request_id = button_request_id(click) if click else None
        if click is None or request_id is None:
            await refuse(respond, NOT_A_REQUEST_BUTTON)
            return
        try:
            approval = await deps.service.decide(
                request_id, user=click.user, approve=True, message_ref=clicked_message_ref(click)
            )
        except Refused as refused:
            await refuse_click(click, respond, client, refused)
            return
        if click.in_home:
            await decided_in_home(client, home, deps.service, request_id, approval, click.user)
        else:
            await show_decision(client, deps.service, request_id, approval, click.channel, click.ts)

    @app.action(blocks.FLAG_WRONG_ACTION)
    async def flag_wrong(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        deps.after_ack.schedule(_flag_wrong(body, respond, client), "flag-as-wrong click")

    async def _flag_wrong(
        body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        click = read_click(body)
        request_id = button_request_id(click) if click else None
        if click is None or request_id is None:
            await refuse(respond, NOT_A_REQUEST_BUTTON)
            return
        build_id = click.value.partition("|")[2]
        original = message_blocks(body)
        if original is None or f"`{request_id}`" not in str(original):
            # The button names another request than the message it sits on.
            await refuse(respond, NOT_A_REQUEST_BUTTON)
            return
        try:
            status = await deps.service.status(request_id)
            if click.user != status.request.manager:
                raise Refused("Only the requester's manager can flag this auto-approval.")
            await deps.rollout.flag_wrong(request_id, build_id, click.user)
        except Refused as refused:
            await refuse(respond, refused)
            return
        await client.chat_update(
            channel=click.channel,
            ts=click.ts,
            text=f"Auto-approval of {request_id} flagged as wrong",
            blocks=blocks.flagged_blocks(original, click.user),
        )

    @app.action(blocks.REJECT_ACTION)
    async def reject(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        click = read_click(body)
        request_id = button_request_id(click) if click else None
        if click is None or request_id is None or not click.trigger_id:
            deps.after_ack.schedule(refuse(respond, NOT_A_REQUEST_BUTTON), "reject click")
            return
        try:
            await client.views_open(
                trigger_id=click.trigger_id,
                view=blocks.reject_modal(request_id, clicked_message_ref(click)),
            )
        except SlackApiError as err:  # e.g. an expired trigger: the clicker can simply retry
            log.warning("reject form not opened for %s: %s", click.user, err.response.get("error"))
            deps.after_ack.schedule(
                refuse_click(click, respond, client, FORM_NOT_OPENED), "reject click"
            )
