"""The `response_url` endpoint Slack gives with each command and message interaction.

An app POSTs JSON to it to answer later than the 3-second acknowledgement: a new ephemeral
or in-channel message, or replacing / deleting the message the interaction came from. As at
Slack, a response URL works up to 5 times within 30 minutes.
"""

from __future__ import annotations

import json
import time

from aiohttp import web

from slack_workspace.blocks import BlocksError, JsonDict, validate_blocks
from slack_workspace.state import ResponseUrl, WorkspaceState

MAX_USES = 5
LIFETIME_SECONDS = 30 * 60


class ResponseUrlApi:
    def __init__(self, state: WorkspaceState) -> None:
        self.state = state

    def routes(self) -> list[web.RouteDef]:
        return [web.post("/response/{token}", self.handle)]

    async def _body(self, request: web.Request) -> JsonDict | None:
        try:
            if request.content_type == "application/x-www-form-urlencoded":
                form = await request.post()
                raw = form.get("payload")
                data = json.loads(raw) if isinstance(raw, str) else None
            else:
                data = json.loads(await request.text())
        except json.JSONDecodeError:
            return None
        return data if isinstance(data, dict) else None

    async def handle(self, request: web.Request) -> web.Response:
        record = self.state.response_urls.get(request.match_info["token"])
        if record is None or time.monotonic() - record.created > LIFETIME_SECONDS:
            return web.json_response({"ok": False, "error": "expired_url"}, status=404)
        if record.uses >= MAX_USES:
            return web.json_response({"ok": False, "error": "used_url"}, status=404)
        body = await self._body(request)
        if body is None:
            return web.json_response({"ok": False, "error": "invalid_payload"}, status=400)
        error = self._apply(record, body)
        if error is not None:
            return web.json_response({"ok": False, "error": error}, status=400)
        record.uses += 1
        return web.json_response({"ok": True})

    def _apply(self, record: ResponseUrl, body: JsonDict) -> str | None:
        original = (
            self.state.find_message(record.channel_id, record.original_ts, record.user_id)
            if record.original_ts
            else None
        )
        if body.get("delete_original") in (True, "true"):
            if original is not None:
                self.state.delete_message(original)
                record.original_ts = None
            return None
        text = str(body.get("text") or "")
        try:
            blocks = validate_blocks(body["blocks"]) if body.get("blocks") else None
        except BlocksError as err:
            return err.code
        attachments = body.get("attachments") or None
        if not text and blocks is None and attachments is None:
            return "no_text"
        if body.get("replace_original") in (True, "true") and original is not None:
            self.state.replace_message(original, text=text, blocks=blocks, attachments=attachments)
            return None
        in_channel = body.get("response_type") == "in_channel"
        message = self.state.post(
            record.channel_id,
            author=self.state.bot_user_id,
            text=text,
            blocks=blocks,
            attachments=attachments,
            thread_ts=body.get("thread_ts") if isinstance(body.get("thread_ts"), str) else None,
            ephemeral_to=None if in_channel else record.user_id,
        )
        if record.original_ts is None:
            record.original_ts = message.ts
        return None
