"""The Web API, called with slack-sdk's real AsyncWebClient as the bot will call it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slack_workspace import LocalSlackWorkspace
from tests.slack_workspace.conftest import Receiver

TS = re.compile(r"^\d{10}\.\d{6}$")
BLOCKS: list[dict[str, Any]] = [
    {"type": "header", "text": {"type": "plain_text", "text": "Purchase request"}},
    {"type": "section", "text": {"type": "mrkdwn", "text": "*Laptop* for <@UALICE>"}},
    {
        "type": "actions",
        "block_id": "decision",
        "elements": [
            {
                "type": "button",
                "action_id": "approve",
                "text": {"type": "plain_text", "text": "Approve"},
                "style": "primary",
                "value": "req-1",
            }
        ],
    },
]
MODAL: dict[str, Any] = {
    "type": "modal",
    "callback_id": "purchase_form",
    "title": {"type": "plain_text", "text": "New purchase"},
    "submit": {"type": "plain_text", "text": "Submit"},
    "private_metadata": "meta",
    "blocks": [
        {
            "type": "input",
            "block_id": "item",
            "label": {"type": "plain_text", "text": "Item"},
            "element": {"type": "plain_text_input", "action_id": "item_input"},
        }
    ],
}


async def api_error(call: object) -> str:
    with pytest.raises(SlackApiError) as caught:
        await call  # type: ignore[misc]
    return str(caught.value.response["error"])


async def trigger_from_command(ws: LocalSlackWorkspace, receiver: Receiver) -> str:
    result = await ws.send_command("UALICE", "/purchase", "")
    assert result.ok, result
    return str(receiver.last.body["trigger_id"])


async def test_auth_test_reports_the_bot(ws: LocalSlackWorkspace, client: AsyncWebClient) -> None:
    response = await client.auth_test()
    assert response["ok"] is True
    assert response["user_id"] == ws.bot_user_id
    assert response["team_id"] == ws.team_id
    assert response["bot_id"].startswith("B")
    assert ws.api_url.endswith("/api/")


async def test_wrong_token_is_invalid_auth(ws: LocalSlackWorkspace) -> None:
    wrong = AsyncWebClient(token="xoxb-not-the-token", base_url=ws.api_url)
    assert await api_error(wrong.auth_test()) == "invalid_auth"
    assert await api_error(wrong.chat_postMessage(channel="general", text="x")) == "invalid_auth"


async def test_missing_token_is_not_authed(ws: LocalSlackWorkspace) -> None:
    anonymous = AsyncWebClient(base_url=ws.api_url)
    assert await api_error(anonymous.auth_test()) == "not_authed"


async def test_token_as_form_field_is_accepted(
    ws: LocalSlackWorkspace, client: AsyncWebClient
) -> None:
    anonymous = AsyncWebClient(base_url=ws.api_url)
    response = await anonymous.api_call("auth.test", data={"token": ws.bot_token})
    assert response["ok"] is True


async def test_unknown_method(client: AsyncWebClient) -> None:
    assert await api_error(client.api_call("chat.explode")) == "unknown_method"


async def test_post_message_returns_documented_fields(
    ws: LocalSlackWorkspace, client: AsyncWebClient
) -> None:
    first = await client.chat_postMessage(channel="#general", text="hello", blocks=BLOCKS)
    second = await client.chat_postMessage(channel=first["channel"], text="again")
    assert first["channel"] == ws.channel_id("general")
    assert TS.match(first["ts"]) and TS.match(second["ts"])
    assert float(second["ts"]) > float(first["ts"])
    message = first["message"]
    assert message["text"] == "hello"
    assert message["user"] == ws.bot_user_id and message["bot_id"]
    assert message["ts"] == first["ts"]
    assert [b["type"] for b in message["blocks"]] == ["header", "section", "actions"]
    assert all(b.get("block_id") for b in message["blocks"])  # Slack fills in block ids
    assert [m.text for m in ws.messages("general")] == ["hello", "again"]


async def test_post_message_to_a_user_goes_to_the_app_dm(
    ws: LocalSlackWorkspace, client: AsyncWebClient
) -> None:
    response = await client.chat_postMessage(channel="UALICE", text="your request")
    assert response["channel"].startswith("D")
    assert response["channel"] == ws.dm_channel(ws.bot_user_id, "UALICE")
    assert ws.messages_for("UALICE", include_public=False)[-1].text == "your request"
    assert ws.messages_for("UCARLOS", include_public=False) == []


async def test_post_message_form_encoded(ws: LocalSlackWorkspace, client: AsyncWebClient) -> None:
    # Form data with blocks as a JSON string, the other way Slack accepts arguments.
    response = await client.api_call(
        "chat.postMessage",
        data={"channel": "general", "text": "form", "blocks": json.dumps(BLOCKS)},
    )
    assert response["message"]["blocks"][0]["type"] == "header"


@pytest.mark.filterwarnings("ignore:The top-level `text` argument is missing:UserWarning")
async def test_post_message_errors(client: AsyncWebClient) -> None:
    assert await api_error(client.chat_postMessage(channel="nowhere", text="x")) == (
        "channel_not_found"
    )
    assert await api_error(client.chat_postMessage(channel="general")) == "no_text"
    bad = [{"type": "section"}]
    assert await api_error(client.chat_postMessage(channel="general", blocks=bad)) == (
        "invalid_blocks"
    )
    assert await api_error(client.api_call("chat.postMessage", json={"text": "x"})) == (
        "channel_not_found"
    )


async def test_chat_update(ws: LocalSlackWorkspace, client: AsyncWebClient) -> None:
    posted = await client.chat_postMessage(channel="general", text="pending", blocks=BLOCKS)
    updated = await client.chat_update(channel=posted["channel"], ts=posted["ts"], text="done")
    assert updated["ts"] == posted["ts"] and updated["channel"] == posted["channel"]
    assert updated["text"] == "done" and updated["message"]["text"] == "done"
    # Without `blocks`, Slack keeps the message's blocks.
    assert len(updated["message"]["blocks"]) == 3
    replaced = await client.chat_update(
        channel=posted["channel"], ts=posted["ts"], text="approved", blocks=BLOCKS[:1]
    )
    assert len(replaced["message"]["blocks"]) == 1
    (message,) = ws.messages("general")
    assert message.text == "approved" and message.edited_ts is not None


async def test_chat_update_errors(ws: LocalSlackWorkspace, client: AsyncWebClient) -> None:
    channel = ws.channel_id("general")
    assert await api_error(client.chat_update(channel=channel, ts="1.000000", text="x")) == (
        "message_not_found"
    )
    assert await api_error(client.chat_update(channel="CNOPE", ts="1.000000", text="x")) == (
        "channel_not_found"
    )
    assert await api_error(client.api_call("chat.update", json={"channel": channel})) == (
        "invalid_arguments"
    )
    mine = ws.post_as("UALICE", "general", "my own words")
    assert await api_error(client.chat_update(channel=channel, ts=mine.ts, text="x")) == (
        "cant_update_message"
    )


async def test_post_ephemeral(ws: LocalSlackWorkspace, client: AsyncWebClient) -> None:
    response = await client.chat_postEphemeral(channel="general", user="UALICE", text="psst")
    assert TS.match(response["message_ts"])
    assert ws.messages("general") == []  # not part of the channel for everyone
    assert [m.text for m in ws.ephemeral_messages("UALICE")] == ["psst"]
    assert ws.ephemeral_messages("UCARLOS") == []


async def test_post_ephemeral_errors(ws: LocalSlackWorkspace, client: AsyncWebClient) -> None:
    assert await api_error(
        client.chat_postEphemeral(channel="general", user="UNOBODY", text="x")
    ) == ("user_not_found")
    alice_dm = ws.dm_channel(ws.bot_user_id, "UALICE")
    assert await api_error(
        client.chat_postEphemeral(channel=alice_dm, user="UCARLOS", text="x")
    ) == ("user_not_in_channel")
    assert await api_error(client.chat_postEphemeral(channel="nope", user="UALICE", text="x")) == (
        "channel_not_found"
    )


async def test_conversations_open(ws: LocalSlackWorkspace, client: AsyncWebClient) -> None:
    first = await client.conversations_open(users="UALICE")
    assert first["channel"]["id"].startswith("D")
    again = await client.conversations_open(users=["UALICE"], return_im=True)
    assert again["channel"]["id"] == first["channel"]["id"]
    assert again["already_open"] is True
    assert again["channel"]["is_im"] is True and again["channel"]["user"] == "UALICE"
    group = await client.conversations_open(users="UALICE,UCARLOS")
    assert group["channel"]["id"] != first["channel"]["id"]


async def test_conversations_open_errors(client: AsyncWebClient) -> None:
    assert await api_error(client.conversations_open(users="UNOBODY")) == "user_not_found"
    assert await api_error(client.api_call("conversations.open")) == "users_list_not_supplied"


async def test_users_info(ws: LocalSlackWorkspace, client: AsyncWebClient) -> None:
    response = await client.users_info(user="UALICE")
    user = response["user"]
    assert user["id"] == "UALICE" and user["real_name"] == "Alice Smith"
    assert user["profile"]["real_name"] == "Alice Smith" and user["is_bot"] is False
    bot = await client.users_info(user=ws.bot_user_id)
    assert bot["user"]["is_bot"] is True
    assert await api_error(client.users_info(user="UNOBODY")) == "user_not_found"
    assert await api_error(client.api_call("users.info", http_verb="GET")) == "invalid_arguments"


async def test_views_open_with_a_fresh_trigger(
    ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver
) -> None:
    trigger_id = await trigger_from_command(ws, receiver)
    response = await client.views_open(trigger_id=trigger_id, view=MODAL)
    view = response["view"]
    assert view["id"].startswith("V") and view["hash"]
    assert view["state"] == {"values": {}}
    assert view["callback_id"] == "purchase_form" and view["private_metadata"] == "meta"
    assert view["root_view_id"] == view["id"]
    on_screen = ws.open_view("UALICE")
    assert on_screen is not None and on_screen["id"] == view["id"]


async def test_views_open_trigger_errors(
    ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver
) -> None:
    trigger_id = await trigger_from_command(ws, receiver)
    await client.views_open(trigger_id=trigger_id, view=MODAL)
    # Single use, and unknown ids are refused.
    assert await api_error(client.views_open(trigger_id=trigger_id, view=MODAL)) == (
        "expired_trigger_id"
    )
    assert await api_error(client.views_open(trigger_id="1.2.abc", view=MODAL)) == (
        "invalid_trigger_id"
    )
    # Past its lifetime (the TTL is configurable; a negative one expires it at once).
    ws.config.trigger_ttl = -1
    stale = await trigger_from_command(ws, receiver)
    assert await api_error(client.views_open(trigger_id=stale, view=MODAL)) == (
        "expired_trigger_id"
    )


async def test_views_open_argument_errors(
    ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver
) -> None:
    trigger_id = await trigger_from_command(ws, receiver)
    assert await api_error(client.api_call("views.open", json={"view": MODAL})) == (
        "invalid_arguments"
    )
    assert await api_error(client.api_call("views.open", json={"trigger_id": trigger_id})) == (
        "invalid_arguments"
    )
    no_submit = {**MODAL, "submit": None}
    assert await api_error(client.views_open(trigger_id=trigger_id, view=no_submit)) == (
        "invalid_arguments"
    )


async def test_views_update(
    ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver
) -> None:
    trigger_id = await trigger_from_command(ws, receiver)
    opened = (await client.views_open(trigger_id=trigger_id, view=MODAL))["view"]
    changed = {**MODAL, "title": {"type": "plain_text", "text": "Step 2"}}
    updated = (await client.views_update(view_id=opened["id"], view=changed))["view"]
    assert updated["id"] == opened["id"] and updated["hash"] != opened["hash"]
    assert updated["title"]["text"] == "Step 2"
    assert await api_error(
        client.views_update(view_id=opened["id"], hash=opened["hash"], view=changed)
    ) == ("hash_conflict")
    assert await api_error(client.views_update(view_id="VNOPE", view=changed)) == "not_found"
    assert await api_error(client.api_call("views.update", json={"view": changed})) == (
        "invalid_arguments"
    )


async def test_views_publish(ws: LocalSlackWorkspace, client: AsyncWebClient) -> None:
    home = {"type": "home", "blocks": BLOCKS}
    first = (await client.views_publish(user_id="UALICE", view=home))["view"]
    again = (await client.views_publish(user_id="UALICE", view=home))["view"]
    assert first["type"] == "home" and first["id"] == again["id"]
    published = ws.home_view("UALICE")
    assert published is not None and published["blocks"][0]["type"] == "header"
    assert ws.home_view("UCARLOS") is None
    assert await api_error(client.views_publish(user_id="UNOBODY", view=home)) == ("user_not_found")
    assert await api_error(client.views_publish(user_id="UALICE", view=MODAL)) == (
        "invalid_arguments"
    )
