"""Modal submissions: the purchase form and the reject reason."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import blocks
from bot.slack.command_parsing import NewRequest
from bot.slack.decisions import decided_in_home, show_decision
from bot.slack.deps import BotDeps
from bot.slack.filing import file_request
from bot.slack.home import HomeTab
from bot.slack.modal_validation import form_errors, read_form
from bot.slack.notifier import split_message_ref
from bot.slack.payloads import read_submission, text_value
from domain.refusal import Refused
from domain.request_ids import parse_request_id, request_id_for_delivery

log = logging.getLogger(__name__)

UNREADABLE_FORM = "This form could not be read; nothing was sent. Close it and start again."


SLASH_COMMANDS: tuple[str, ...] = ()  # registers none


def register(app: AsyncApp, deps: BotDeps) -> None:
    home = HomeTab(deps)

    @app.view(blocks.PURCHASE_MODAL)
    async def purchase_submitted(
        ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        submission = read_submission(body)
        if submission is None:
            await ack(response_action="errors", errors={blocks.URL_BLOCK: UNREADABLE_FORM})
            return
        user = submission.user
        form = read_form(submission.values)
        errors = form_errors(form, user, deps.directory.get().value)
        if errors:
            await ack(response_action="errors", errors=errors)
            return
        await ack()
        # One view is one request: a submission Slack delivers twice starts one workflow.
        request_id = request_id_for_delivery("view", user, submission.view_id)
        deps.after_ack.schedule(_file(form, user, request_id, client), f"purchase form by {user}")

    async def _file(form: NewRequest, user: str, request_id: str, client: AsyncWebClient) -> None:
        dm = (await client.conversations_open(users=user))["channel"]["id"]
        try:
            submitted = await file_request(deps.service, user, form, request_id)
        except Refused as refused:
            await client.chat_postMessage(channel=dm, text=blocks.warning(refused))
            return
        if submitted.already_filed:
            return  # a repeated submission: the first one already told the requester
        message = blocks.request_filed_text(submitted.request)
        await client.chat_postMessage(channel=dm, text=message, blocks=[blocks.text(message)])

    @app.view(blocks.REJECT_MODAL)
    async def reject_submitted(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        submission = read_submission(body)
        raw_id, _, ref = submission.private_metadata.partition("|") if submission else ("", "", "")
        request_id = parse_request_id(raw_id)
        if submission is None or request_id is None:
            await ack(response_action="errors", errors={blocks.REASON_BLOCK: UNREADABLE_FORM})
            return
        reason = text_value(submission.values, blocks.REASON_BLOCK).strip()
        try:
            approval = await deps.service.decide(
                request_id, user=submission.user, approve=False, reason=reason, message_ref=ref
            )
        except Refused as refused:
            await ack(response_action="errors", errors={blocks.REASON_BLOCK: str(refused)[:150]})
            return
        await ack()
        location = split_message_ref(ref)
        if location is not None:
            await show_decision(client, deps.service, request_id, approval, *location)
        else:  # no message: the Reject button was in the App Home, whose publishing is slow
            deps.after_ack.schedule(
                decided_in_home(client, home, deps.service, request_id, approval, submission.user),
                f"App Home after rejecting {request_id}",
            )
