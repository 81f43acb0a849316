"""What Slack gets back when a listener fails: a 200 with a message for the person, in the form
each kind of request understands. Never a 500 (Slack would show "failed with the error
dispatch_failed" or retry the delivery)."""

from __future__ import annotations

import json
from typing import Any

from slack_bolt.response import BoltResponse

from bot.slack import blocks


def error_answer(body: Any) -> BoltResponse:
    kind = body.get("type") if isinstance(body, dict) else None
    if kind == "view_submission":
        answer: dict[str, Any] = {"response_action": "update", "view": _error_view()}
    elif isinstance(body, dict) and body.get("command"):
        answer = {"response_type": "ephemeral", "text": blocks.SOMETHING_WENT_WRONG}
    else:
        # Buttons and events: an empty 200 acknowledges; nothing is left half-done to retry.
        return BoltResponse(status=200, body="")
    return BoltResponse(
        status=200,
        body=json.dumps(answer),
        headers={"content-type": "application/json;charset=utf-8"},
    )


def _error_view() -> blocks.Block:
    return {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Not sent"},
        "close": {"type": "plain_text", "text": "Close"},
        "blocks": [blocks.text(blocks.SOMETHING_WENT_WRONG)],
    }
