"""After a manager's decision: the approval message shows it at once (buttons gone). The
notifier updates it again with the final outcome when the workflow ends. A decision taken in
the App Home also updates that message, and republishes the Home with what was done."""

from __future__ import annotations

from typing import Protocol

from slack_sdk.web.async_client import AsyncWebClient

from bot.purchase_service import PurchaseService
from bot.slack import blocks
from bot.slack.notifier import message_ref, split_message_ref
from bot.slack.payloads import Click
from domain.models import ApprovalResult


class Home(Protocol):
    async def publish(self, client: AsyncWebClient, user: str, notice: str = "") -> None: ...


def clicked_message_ref(click: Click) -> str:
    """The message a button sits on, for the workflow's "button on another request's message"
    check; empty for the App Home, whose buttons sit on no message."""
    return "" if click.in_home else message_ref(click.channel, click.ts)


async def show_decision(
    client: AsyncWebClient,
    service: PurchaseService,
    request_id: str,
    approval: ApprovalResult,
    channel: str,
    ts: str,
) -> None:
    status = await service.status(request_id)
    if status.product is None:
        return
    line = blocks.decision_line(approval)
    await client.chat_update(
        channel=channel,
        ts=ts,
        text=f"Request {request_id}: {line}",
        blocks=blocks.decided_blocks(status.request, status.product, status.review, line),
    )


async def decided_in_home(
    client: AsyncWebClient,
    home: Home,
    service: PurchaseService,
    request_id: str,
    approval: ApprovalResult,
    user: str,
) -> None:
    status = await service.status(request_id)
    location = split_message_ref(status.approval_message_ref)
    if location is not None:
        await show_decision(client, service, request_id, approval, *location)
    verb = "approved" if approval.approved else "rejected"
    await home.publish(client, user, notice=f":white_check_mark: You {verb} `{request_id}`.")
