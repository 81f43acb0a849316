"""The Notifier that speaks Slack: approval requests to managers, outcomes to requesters.

Runs inside activities: a Slack error fails the activity and Temporal retries it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from slack_sdk.web.async_client import AsyncWebClient

from activities.notifier import (
    approval_request_text,
    history_unavailable_text,
    message_text,
    outcome_text,
)
from bot.slack import blocks
from bot.slack.channels import post_joining
from bot.slack.ops_alerts import OpsAlerts
from bot.slack.sent_messages import SENT_EVENT, find_sent, slack_trouble
from domain.models import (
    ApprovalRequestInput,
    MessageInput,
    MessageKind,
    OutcomeNotificationInput,
    RetiredMessageInput,
)
from domain.outcomes import describe_outcome


def message_ref(channel: str, ts: str) -> str:
    return f"{channel}:{ts}"


def split_message_ref(ref: str) -> tuple[str, str] | None:
    channel, _, ts = ref.partition(":")
    return (channel, ts) if channel and ts else None


class SlackNotifier:
    def __init__(
        self,
        client: AsyncWebClient,
        *,
        build_id: str,
        approvals_channel: str = "",
        ops_channel: str = "purchasing-ops",
        ops_users: Callable[[], Sequence[str]] = tuple,
    ) -> None:
        self._client = client
        self._build_id = build_id
        self._approvals_channel = approvals_channel
        self._ops_alerts = OpsAlerts(client, channel=ops_channel, ops_users=ops_users)

    async def dm_channel(self, user: str) -> str:
        opened = await self._client.conversations_open(users=user)
        return str(opened["channel"]["id"])

    async def request_approval(self, input: ApprovalRequestInput) -> str:
        fallback = history_unavailable_text(input)
        if fallback is not None:
            await self._client.chat_postMessage(
                channel=await self.dm_channel(input.request.requester),
                text=fallback,
                blocks=[blocks.text(fallback)],
            )
        channel = self._approvals_channel or await self.dm_channel(input.request.manager)
        posted = await post_joining(
            self._client,
            channel,
            text=approval_request_text(input),
            blocks=blocks.approval_request_blocks(
                input.request,
                input.product,
                input.review,
                code_path=input.code_path,
                build_id=self._build_id,
            ),
        )
        return message_ref(str(posted["channel"]), str(posted["ts"]))

    async def announce_outcome(self, input: OutcomeNotificationInput) -> None:
        request, result = input.request, input.result
        fallback = outcome_text(input)
        await self._client.chat_postMessage(
            channel=await self.dm_channel(request.requester),
            text=fallback,
            blocks=blocks.outcome_blocks(request, result),
        )
        ref = split_message_ref(input.approval_message_ref)
        if ref is not None and result.product is not None:
            # The manager's message shows the final state; its buttons are gone.
            await self._client.chat_update(
                channel=ref[0],
                ts=ref[1],
                text=fallback,
                blocks=blocks.decided_blocks(
                    request, result.product, result.review, blocks.outcome_line(result)
                ),
            )
        if describe_outcome(result).automated:
            await self._client.chat_postMessage(
                channel=await self.dm_channel(request.manager),
                text=f"FYI: {fallback}",
                blocks=blocks.auto_approval_fyi_blocks(request, result, build_id=self._build_id),
            )

    async def alert_ops(self, text: str, *, last_try: bool = True) -> None:
        await self._ops_alerts.send(text, last_try=last_try)

    # --- one message per activity, exactly once (requests since notify-exactly-once-v1) ------

    async def send_once(self, message: MessageInput, *, retrying: bool) -> str:
        async with slack_trouble(f"{message.kind} to {message.recipient}"):
            channel = await self._channel_for(message)
            if retrying:
                # The last attempt may have posted and lost the answer (a timeout, a crash).
                sent = await find_sent(self._client, channel, message.key)
                if sent is not None:
                    return message_ref(channel, sent)
            text, kit = self._render(message)
            posted = await post_joining(
                self._client,
                channel,
                text=text,
                blocks=kit,
                metadata={"event_type": SENT_EVENT, "event_payload": {"key": message.key}},
            )
            return message_ref(str(posted["channel"]), str(posted["ts"]))

    async def update_approval_message(self, input: OutcomeNotificationInput) -> None:
        ref = split_message_ref(input.approval_message_ref)
        if ref is None or input.result.product is None:
            return
        async with slack_trouble("approval message update"):
            # The approver's message shows the final state; its buttons are gone.
            await self._client.chat_update(
                channel=ref[0],
                ts=ref[1],
                text=outcome_text(input),
                blocks=blocks.decided_blocks(
                    input.request,
                    input.result.product,
                    input.result.review,
                    blocks.outcome_line(input.result),
                ),
            )

    async def retire_approval_message(self, input: RetiredMessageInput) -> None:
        ref = split_message_ref(input.message_ref)
        if ref is None:
            return
        a = input.approval
        async with slack_trouble("approval message retired"):
            await self._client.chat_update(
                channel=ref[0],
                ts=ref[1],
                text=f"Request {a.request.request_id}: {input.line}",
                blocks=blocks.decided_blocks(
                    a.request, a.product, a.review, input.line, title="Purchase request moved"
                ),
            )

    async def _channel_for(self, message: MessageInput) -> str:
        if message.kind is MessageKind.APPROVAL_REQUEST and self._approvals_channel:
            return self._approvals_channel
        return await self.dm_channel(message.recipient)

    def _render(self, message: MessageInput) -> tuple[str, list[blocks.Block]]:
        if message.kind is MessageKind.REVIEW_FALLBACK:
            text = message_text(message)
            return text, [blocks.text(text)]
        if message.approval is not None:
            a = message.approval
            kit = blocks.approval_request_blocks(
                a.request,
                a.product,
                a.review,
                code_path=a.code_path,
                build_id=self._build_id,
                note=a.note,
            )
            return approval_request_text(a), kit
        if message.outcome is not None:
            o = message.outcome
            if message.kind is MessageKind.AUTO_APPROVAL_FYI:
                fyi = blocks.auto_approval_fyi_blocks(o.request, o.result, build_id=self._build_id)
                return f"FYI: {outcome_text(o)}", fyi
            return outcome_text(o), blocks.outcome_blocks(o.request, o.result)
        return message.text, [blocks.text(message.text)]
