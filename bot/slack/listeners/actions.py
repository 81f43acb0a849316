"""Buttons on approval messages. A click becomes the workflow's `decide` Update; a refusal
(not the approver, own request, already decided) is explained to the clicker only."""

from __future__ import annotations

from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.purchase_service import RequestRefused
from bot.rollout_admin import RolloutRefused
from bot.slack import blocks
from bot.slack.after_ack import after_ack
from bot.slack.decisions import show_decision
from bot.slack.deps import BotDeps
from bot.slack.notifier import message_ref

SLASH_COMMANDS: tuple[str, ...] = ()  # registers none


def register(app: AsyncApp, deps: BotDeps) -> None:
    @app.action(blocks.APPROVE_ACTION)
    async def approve(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        after_ack(_approve(body, respond, client), "approve click")

    async def _approve(body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient) -> None:
        request_id = body["actions"][0]["value"]
        try:
            approval = await deps.service.decide(request_id, user=body["user"]["id"], approve=True)
        except RequestRefused as refused:
            await respond(
                response_type="ephemeral", replace_original=False, text=blocks.warning(refused)
            )
            return
        channel, ts = body["container"]["channel_id"], body["container"]["message_ts"]
        await show_decision(client, deps.service, request_id, approval, channel, ts)

    @app.action(blocks.FLAG_WRONG_ACTION)
    async def flag_wrong(
        ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        await ack()
        after_ack(_flag_wrong(body, respond, client), "flag-as-wrong click")

    async def _flag_wrong(
        body: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        user = body["user"]["id"]
        request_id, _, build_id = body["actions"][0]["value"].partition("|")
        try:
            status = await deps.service.status(request_id)
            if user != status.request.manager:
                raise RequestRefused("Only the requester's manager can flag this auto-approval.")
            await deps.rollout.flag_wrong(request_id, build_id, user)
        except (RequestRefused, RolloutRefused) as refused:
            await respond(
                response_type="ephemeral", replace_original=False, text=blocks.warning(refused)
            )
            return
        container = body["container"]
        await client.chat_update(
            channel=container["channel_id"],
            ts=container["message_ts"],
            text=f"Auto-approval of {request_id} flagged as wrong",
            blocks=blocks.flagged_blocks(body["message"]["blocks"], user),
        )

    @app.action(blocks.REJECT_ACTION)
    async def reject(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        container = body["container"]
        ref = message_ref(container["channel_id"], container["message_ts"])
        await client.views_open(
            trigger_id=body["trigger_id"],
            view=blocks.reject_modal(body["actions"][0]["value"], ref),
        )
