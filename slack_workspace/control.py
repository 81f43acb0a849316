"""/control/...: steer the workspace from outside its process (tests driving apps that run as
separate processes). Not part of Slack: the workspace's own test API, documented in the README.

    POST   /control/faults   {"method": "chat.postMessage", "kind": "rate_limited", "times": 2,
                              "retry_after": 3}          -> {"ok": true, "fault": {...}}
    GET    /control/faults   the faults still waiting to happen
    DELETE /control/faults   forget them all
    GET    /control/calls    every Web API call so far (?method=chat.postMessage to filter)
    PUT    /control/scopes   {"scopes": ["chat:write", ...]}: the app's grants, as on re-install
    POST   /control/membership {"channel": "purchasing-ops", "member": false}: remove the bot
                              from a public channel (true: invite it)
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from slack_workspace.faults import Fault, FaultPlan, FaultSpecError
from slack_workspace.scopes import Grants
from slack_workspace.state import WorkspaceState


def _bad(reason: str, status: int = 400) -> web.Response:
    return web.json_response({"ok": False, "error": reason}, status=status)


async def _body(request: web.Request) -> Any:
    try:
        return await request.json()
    except json.JSONDecodeError:
        return None


class ControlApi:
    def __init__(self, state: WorkspaceState, faults: FaultPlan, grants: Grants) -> None:
        self.state = state
        self.faults = faults
        self.grants = grants

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post("/control/faults", self.add_fault),
            web.get("/control/faults", self.list_faults),
            web.delete("/control/faults", self.clear_faults),
            web.get("/control/calls", self.list_calls),
            web.put("/control/scopes", self.set_scopes),
            web.post("/control/membership", self.set_membership),
        ]

    async def add_fault(self, request: web.Request) -> web.Response:
        try:
            fault = self.faults.add(Fault.from_json(await _body(request)))
        except FaultSpecError as err:
            return _bad(str(err))
        return web.json_response({"ok": True, "fault": fault.to_json()})

    async def list_faults(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"ok": True, "faults": [f.to_json() for f in self.faults.pending()]}
        )

    async def clear_faults(self, request: web.Request) -> web.Response:
        self.faults.clear()
        return web.json_response({"ok": True})

    async def list_calls(self, request: web.Request) -> web.Response:
        method = request.query.get("method")
        calls = [c.to_json() for c in self.faults.calls if method in (None, c.method)]
        return web.json_response({"ok": True, "calls": calls})

    async def set_scopes(self, request: web.Request) -> web.Response:
        body = await _body(request)
        scopes = body.get("scopes") if isinstance(body, dict) else None
        if not isinstance(scopes, list) or not all(isinstance(s, str) for s in scopes):
            return _bad("scopes: a list of scope names")
        self.grants.scopes = frozenset(scopes)
        return web.json_response({"ok": True, "scopes": sorted(self.grants.scopes)})

    async def set_membership(self, request: web.Request) -> web.Response:
        body = await _body(request)
        if not isinstance(body, dict) or not isinstance(body.get("member"), bool):
            return _bad('give {"channel": "<name or id>", "member": true|false}')
        channel = self.state.resolve_channel(str(body.get("channel", "")), self.state.bot_user_id)
        if channel is None or not channel.is_public:
            return _bad("channel_not_found", 404)
        if body["member"]:
            self.state.join(channel, self.state.bot_user_id)
        else:
            self.state.leave(channel, self.state.bot_user_id)
        return web.json_response({"ok": True, "channel": channel.id})
