"""Sending slash commands and interactions to the app's request URL, as Slack does.

Each request is signed (v0 scheme) and must be acknowledged with HTTP 200 within the ack
deadline (3 s at Slack). What the person then sees follows Slack: an error from Slackbot on
a timeout or a non-200 answer, the acknowledgement's text/blocks as an ephemeral reply to a
command, and a modal that stays open, changes or closes per the view_submission `response_action`.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlencode

import aiohttp

from slack_workspace import payloads
from slack_workspace.blocks import (
    BlocksError,
    JsonDict,
    build_state,
    client_errors,
    find_element,
    state_entry,
    validate_blocks,
    validate_view,
)
from slack_workspace.config import WorkspaceConfig
from slack_workspace.signing import signed_headers
from slack_workspace.state import SLACKBOT_ID, Channel, Message, User, View, WorkspaceState

FORM = "application/x-www-form-urlencoded"
# What Slack's client shows in a modal when the app did not acknowledge a submission properly.
MODAL_TROUBLE = "We had some trouble connecting. Try again?"

DeliveryKind = Literal["command", "block_actions", "view_submission", "view_closed"]


@dataclass(frozen=True)
class DeliveryResult:
    """What happened to one request to the app, as the workspace saw it."""

    kind: DeliveryKind
    delivered: bool  # False when nothing was sent (e.g. Slack's client refused the form)
    status: int | None  # the app's HTTP status; None when it did not answer in time
    error: str | None  # "operation_timeout" | "dispatch_failed" | None
    body: str  # the app's response body (the acknowledgement)
    ack: JsonDict | None  # the body parsed as JSON, when it was JSON
    payload: JsonDict  # what was sent: the command's fields or the interaction payload
    trigger_id: str | None = None
    response_url: str | None = None
    view_id: str | None = None  # for view deliveries: the modal view now on top, if any
    view_errors: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return self.delivered and self.error is None


@dataclass(frozen=True)
class Answer:
    status: int | None
    body: str
    content_type: str | None
    error: str | None
    sent: bool = True  # False when there was no request URL to send to
    no_retry: bool = False  # the app answered `X-Slack-No-Retry: 1`

    def json(self) -> JsonDict | None:
        text = self.body.strip()
        if self.content_type == "application/json" or text.startswith("{"):
            try:
                parsed = json.loads(text)
            except json.JSONDecodeError:
                return None
            return parsed if isinstance(parsed, dict) else None
        return None


def _answered(
    kind: DeliveryKind,
    answer: Answer,
    payload: JsonDict,
    *,
    trigger_id: str | None = None,
    response_url: str | None = None,
    view_id: str | None = None,
    view_errors: dict[str, str] | None = None,
) -> DeliveryResult:
    """The result of a request sent to the app (or not: `answer.sent`) and answered as `answer`."""
    return DeliveryResult(
        kind=kind,
        delivered=answer.sent,
        status=answer.status,
        error=answer.error,
        body=answer.body,
        ack=answer.json(),
        payload=payload,
        trigger_id=trigger_id,
        response_url=response_url,
        view_id=view_id,
        view_errors=view_errors or {},
    )


class Deliverer:
    def __init__(self, state: WorkspaceState, config: WorkspaceConfig) -> None:
        self.state = state
        self.config = config
        self._session: aiohttp.ClientSession | None = None

    async def start(self) -> None:
        self._session = aiohttp.ClientSession()

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()
            self._session = None

    async def send(
        self, body: str, content_type: str, extra_headers: Mapping[str, str] | None = None
    ) -> Answer:
        url = self.config.request_url
        if not url or self._session is None:
            return Answer(None, "", None, "dispatch_failed", sent=False)
        headers = signed_headers(self.config.signing_secret, body, content_type)
        headers.update(extra_headers or {})
        try:
            async with asyncio.timeout(self.config.ack_timeout):
                async with self._session.post(url, data=body.encode(), headers=headers) as resp:
                    text = await resp.text()
                    status, ctype = resp.status, resp.content_type
                    no_retry = resp.headers.get("X-Slack-No-Retry") == "1"
        except TimeoutError:
            return Answer(None, "", None, "operation_timeout")
        except aiohttp.ClientError:
            return Answer(None, "", None, "dispatch_failed")
        error = None if status == 200 else "dispatch_failed"
        return Answer(status, text, ctype, error, no_retry=no_retry)

    def person(self, user_id: str) -> User:
        user = self.state.users.get(user_id)
        if user is None or user.is_bot:
            raise LookupError(f"no person {user_id!r} in the workspace")
        return user

    def _response_url(self, token: str) -> str:
        return f"{self.config.base_url}/response/{token}"

    # --- slash commands ------------------------------------------------------------------

    async def command(
        self, user_id: str, channel_ref: str, command: str, text: str
    ) -> DeliveryResult:
        user = self.person(user_id)
        channel = self.state.resolve_channel(channel_ref, user_id)
        if channel is None or not self.state.is_member(channel, user_id):
            raise LookupError(f"{user_id} cannot type in channel {channel_ref!r}")
        command = command if command.startswith("/") else "/" + command
        trigger_id = self.state.issue_trigger(user_id, self.config.trigger_ttl)
        token = self.state.issue_response_url(user_id, channel.id, None)
        fields = payloads.command_fields(
            self.state,
            user=user,
            channel=channel,
            command=command,
            text=text,
            response_url=self._response_url(token),
            trigger_id=trigger_id,
            verification_token=self.config.verification_token,
        )
        answer = await self.send(urlencode(fields), FORM)
        if answer.error is not None:
            self.state.post(
                channel.id,
                author=SLACKBOT_ID,
                text=f'{command} failed with the error "{answer.error}"',
                ephemeral_to=user_id,
            )
        else:
            self._show_command_ack(user, channel, command, text, answer, token)
        return _answered(
            "command",
            answer,
            dict(fields),
            trigger_id=trigger_id,
            response_url=self._response_url(token),
        )

    def _show_command_ack(
        self, user: User, channel: Channel, command: str, text: str, answer: Answer, token: str
    ) -> None:
        ack = answer.json()
        shown: Message | None = None
        if ack is not None and (ack.get("text") or ack.get("blocks") or ack.get("attachments")):
            try:
                blocks = validate_blocks(ack["blocks"]) if ack.get("blocks") else None
            except BlocksError:
                blocks = None
            if ack.get("response_type") == "in_channel":
                # Slack shows the person's command in the channel too, then the app's answer.
                self.state.post(channel.id, author=user.id, text=f"{command} {text}".strip())
                ephemeral_to = None
            else:
                ephemeral_to = user.id
            shown = self.state.post(
                channel.id,
                author=self.state.bot_user_id,
                text=str(ack.get("text") or ""),
                blocks=blocks,
                attachments=ack.get("attachments"),
                ephemeral_to=ephemeral_to,
            )
        elif ack is None and answer.body.strip():
            shown = self.state.post(
                channel.id,
                author=self.state.bot_user_id,
                text=answer.body.strip(),
                ephemeral_to=user.id,
            )
        if shown is not None:
            # A later response_url call with replace_original replaces this first answer.
            self.state.response_urls[token].original_ts = shown.ts

    # --- block_actions -------------------------------------------------------------------

    async def block_action(
        self,
        user_id: str,
        *,
        action_id: str,
        channel_ref: str | None = None,
        ts: str | None = None,
        view_id: str | None = None,
        block_id: str | None = None,
        value: Any = None,
    ) -> DeliveryResult:
        user = self.person(user_id)
        view: View | None = None
        message: Message | None = None
        channel: Channel | None = None
        if view_id is not None:
            view = self.state.views.get(view_id)
            if view is None or view.user_id != user_id:
                raise LookupError(f"{user_id} has no open view {view_id!r}")
            blocks = view.blocks
        else:
            channel = self.state.resolve_channel(channel_ref or "", user_id)
            if channel is None or ts is None:
                raise LookupError(f"no channel {channel_ref!r} or no ts given")
            message = self.state.find_message(channel.id, ts, visible_to=user_id)
            if message is None:
                raise LookupError(f"{user_id} sees no message {ts} in {channel.id}")
            blocks = message.blocks or []
        found = find_element(blocks, action_id, block_id)
        if found is None:
            raise LookupError(f"no element with action_id {action_id!r}")
        block, element = found
        raw: Any = value
        if element.get("type") != "button":
            entry = state_entry(element, value)
            raw = entry.get("selected_option", entry.get("value"))
            if view is not None:
                # A select in a modal keeps its choice in the view's state, as in Slack.
                view.values.setdefault(str(block["block_id"]), {})[str(element["action_id"])] = (
                    entry
                )
        action = payloads.action_entry(block, element, raw)
        trigger_id = self.state.issue_trigger(user_id, self.config.trigger_ttl)
        response_url = None
        if message is not None and channel is not None:
            token = self.state.issue_response_url(user_id, channel.id, message.ts)
            response_url = self._response_url(token)
        payload = payloads.block_actions(
            self.state,
            user=user,
            action=action,
            trigger_id=trigger_id,
            verification_token=self.config.verification_token,
            message=message,
            channel=channel,
            response_url=response_url,
            view=view,
        )
        answer = await self.send(urlencode({"payload": json.dumps(payload)}), FORM)
        if answer.error is not None:
            # Slack marks the element with a warning sign; the workspace says it in words.
            label = (element.get("text") or {}).get("text") or action_id
            problem = f'"{label}" failed with the error "{answer.error}"'
            if view is not None:
                view.client_error = problem
                self.state.feed.bump()
            elif channel is not None:
                self.state.post(channel.id, author=SLACKBOT_ID, text=problem, ephemeral_to=user_id)
        return _answered(
            "block_actions",
            answer,
            payload,
            trigger_id=trigger_id,
            response_url=response_url,
            view_id=view.id if view is not None else None,
        )

    # --- modal submission and closing ----------------------------------------------------

    @staticmethod
    def _nest_values(view: View, values: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
        """Accept {block_id: {action_id: raw}} or the shorter {action_id: raw}."""
        block_ids = {str(b.get("block_id")) for b in view.blocks}
        nested: dict[str, dict[str, Any]] = {}
        for key, raw in values.items():
            if key in block_ids and isinstance(raw, Mapping):
                nested.setdefault(key, {}).update(raw)
                continue
            found = find_element(view.blocks, key)
            if found is None:
                raise LookupError(f"view {view.id} has no block or action {key!r}")
            nested.setdefault(str(found[0]["block_id"]), {})[key] = raw
        return nested

    async def view_submission(
        self, user_id: str, view_id: str, values: Mapping[str, Any]
    ) -> DeliveryResult:
        user = self.person(user_id)
        view = self.state.current_modal(user_id)
        if view is None or view.id != view_id:
            raise LookupError(f"{view_id!r} is not the modal {user_id} has on screen")
        view.values = build_state(view.blocks, self._nest_values(view, values), view.values)
        view.errors = client_errors(view.blocks, view.values)
        view.client_error = None
        if view.errors:
            # Slack's client shows these itself and sends nothing to the app.
            self.state.feed.bump()
            return DeliveryResult(
                kind="view_submission",
                delivered=False,
                status=None,
                error=None,
                body="",
                ack=None,
                payload={},
                view_id=view.id,
                view_errors=dict(view.errors),
            )
        trigger_id = self.state.issue_trigger(user_id, self.config.trigger_ttl)
        payload = payloads.view_submission(
            self.state,
            user=user,
            view=view,
            trigger_id=trigger_id,
            verification_token=self.config.verification_token,
        )
        answer = await self.send(urlencode({"payload": json.dumps(payload)}), FORM)
        if answer.error is not None:
            view.client_error = MODAL_TROUBLE
            self.state.feed.bump()
        else:
            self._apply_response_action(user_id, view, answer.json())
        top = self.state.current_modal(user_id)
        return _answered(
            "view_submission",
            answer,
            payload,
            trigger_id=trigger_id,
            view_id=top.id if top is not None else None,
            view_errors=dict(view.errors) if top is view else {},
        )

    def _apply_response_action(self, user_id: str, view: View, ack: JsonDict | None) -> None:
        action = (ack or {}).get("response_action")
        if action == "errors":
            errors = (ack or {}).get("errors")
            if isinstance(errors, dict) and errors:
                view.errors = {str(k): str(v) for k, v in errors.items()}
            else:
                view.client_error = MODAL_TROUBLE
            self.state.feed.bump()
        elif action in ("update", "push"):
            try:
                data = validate_view((ack or {}).get("view"), ("modal",))
            except BlocksError:
                view.client_error = MODAL_TROUBLE
                self.state.feed.bump()
                return
            if action == "update":
                self.state.update_view(view, data)
            else:
                self.state.push_modal(user_id, data)
        elif action == "clear":
            self.state.clear_modals(user_id)
        else:
            # A plain 200 (empty or without response_action) closes the submitted view.
            self.state.close_view(view)

    async def close_view(self, user_id: str, view_id: str) -> DeliveryResult | None:
        """The person dismissed the modal. Slack tells the app only with notify_on_close."""
        user = self.person(user_id)
        view = self.state.current_modal(user_id)
        if view is None or view.id != view_id:
            raise LookupError(f"{view_id!r} is not the modal {user_id} has on screen")
        cleared = bool(view.data.get("clear_on_close"))
        notify = bool(view.data.get("notify_on_close"))
        snapshot = payloads.view_closed(
            self.state,
            user=user,
            view=view,
            verification_token=self.config.verification_token,
            cleared=cleared,
        )
        if cleared:
            self.state.clear_modals(user_id)
        else:
            self.state.close_view(view)
        if not notify:
            return None
        answer = await self.send(urlencode({"payload": json.dumps(snapshot)}), FORM)
        return _answered("view_closed", answer, snapshot)
