"""Slash commands. Every command is acknowledged first (Slack allows 3 s); slow work follows
and answers through `respond` (ephemeral)."""

from __future__ import annotations

import logging
from typing import Any

from slack_bolt.app.async_app import AsyncApp
from slack_bolt.context.ack.async_ack import AsyncAck
from slack_bolt.context.respond.async_respond import AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack import blocks
from bot.slack.command_parsing import (
    CancelRequest,
    CheckPurchase,
    DashboardLink,
    DelegationCommand,
    NewRequest,
    OpenForm,
    ShowHelp,
    ShowStatus,
    Unparseable,
    parse_purchase_command,
)
from bot.slack.dashboard_link import send_dashboard_link
from bot.slack.delegation_commands import answer_delegation
from bot.slack.deps import BotDeps
from bot.slack.filing import file_request
from bot.slack.my_requests import latest_request_lines, latest_requests_block
from domain.intake import IntakeError
from domain.mrkdwn import escape
from domain.refusal import Refused
from domain.request_ids import request_id_for_delivery

log = logging.getLogger(__name__)

PURCHASE = "/purchase"
# The slash commands this group registers (bot.slack.app.slash_commands() collects them).
SLASH_COMMANDS: tuple[str, ...] = (PURCHASE,)


def register(app: AsyncApp, deps: BotDeps) -> None:
    @app.command(PURCHASE)
    async def purchase(
        ack: AsyncAck, command: dict[str, Any], respond: AsyncRespond, client: AsyncWebClient
    ) -> None:
        user = str(command.get("user_id") or "")
        parsed = parse_purchase_command(str(command.get("text") or ""))
        if isinstance(parsed, ShowHelp):
            await ack(text=blocks.USAGE)
        elif isinstance(parsed, Unparseable):
            await ack(text=f":warning: {parsed.problem}\n\n{blocks.USAGE}")
        elif isinstance(parsed, OpenForm):
            await ack()
            deps.after_ack.schedule(
                client.views_open(trigger_id=command["trigger_id"], view=blocks.purchase_modal()),
                "/purchase form",
            )
        elif isinstance(parsed, DashboardLink):
            await ack()
            deps.after_ack.schedule(_link(user, respond, client), f"/purchase dashboard by {user}")
        else:
            await ack()
            # Slack may deliver the same command again (a slow ack, X-Slack-Retry-Num): the
            # request id derives from its trigger id, so a repeat finds the request it filed.
            trigger = str(command.get("trigger_id") or "")
            request_id = request_id_for_delivery("command", user, trigger) if trigger else None
            deps.after_ack.schedule(
                _reply(parsed, user, request_id, respond), f"/purchase by {user}"
            )

    async def _link(user: str, respond: AsyncRespond, client: AsyncWebClient) -> None:
        try:
            answer = await send_dashboard_link(user, deps, client)
        except Refused as refused:
            answer = blocks.warning(refused)
        await respond(response_type="ephemeral", text=answer)

    async def _reply(
        parsed: NewRequest | CheckPurchase | ShowStatus | CancelRequest | DelegationCommand,
        user: str,
        request_id: str | None,
        respond: AsyncRespond,
    ) -> None:
        try:
            answer = await _answer(parsed, user, request_id, deps)
        except Refused as refused:
            answer = [blocks.text(blocks.warning(refused))]
        except Exception:
            log.exception("/purchase failed for %s", user)
            answer = [blocks.text(blocks.SOMETHING_WENT_WRONG)]
        await respond(response_type="ephemeral", blocks=answer, text=_plain(answer))


async def _answer(
    parsed: NewRequest | CheckPurchase | ShowStatus | CancelRequest | DelegationCommand,
    user: str,
    request_id: str | None,
    deps: BotDeps,
) -> list[blocks.Block]:
    if isinstance(parsed, DelegationCommand):
        return await answer_delegation(parsed, user, deps)
    if isinstance(parsed, NewRequest):
        submitted = await file_request(deps.service, user, parsed, request_id)
        return [blocks.text(blocks.request_filed_text(submitted.request))]
    if isinstance(parsed, CheckPurchase):
        try:
            preview = await deps.preview.preview(
                requester=user, url=parsed.url, amount=parsed.amount, quantity=parsed.quantity
            )
        except IntakeError as err:
            raise Refused(err.message) from err
        return [blocks.text(f":mag: {escape(preview.sentence())} Nothing was filed.")]
    if isinstance(parsed, CancelRequest):
        await deps.service.cancel(parsed.request_id, user=user)
        return [blocks.text(f"Request `{parsed.request_id}` is cancelled.")]
    if parsed.request_id is None:
        return await _my_requests(user, deps)
    status = await deps.service.status(parsed.request_id)
    directory = deps.directory.get().value
    if not status.involves(user) and not directory.is_ops(user):
        raise Refused("You can only see your own requests and the ones you approve.")
    return blocks.status_blocks(status)


async def _my_requests(user: str, deps: BotDeps) -> list[blocks.Block]:
    return [latest_requests_block(await latest_request_lines(user, deps))]


def _plain(answer: list[blocks.Block]) -> str:
    return " ".join(str(b.get("text", {}).get("text", "")) for b in answer)[:300]
