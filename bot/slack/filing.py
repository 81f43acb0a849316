"""Filing a new request from Slack: `/purchase <link> <amount> …` and the purchase form give
the same fields (`NewRequest`), and are filed the same way."""

from __future__ import annotations

from bot.purchase_service import PurchaseService, Submitted
from bot.slack.command_parsing import NewRequest


async def file_request(
    service: PurchaseService, requester: str, typed: NewRequest, request_id: str | None
) -> Submitted:
    """Raises Refused (nothing filed) when the fields are not a request the person may make."""
    return await service.submit(
        requester=requester,
        url=typed.url,
        amount=typed.amount,
        quantity=typed.quantity,
        justification=typed.justification,
        request_id=request_id,
    )
