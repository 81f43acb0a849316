"""Reading the parts of Slack's interaction payloads the listeners need, without trusting their
shape: a missing or odd field gives None (the listener then answers clearly), never a KeyError.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from domain.request_ids import parse_request_id


def _dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


@dataclass(frozen=True)
class Click:
    user: str
    value: str
    channel: str
    ts: str
    trigger_id: str
    in_home: bool = False
    """Clicked in the App Home tab: no message, no response_url; answered by republishing it."""


def read_click(body: Any) -> Click | None:
    """The clicked button of a block_actions payload, or None when it lacks what we need."""
    body = _dict(body)
    actions = body.get("actions")
    action = _dict(actions[0]) if isinstance(actions, list) and actions else {}
    container = _dict(body.get("container"))
    click = Click(
        user=_str(_dict(body.get("user")).get("id")),
        value=_str(action.get("value")),
        channel=_str(container.get("channel_id")),
        ts=_str(container.get("message_ts")),
        trigger_id=_str(body.get("trigger_id")),
        in_home=container.get("type") == "view" and _dict(body.get("view")).get("type") == "home",
    )
    return click if click.user and click.value else None


def button_request_id(click: Click) -> str | None:
    """The request a button names (approve/reject carry the id; flag carries id|build)."""
    return parse_request_id(click.value.partition("|")[0])


def text_value(values: dict[str, Any], block_id: str) -> str:
    """A plain-text input's value (action id `value`) in a submitted view; '' when absent."""
    return _str(_dict(_dict(values.get(block_id)).get("value")).get("value"))


def message_blocks(body: Any) -> list[Any] | None:
    """The blocks of the message a button sits on, as Slack sent them."""
    found = _dict(_dict(body).get("message")).get("blocks")
    return found if isinstance(found, list) else None


@dataclass(frozen=True)
class Submission:
    user: str
    view_id: str
    values: dict[str, Any]
    private_metadata: str


def read_submission(body: Any) -> Submission | None:
    """A view_submission's submitter, view id and input values, or None when they are missing."""
    body = _dict(body)
    view = _dict(body.get("view"))
    submission = Submission(
        user=_str(_dict(body.get("user")).get("id")),
        view_id=_str(view.get("id")),
        values=_dict(_dict(view.get("state")).get("values")),
        private_metadata=_str(view.get("private_metadata")),
    )
    return submission if submission.user and submission.view_id else None
