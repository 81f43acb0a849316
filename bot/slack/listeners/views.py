"""Modal submissions: the purchase form and the reject reason."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.purchase_service import RequestRefused
from bot.slack import blocks
from bot.slack.after_ack import after_ack
from bot.slack.decisions import show_decision
from bot.slack.deps import BotDeps
from bot.slack.modal_validation import PurchaseForm, form_errors, read_form
from bot.slack.notifier import split_message_ref

log = logging.getLogger(__name__)


def request_id_for_view(view_id: str) -> str:
    """One view is one request: a submission Slack delivers twice starts one workflow."""
    return "PR-" + hashlib.sha256(view_id.encode()).hexdigest()[:8].upper()


SLASH_COMMANDS: tuple[str, ...] = ()  # registers none


def register(app: AsyncApp, deps: BotDeps) -> None:
    @app.view(blocks.PURCHASE_MODAL)
    async def purchase_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        user = body["user"]["id"]
        form = read_form(view["state"]["values"])
        errors = form_errors(form, user, deps.directory.get().value)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        after_ack(_file(form, user, view["id"], client), f"purchase form by {user}")

    async def _file(form: PurchaseForm, user: str, view_id: str, client: AsyncWebClient) -> None:
        dm = (await client.conversations_open(users=user))["channel"]["id"]
        try:
            submitted = await deps.service.submit(
                requester=user,
                url=form.url,
                amount=form.amount,
                quantity=form.quantity,
                justification=form.justification,
                request_id=request_id_for_view(view_id),
            )
        except RequestRefused as refused:
            await client.chat_postMessage(channel=dm, text=blocks.warning(refused))
            return
        message = blocks.request_filed_text(submitted.request)
        await client.chat_postMessage(channel=dm, text=message, blocks=[blocks.text(message)])

    @app.view(blocks.REJECT_MODAL)
    async def reject_submitted(
        ack: AsyncAck, body: dict[str, Any], view: dict[str, Any], client: AsyncWebClient
    ) -> None:
        request_id, _, ref = view["private_metadata"].partition("|")
        reason = str(view["state"]["values"][blocks.REASON_BLOCK]["value"]["value"] or "").strip()
        try:
            approval = await deps.service.decide(
                request_id, user=body["user"]["id"], approve=False, reason=reason
            )
        except RequestRefused as refused:
            await ack(response_action="errors", errors={blocks.REASON_BLOCK: str(refused)[:150]})
            return
        await ack()
        location = split_message_ref(ref)
        if location is not None:
            await show_decision(client, deps.service, request_id, approval, *location)
