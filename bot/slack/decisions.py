"""After a manager's decision: the approval message shows it at once (buttons gone). The
notifier updates it again with the final outcome when the workflow ends."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.purchase_service import PurchaseService
from bot.slack import blocks
from domain.models import ApprovalResult


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
