"""The bodies Slack sends to an app's request URL, built from workspace state.

Shapes follow Slack's reference for slash commands (form fields) and for the block_actions,
view_submission and view_closed interaction payloads (sent as form field `payload=<json>`).
"""

from __future__ import annotations

import time
from typing import Any

from slack_workspace.blocks import JsonDict
from slack_workspace.state import Channel, Message, User, View, WorkspaceState


def _team(state: WorkspaceState) -> JsonDict:
    return {"id": state.team_id, "domain": state.team_domain}


def _interaction(
    state: WorkspaceState, kind: str, user: User, verification_token: str, **fields: Any
) -> JsonDict:
    """An interaction payload: what every kind carries, then the kind's own `fields`."""
    return {
        "type": kind,
        "team": _team(state),
        "user": user.to_ref(),
        "api_app_id": state.app_id,
        "token": verification_token,
        "is_enterprise_install": False,
        "enterprise": None,
        **fields,
    }


def action_ts() -> str:
    return f"{time.time():.6f}"


def command_fields(
    state: WorkspaceState,
    *,
    user: User,
    channel: Channel,
    command: str,
    text: str,
    response_url: str,
    trigger_id: str,
    verification_token: str,
) -> dict[str, str]:
    return {
        "token": verification_token,
        "team_id": state.team_id,
        "team_domain": state.team_domain,
        "channel_id": channel.id,
        "channel_name": channel.name,
        "user_id": user.id,
        "user_name": user.name,
        "command": command,
        "text": text,
        "api_app_id": state.app_id,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": trigger_id,
    }


def action_entry(block: JsonDict, element: JsonDict, raw: Any) -> JsonDict:
    """One entry of `actions`: the element as clicked or picked."""
    entry: JsonDict = {
        "action_id": element.get("action_id"),
        "block_id": block.get("block_id"),
        "type": element.get("type"),
        "action_ts": action_ts(),
    }
    kind = element.get("type")
    if kind == "button":
        entry["text"] = element.get("text")
        if "value" in element or raw is not None:
            entry["value"] = raw if raw is not None else element.get("value")
        if "style" in element:
            entry["style"] = element["style"]
        if "url" in element:
            entry["url"] = element["url"]
    elif kind in ("static_select", "external_select", "radio_buttons", "overflow"):
        entry["selected_option"] = raw
        if "placeholder" in element:
            entry["placeholder"] = element["placeholder"]
    elif isinstance(raw, dict):
        entry.update(raw)
    else:
        entry["value"] = raw
    return entry


def block_actions(
    state: WorkspaceState,
    *,
    user: User,
    action: JsonDict,
    trigger_id: str,
    verification_token: str,
    message: Message | None = None,
    channel: Channel | None = None,
    response_url: str | None = None,
    view: View | None = None,
) -> JsonDict:
    payload = _interaction(state, "block_actions", user, verification_token, trigger_id=trigger_id)
    if view is not None:
        payload["container"] = {"type": "view", "view_id": view.id}
        payload["view"] = view.to_api()
        payload["state"] = {"values": payload["view"]["state"]["values"]}
    elif message is not None and channel is not None:
        payload["container"] = {
            "type": "message",
            "message_ts": message.ts,
            "channel_id": channel.id,
            "is_ephemeral": message.is_ephemeral,
        }
        payload["channel"] = {"id": channel.id, "name": channel.name}
        if not message.is_ephemeral:
            # Slack does not send the content of ephemeral messages back to the app.
            payload["message"] = message.to_api(state.bot_name)
        payload["state"] = {"values": {}}
        payload["response_url"] = response_url
    payload["actions"] = [action]
    return payload


def view_submission(
    state: WorkspaceState, *, user: User, view: View, trigger_id: str, verification_token: str
) -> JsonDict:
    return _interaction(
        state,
        "view_submission",
        user,
        verification_token,
        trigger_id=trigger_id,
        view=view.to_api(),
        response_urls=[],
    )


def view_closed(
    state: WorkspaceState, *, user: User, view: View, verification_token: str, cleared: bool
) -> JsonDict:
    return _interaction(
        state, "view_closed", user, verification_token, view=view.to_api(), is_cleared=cleared
    )


def app_home_opened(state: WorkspaceState, *, user: User, channel: Channel, tab: str) -> JsonDict:
    """The app_home_opened event; `view` only for the Home tab once a view was published."""
    event: JsonDict = {
        "type": "app_home_opened",
        "user": user.id,
        "channel": channel.id,
        "tab": tab,
        "event_ts": action_ts(),
    }
    home = state.home_views.get(user.id)
    if tab == "home" and home is not None:
        event["view"] = home.to_api()
    return event
