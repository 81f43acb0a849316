"""Slack's Web API at /api/<method>, for the methods the purchase bot uses.

Requests are read the way Slack reads them: arguments from the query string, a form body
or a JSON body (slack-sdk sends JSON for chat.* and views.*, query/form data for others);
the token from `Authorization: Bearer` or a `token` argument. Answers are Slack's JSON with
HTTP 200 even for API-level errors ({"ok": false, "error": "<code>"}).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from slack_workspace.blocks import BlocksError, JsonDict, validate_blocks, validate_view
from slack_workspace.config import WorkspaceConfig
from slack_workspace.faults import Fault, FaultPlan
from slack_workspace.rate_limits import RateLimits
from slack_workspace.scopes import Grants
from slack_workspace.state import Channel, Message, View, WorkspaceState

Args = dict[str, Any]
Method = Callable[[Args], Awaitable[JsonDict]]

# Arguments Slack documents as "JSON-encoded string" when sent as form data.
_JSON_ARGS = ("blocks", "attachments", "view", "metadata")


class ApiError(Exception):
    def __init__(
        self, code: str, messages: list[str] | None = None, extra: JsonDict | None = None
    ) -> None:
        super().__init__(code)
        self.code = code
        self.messages = messages or []
        self.extra = extra or {}

    def to_json(self) -> JsonDict:
        body: JsonDict = {"ok": False, "error": self.code, **self.extra}
        if self.messages:
            body["response_metadata"] = {"messages": self.messages}
        return body


def _truthy(value: object) -> bool:
    return value is True or (isinstance(value, str) and value.lower() in ("1", "true", "yes"))


def _text_arg(args: Args, name: str) -> str | None:
    value = args.get(name)
    if value is None or value == "":
        return None
    return str(value)


async def read_args(request: web.Request) -> Args:
    """Merge query-string and body arguments; decode JSON-string arguments."""
    args: Args = dict(request.query)
    if request.body_exists:
        content_type = request.content_type
        if content_type == "application/json":
            try:
                body = await request.json()
            except json.JSONDecodeError as err:
                raise ApiError("invalid_json") from err
            if not isinstance(body, dict):
                raise ApiError("invalid_json")
            args.update(body)
        elif content_type in ("application/x-www-form-urlencoded", "multipart/form-data"):
            form = await request.post()
            args.update({k: v for k, v in form.items() if isinstance(v, str)})
        elif content_type in ("", "application/octet-stream"):
            raise ApiError("missing_post_type")
        else:
            raise ApiError("invalid_post_type")
    for name in _JSON_ARGS:
        value = args.get(name)
        if isinstance(value, str) and value.strip():
            try:
                args[name] = json.loads(value)
            except json.JSONDecodeError as err:
                code = "invalid_blocks_format" if name == "blocks" else "invalid_arguments"
                raise ApiError(code, [f"[ERROR] {name} is not valid JSON"]) from err
    return args


def rate_limited(retry_after: int) -> web.Response:
    # Slack: HTTP 429, Retry-After in seconds, and an ok:false body.
    return web.json_response(
        {"ok": False, "error": "ratelimited"},
        status=429,
        headers={"Retry-After": str(retry_after)},
    )


def fault_response(fault: Fault) -> web.Response:
    """What Slack answers on a bad day, per the fault's kind."""
    if fault.kind == "rate_limited":
        return rate_limited(fault.retry_after)
    if fault.kind == "http_error":
        return web.json_response({"ok": False, "error": "fatal_error"}, status=fault.status)
    return web.json_response({"ok": False, "error": fault.error})


class WebApi:
    def __init__(
        self,
        state: WorkspaceState,
        config: WorkspaceConfig,
        faults: FaultPlan,
        grants: Grants,
        limits: RateLimits | None = None,
    ) -> None:
        self.state = state
        self.config = config
        self.faults = faults
        self.grants = grants
        self.limits = limits or RateLimits()
        self.methods: dict[str, Method] = {
            "api.test": self.api_test,
            "auth.test": self.auth_test,
            "chat.postMessage": self.chat_post_message,
            "chat.update": self.chat_update,
            "chat.postEphemeral": self.chat_post_ephemeral,
            "conversations.open": self.conversations_open,
            "conversations.join": self.conversations_join,
            "conversations.list": self.conversations_list,
            "conversations.info": self.conversations_info,
            "conversations.history": self.conversations_history,
            "users.info": self.users_info,
            "views.open": self.views_open,
            "views.push": self.views_push,
            "views.update": self.views_update,
            "views.publish": self.views_publish,
        }

    def routes(self) -> list[web.RouteDef]:
        return [web.route("*", "/api/{method}", self.handle)]

    async def handle(self, request: web.Request) -> web.Response:
        name = request.match_info["method"]
        args: Args = {}
        fault: Fault | None = None
        try:
            args = await read_args(request)
            method = self.methods.get(name)
            if method is None:
                raise ApiError("unknown_method")
            if name != "api.test":
                self._authenticate(request, args)
            fault = self.faults.take(name, args)
            if fault is not None and not fault.apply:
                return await self._answer_fault(name, args, fault)
            wait = self.limits.retry_after(name, _text_arg(args, "channel"))
            if wait is not None:
                response = rate_limited(wait)
                body = {"ok": False, "error": "ratelimited"}
                self.faults.record(name, args, http_status=429, body=body, fault=None)
                return response
            self._check_scope(name)
            result = await method(args)
        except ApiError as err:
            body = err.to_json()
            self.faults.record(name, args, http_status=200, body=body, fault=None)
            return web.json_response(body)
        if fault is not None:
            # The call took effect; only its answer is lost or bad.
            return await self._answer_fault(name, args, fault)
        body = {"ok": True, **result}
        self.faults.record(name, args, http_status=200, body=body, fault=None)
        return web.json_response(body)

    async def _answer_fault(self, name: str, args: Args, fault: Fault) -> web.Response:
        if fault.kind == "timeout":
            body: JsonDict = {"ok": False, "error": "request_timeout"}
            self.faults.record(name, args, http_status=504, body=body, fault=fault)
            # Hang like an overloaded Slack; the client's own timeout is what the app sees.
            await asyncio.sleep(fault.seconds)
            return web.json_response(body, status=504)
        response = fault_response(fault)
        body = json.loads(response.text or "{}")
        self.faults.record(name, args, http_status=response.status, body=body, fault=fault)
        return response

    def _check_scope(self, name: str) -> None:
        needed = self.grants.missing(name)
        if needed is not None:
            raise ApiError(
                "missing_scope",
                extra={"needed": ",".join(needed), "provided": self.grants.provided},
            )

    def _authenticate(self, request: web.Request, args: Args) -> None:
        header = request.headers.get("Authorization", "")
        token = header[7:].strip() if header.lower().startswith("bearer ") else None
        token = token or _text_arg(args, "token")
        if not token:
            raise ApiError("not_authed")
        if token != self.config.bot_token:
            raise ApiError("invalid_auth")

    # --- helpers -------------------------------------------------------------------------

    def _channel(self, args: Args) -> Channel:
        """The conversation a chat.* call writes to, under Slack's membership rules: private
        conversations the bot is not in do not exist for it; a public channel it has not
        joined answers not_in_channel, unless the app holds chat:write.public."""
        ref = _text_arg(args, "channel")
        if ref is None:
            raise ApiError("channel_not_found")
        channel = self.state.resolve_channel(ref, self.state.bot_user_id)
        if channel is None:
            raise ApiError("channel_not_found")
        if not self.state.is_member(channel, self.state.bot_user_id):
            if not channel.is_public:
                raise ApiError("channel_not_found")
            if not self.grants.chat_write_public:
                raise ApiError("not_in_channel")
        return channel

    def _public_channel_by_id(self, args: Args) -> Channel:
        channel_id = _text_arg(args, "channel")
        channel = self.state.channels.get(channel_id or "")
        if channel is None:
            raise ApiError("channel_not_found")
        if not channel.is_public:
            if self.state.is_member(channel, self.state.bot_user_id):
                raise ApiError("method_not_supported_for_channel_type")
            raise ApiError("channel_not_found")
        return channel

    @staticmethod
    def _content(args: Args, required: bool = True) -> tuple[str, list[JsonDict] | None, Any]:
        text = _text_arg(args, "text") or ""
        blocks_arg = args.get("blocks")
        attachments = args.get("attachments") or None
        if required and not text and not blocks_arg and not attachments:
            raise ApiError("no_text")
        blocks = None
        if blocks_arg not in (None, ""):
            try:
                blocks = validate_blocks(blocks_arg)
            except BlocksError as err:
                raise ApiError(err.code, [err.message]) from err
        if attachments is not None and not isinstance(attachments, list):
            raise ApiError("invalid_attachments")
        return text, blocks, attachments

    def _view_arg(self, args: Args, allowed: tuple[str, ...]) -> JsonDict:
        if "view" not in args or args["view"] in (None, ""):
            raise ApiError("invalid_arguments", ["[ERROR] missing required field: view"])
        try:
            return validate_view(args["view"], allowed)
        except BlocksError as err:
            raise ApiError(err.code, [err.message]) from err

    @staticmethod
    def _check_hash(view: View, args: Args) -> None:
        expected = _text_arg(args, "hash")
        if expected is not None and expected != view.hash:
            raise ApiError("hash_conflict")

    # --- methods -------------------------------------------------------------------------

    async def api_test(self, args: Args) -> JsonDict:
        return {"args": {k: v for k, v in args.items() if k != "token"}}

    async def auth_test(self, args: Args) -> JsonDict:
        return {
            "url": f"{self.config.base_url}/",
            "team": self.state.team_name,
            "user": self.state.bot_name,
            "team_id": self.state.team_id,
            "user_id": self.state.bot_user_id,
            "bot_id": self.state.bot_id,
            "is_enterprise_install": False,
        }

    async def chat_post_message(self, args: Args) -> JsonDict:
        channel = self._channel(args)
        metadata = args.get("metadata") if isinstance(args.get("metadata"), dict) else None
        message = self._post_as_bot(channel, args, metadata=metadata)
        return {
            "channel": channel.id,
            "ts": message.ts,
            "message": message.to_api(self.state.bot_name),
        }

    def _post_as_bot(
        self,
        channel: Channel,
        args: Args,
        *,
        ephemeral_to: str | None = None,
        metadata: JsonDict | None = None,
    ) -> Message:
        """The bot's message with the call's text, blocks, attachments and thread."""
        text, blocks, attachments = self._content(args)
        return self.state.post(
            channel.id,
            author=self.state.bot_user_id,
            text=text,
            blocks=blocks,
            attachments=attachments,
            thread_ts=_text_arg(args, "thread_ts"),
            ephemeral_to=ephemeral_to,
            metadata=metadata,
        )

    async def chat_update(self, args: Args) -> JsonDict:
        channel = self._channel(args)
        ts = _text_arg(args, "ts")
        if ts is None:
            raise ApiError("invalid_arguments", ["[ERROR] missing required field: ts"])
        message = self.state.find_message(channel.id, ts)
        if message is None:
            raise ApiError("message_not_found")
        if message.user != self.state.bot_user_id:
            raise ApiError("cant_update_message")
        text, blocks, attachments = self._content(args)
        # Slack keeps the previous blocks when `blocks` is not given at all.
        self.state.replace_message(
            message,
            text=text,
            blocks=blocks,
            attachments=attachments,
            replace_blocks="blocks" in args or "attachments" in args,
        )
        return {
            "channel": channel.id,
            "ts": message.ts,
            "text": message.text,
            "message": message.to_api(self.state.bot_name),
        }

    async def chat_post_ephemeral(self, args: Args) -> JsonDict:
        channel = self._channel(args)
        user_id = _text_arg(args, "user")
        if user_id is None:
            raise ApiError("invalid_arguments", ["[ERROR] missing required field: user"])
        if user_id not in self.state.users:
            raise ApiError("user_not_found")
        if not self.state.is_member(channel, user_id):
            raise ApiError("user_not_in_channel")
        message = self._post_as_bot(channel, args, ephemeral_to=user_id)
        return {"message_ts": message.ts}

    async def conversations_open(self, args: Args) -> JsonDict:
        users_arg = args.get("users")
        if isinstance(users_arg, list):
            users = [str(u) for u in users_arg]
        else:
            users = [u.strip() for u in str(users_arg or "").split(",") if u.strip()]
        channel_id = _text_arg(args, "channel")
        if channel_id is not None and not users:
            found = self.state.channels.get(channel_id)
            if found is None or found.is_public or self.state.bot_user_id not in found.members:
                raise ApiError("channel_not_found")
            return {"no_op": True, "already_open": True, "channel": found.to_api()}
        if not users:
            raise ApiError("users_list_not_supplied")
        if len(users) > 8:
            raise ApiError("too_many_users")
        for user_id in users:
            if user_id not in self.state.users:
                raise ApiError("user_not_found")
        others = [u for u in users if u != self.state.bot_user_id] or users
        existing = self.state.find_conversation([self.state.bot_user_id, *others])
        channel = self.state.open_conversation(self.state.bot_user_id, others)
        full = _truthy(args.get("return_im"))
        body: JsonDict = {
            "channel": channel.to_api(self.state.bot_user_id) if full else {"id": channel.id}
        }
        if existing is not None:
            body.update(no_op=True, already_open=True)
        return body

    async def conversations_join(self, args: Args) -> JsonDict:
        # Slack takes a channel ID here, not a name.
        channel = self._public_channel_by_id(args)
        bot = self.state.bot_user_id
        already = self.state.is_member(channel, bot)
        self.state.join(channel, bot)
        body: JsonDict = {"channel": channel.to_api(bot)}
        if already:
            body["warning"] = "already_in_channel"
            body["response_metadata"] = {"warnings": ["already_in_channel"]}
        return body

    async def conversations_list(self, args: Args) -> JsonDict:
        types = {t.strip() for t in str(args.get("types") or "public_channel").split(",")}
        bot = self.state.bot_user_id
        found = [
            c
            for c in self.state.channels.values()
            if (c.is_public and "public_channel" in types)
            or (c.kind == "im" and "im" in types and bot in c.members)
            or (c.kind == "mpim" and "mpim" in types and bot in c.members)
        ]
        # Everything fits on one page here; the cursor says so the way Slack does.
        return {
            "channels": [c.to_api(bot, is_member=self.state.is_member(c, bot)) for c in found],
            "response_metadata": {"next_cursor": ""},
        }

    async def conversations_info(self, args: Args) -> JsonDict:
        channel_id = _text_arg(args, "channel")
        channel = self.state.channels.get(channel_id or "")
        bot = self.state.bot_user_id
        if channel is None or (not channel.is_public and not self.state.is_member(channel, bot)):
            raise ApiError("channel_not_found")
        return {"channel": channel.to_api(bot, is_member=self.state.is_member(channel, bot))}

    async def conversations_history(self, args: Args) -> JsonDict:
        """Newest first, `limit` (default 100) at most, ephemeral messages never included; one
        page (no cursor). Metadata is included only with `include_all_metadata`, as in Slack."""
        channel_id = _text_arg(args, "channel")
        channel = self.state.channels.get(channel_id or "")
        bot = self.state.bot_user_id
        if channel is None or not self.state.is_member(channel, bot):
            raise ApiError(
                "channel_not_found"
                if channel is None or not channel.is_public
                else "not_in_channel"
            )
        try:
            limit = max(1, min(int(args.get("limit") or 100), 999))
        except ValueError as err:
            raise ApiError("invalid_limit") from err
        with_metadata = _truthy(args.get("include_all_metadata"))
        found = [m for m in self.state.messages.get(channel.id, []) if not m.is_ephemeral]
        messages = []
        for message in reversed(found[-limit:]):
            data = message.to_api(self.state.bot_name)
            if not with_metadata:
                data.pop("metadata", None)
            messages.append(data)
        return {
            "messages": messages,
            "has_more": len(found) > limit,
            "response_metadata": {"next_cursor": ""},
        }

    async def users_info(self, args: Args) -> JsonDict:
        user_id = _text_arg(args, "user")
        if user_id is None:
            raise ApiError("invalid_arguments", ["[ERROR] missing required field: user"])
        user = self.state.users.get(user_id)
        if user is None:
            raise ApiError("user_not_found")
        return {"user": user.to_api()}

    def _redeem(self, args: Args) -> str:
        trigger_id = _text_arg(args, "trigger_id") or _text_arg(args, "interactivity_pointer")
        if trigger_id is None:
            raise ApiError("invalid_arguments", ["[ERROR] missing required field: trigger_id"])
        trigger = self.state.redeem_trigger(trigger_id)
        if isinstance(trigger, str):
            raise ApiError(trigger)
        return trigger.user_id

    async def views_open(self, args: Args) -> JsonDict:
        data = self._view_arg(args, ("modal",))
        user_id = self._redeem(args)
        return {"view": self.state.open_modal(user_id, data).to_api()}

    async def views_push(self, args: Args) -> JsonDict:
        data = self._view_arg(args, ("modal",))
        user_id = self._redeem(args)
        if len(self.state.modal_stacks.get(user_id, [])) >= 3:
            raise ApiError("push_limit_reached")
        return {"view": self.state.push_modal(user_id, data).to_api()}

    async def views_update(self, args: Args) -> JsonDict:
        view_id = _text_arg(args, "view_id")
        external_id = _text_arg(args, "external_id")
        if view_id is None and external_id is None:
            raise ApiError(
                "invalid_arguments", ["[ERROR] either view_id or external_id is required"]
            )
        view = (
            self.state.views.get(view_id)
            if view_id is not None
            else self.state.find_view_by_external_id(external_id or "")
        )
        if view is None:
            raise ApiError("not_found")
        data = self._view_arg(args, (view.type,))
        self._check_hash(view, args)
        return {"view": self.state.update_view(view, data).to_api()}

    async def views_publish(self, args: Args) -> JsonDict:
        user_id = _text_arg(args, "user_id")
        if user_id is None:
            raise ApiError("invalid_arguments", ["[ERROR] missing required field: user_id"])
        data = self._view_arg(args, ("home",))
        if user_id not in self.state.users or self.state.users[user_id].is_bot:
            raise ApiError("user_not_found")
        existing = self.state.home_views.get(user_id)
        if existing is not None:
            self._check_hash(existing, args)
        return {"view": self.state.publish_home(user_id, data).to_api()}
