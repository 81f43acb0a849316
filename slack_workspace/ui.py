"""The browser side: a small Slack-like page at `/` and the JSON API it talks to (/ui/...).

Kept apart from /api/ on purpose: /api/ is Slack's Web API for the bot; /ui/ is how a person
(in the browser) acts in the workspace, and the workspace then delivers to the bot as Slack.
Live updates are Server-Sent Events: the page is told "something changed" and re-reads
/ui/state, which keeps the protocol tiny and the page always consistent with the server.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from aiohttp import web

from slack_workspace.blocks import JsonDict
from slack_workspace.config import WorkspaceConfig
from slack_workspace.delivery import Deliverer, DeliveryResult
from slack_workspace.events_api import EventDelivery
from slack_workspace.state import SLACKBOT_ID, Channel, Message, View, WorkspaceState

STATIC_DIR = Path(__file__).with_name("static")
KEEPALIVE_SECONDS = 15.0


def _bad(reason: str, status: int = 400) -> web.Response:
    return web.json_response({"ok": False, "error": reason}, status=status)


def result_json(result: DeliveryResult | None) -> JsonDict | None:
    if result is None:
        return None
    return {**dataclasses.asdict(result), "ok": result.ok}


async def _delivered(delivery: Awaitable[DeliveryResult | None]) -> web.Response:
    """The page's answer to a delivery it asked for: the result, or why it could not be made."""
    try:
        result = await delivery
    except LookupError as err:
        return _bad(str(err))
    return web.json_response({"ok": True, "result": result_json(result)})


OpenAppHome = Callable[[str, str], Awaitable[EventDelivery | None]]


class UiApi:
    def __init__(
        self,
        state: WorkspaceState,
        config: WorkspaceConfig,
        deliverer: Deliverer,
        open_app_home: OpenAppHome,
    ):
        self.state = state
        self.config = config
        self.deliverer = deliverer
        self.open_app_home = open_app_home
        self._closing = False

    def routes(self) -> list[web.AbstractRouteDef]:
        return [
            web.get("/", self.index),
            web.static("/static", STATIC_DIR),
            web.get("/ui/people", self.get_people),
            web.get("/ui/state", self.get_state),
            web.get("/ui/events", self.events),
            web.post("/ui/command", self.command),
            web.post("/ui/message", self.message),
            web.post("/ui/action", self.action),
            web.post("/ui/view_submit", self.view_submit),
            web.post("/ui/view_close", self.view_close),
            web.post("/ui/dismiss", self.dismiss),
            web.post("/ui/app_home_opened", self.app_home_opened),
        ]

    def add_to(self, app: web.Application) -> None:
        app.add_routes(self.routes())
        app.on_response_prepare.append(self._no_cache)

    @staticmethod
    async def _no_cache(request: web.Request, response: web.StreamResponse) -> None:
        # The page's files change with the code; make browsers re-check instead of caching.
        if request.path == "/" or request.path.startswith("/static/"):
            response.headers["Cache-Control"] = "no-cache"

    def reopen(self) -> None:
        self._closing = False

    def close(self) -> None:
        """Let open event streams finish so the server can stop promptly."""
        self._closing = True
        self.state.feed.bump()

    async def index(self, request: web.Request) -> web.FileResponse:
        return web.FileResponse(STATIC_DIR / "index.html")

    # --- reading -------------------------------------------------------------------------

    def _person(self, user_id: str | None) -> str | None:
        user = self.state.users.get(user_id or "")
        return user.id if user is not None and not user.is_bot else None

    def _label(self, channel: Channel, me: str) -> str:
        if channel.is_public:
            return f"#{channel.name}"
        others = [self.state.users[m].real_name for m in channel.members if m != me]
        return ", ".join(others) or self.state.users[me].real_name

    def _message(self, message: Message) -> JsonDict:
        data = message.to_api(self.state.bot_name)
        data["ephemeral"] = message.is_ephemeral
        return data

    def _view(self, view: View | None) -> JsonDict | None:
        return None if view is None else view.on_screen()

    def state_for(self, user_id: str) -> JsonDict:
        state = self.state
        # The app's DM always exists in Slack's sidebar ("Messages" tab of the app).
        state.open_conversation(user_id, [state.bot_user_id])
        channels = state.visible_channels(user_id)
        return {
            "version": state.feed.version,
            "team": {"id": state.team_id, "name": state.team_name, "domain": state.team_domain},
            "me": user_id,
            "bot": {"id": state.bot_user_id, "name": state.bot_name},
            "people": [
                {"id": u.id, "name": u.name, "real_name": u.real_name} for u in state.people
            ],
            "users": {
                u.id: {"name": u.name, "real_name": u.real_name, "is_bot": u.is_bot}
                for u in state.users.values()
            },
            "commands": sorted(self.config.commands),
            "channels": [
                {
                    "id": c.id,
                    "kind": c.kind,
                    "label": self._label(c, user_id),
                    "is_app_dm": c.kind == "im" and state.bot_user_id in c.members,
                }
                for c in channels
            ],
            "messages": {
                c.id: [
                    self._message(m)
                    for m in state.messages[c.id]
                    if m.ephemeral_to is None or m.ephemeral_to == user_id
                ]
                for c in channels
            },
            "modal": self._view(state.current_modal(user_id)),
            "home": self._view(state.home_views.get(user_id)),
        }

    async def get_people(self, request: web.Request) -> web.Response:
        people = [{"id": u.id, "name": u.name, "real_name": u.real_name} for u in self.state.people]
        return web.json_response({"ok": True, "people": people})

    async def get_state(self, request: web.Request) -> web.Response:
        user_id = self._person(request.query.get("user"))
        if user_id is None:
            return _bad("user_not_found", 404)
        return web.json_response(self.state_for(user_id))

    async def events(self, request: web.Request) -> web.StreamResponse:
        response = web.StreamResponse(
            headers={"Content-Type": "text/event-stream", "Cache-Control": "no-cache"}
        )
        await response.prepare(request)
        seen = -1
        try:
            while not self._closing:
                if self.state.feed.version != seen:
                    seen = self.state.feed.version
                    await response.write(f"event: change\ndata: {seen}\n\n".encode())
                elif not await self.state.feed.wait_past(seen, KEEPALIVE_SECONDS):
                    await response.write(b": keep-alive\n\n")
        except (ConnectionResetError, ConnectionError):
            pass  # the page went away
        return response

    # --- acting --------------------------------------------------------------------------

    async def _json(self, request: web.Request) -> dict[str, Any]:
        try:
            data = await request.json()
        except json.JSONDecodeError:
            return {}
        return data if isinstance(data, dict) else {}

    async def command(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        user_id = self._person(data.get("user"))
        channel = self.state.channels.get(str(data.get("channel")))
        text = str(data.get("text") or "").strip()
        if user_id is None or channel is None or not text.startswith("/"):
            return _bad("invalid_arguments")
        command, _, args = text.partition(" ")
        if command not in self.config.commands:
            self.state.post(
                channel.id,
                author=SLACKBOT_ID,
                text=f"{command} is not a valid command. In Slack, all messages that start "
                'with the "/" character are interpreted as commands.',
                ephemeral_to=user_id,
            )
            return web.json_response({"ok": True, "result": None})
        return await _delivered(self.deliverer.command(user_id, channel.id, command, args.strip()))

    async def message(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        user_id = self._person(data.get("user"))
        channel = self.state.channels.get(str(data.get("channel")))
        text = str(data.get("text") or "").strip()
        if user_id is None or channel is None or not text:
            return _bad("invalid_arguments")
        if not self.state.is_member(channel, user_id):
            return _bad("not_in_channel")
        message = self.state.post(channel.id, author=user_id, text=text)
        return web.json_response({"ok": True, "ts": message.ts})

    async def action(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        user_id = self._person(data.get("user"))
        action_id = data.get("action_id")
        if user_id is None or not isinstance(action_id, str):
            return _bad("invalid_arguments")
        return await _delivered(
            self.deliverer.block_action(
                user_id,
                action_id=action_id,
                block_id=data.get("block_id"),
                channel_ref=data.get("channel"),
                ts=data.get("ts"),
                view_id=data.get("view_id"),
                value=data.get("value"),
            )
        )

    async def view_submit(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        user_id = self._person(data.get("user"))
        values = data.get("values") or {}
        if user_id is None or not isinstance(values, dict):
            return _bad("invalid_arguments")
        return await _delivered(
            self.deliverer.view_submission(user_id, str(data.get("view_id")), values)
        )

    async def view_close(self, request: web.Request) -> web.Response:
        data = await self._json(request)
        user_id = self._person(data.get("user"))
        if user_id is None:
            return _bad("invalid_arguments")
        return await _delivered(self.deliverer.close_view(user_id, str(data.get("view_id"))))

    async def dismiss(self, request: web.Request) -> web.Response:
        """Slack's "Dismiss message" link under an ephemeral message."""
        data = await self._json(request)
        user_id = self._person(data.get("user"))
        message = self.state.find_message(
            str(data.get("channel")), str(data.get("ts")), visible_to=user_id
        )
        if user_id is None or message is None or message.ephemeral_to != user_id:
            return _bad("message_not_found")
        self.state.delete_message(message)
        return web.json_response({"ok": True})

    async def app_home_opened(self, request: web.Request) -> web.Response:
        """The person opened the app's Home or Messages tab: Slack tells the app (Events API)."""
        data = await self._json(request)
        user_id = self._person(data.get("user"))
        tab = data.get("tab")
        if user_id is None or tab not in ("home", "messages"):
            return _bad("invalid_arguments")
        delivery = await self.open_app_home(user_id, tab)
        acked = delivery is not None and delivery.acked
        return web.json_response({"ok": True, "delivered": delivery is not None, "acked": acked})
