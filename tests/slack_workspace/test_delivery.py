"""Deliveries to the app: signed like Slack, shaped like Slack, acknowledged within the
deadline, and shown to the person the way Slack shows them."""

from __future__ import annotations

import asyncio
from typing import Any

from aiohttp import ClientSession, web
from slack_bolt.request import payload_utils
from slack_sdk.web.async_client import AsyncWebClient

from slack_workspace import LocalSlackWorkspace
from tests.slack_workspace.conftest import Received, Receiver

COMMAND_FIELDS = {
    "token",
    "team_id",
    "team_domain",
    "channel_id",
    "channel_name",
    "user_id",
    "user_name",
    "command",
    "text",
    "api_app_id",
    "is_enterprise_install",
    "response_url",
    "trigger_id",
}
DECISION: list[dict[str, Any]] = [
    {"type": "section", "text": {"type": "mrkdwn", "text": "Approve *laptop*?"}},
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
            },
            {
                "type": "static_select",
                "action_id": "reason",
                "placeholder": {"type": "plain_text", "text": "Reason"},
                "options": [
                    {"text": {"type": "plain_text", "text": "Too expensive"}, "value": "price"}
                ],
            },
        ],
    },
]
FORM: dict[str, Any] = {
    "type": "modal",
    "callback_id": "purchase_form",
    "title": {"type": "plain_text", "text": "New purchase"},
    "submit": {"type": "plain_text", "text": "Submit"},
    "close": {"type": "plain_text", "text": "Cancel"},
    "private_metadata": "draft-7",
    "blocks": [
        {
            "type": "input",
            "block_id": "url",
            "label": {"type": "plain_text", "text": "Product link"},
            "element": {"type": "plain_text_input", "action_id": "url_input"},
        },
        {
            "type": "input",
            "block_id": "why",
            "optional": True,
            "label": {"type": "plain_text", "text": "Why"},
            "element": {"type": "plain_text_input", "action_id": "why_input", "multiline": True},
        },
        {
            "type": "input",
            "block_id": "qty",
            "label": {"type": "plain_text", "text": "Quantity"},
            "element": {
                "type": "number_input",
                "action_id": "qty_input",
                "is_decimal_allowed": False,
            },
        },
        {
            "type": "input",
            "block_id": "currency",
            "label": {"type": "plain_text", "text": "Currency"},
            "element": {
                "type": "static_select",
                "action_id": "currency_select",
                "options": [
                    {"text": {"type": "plain_text", "text": "EUR"}, "value": "EUR"},
                    {"text": {"type": "plain_text", "text": "USD"}, "value": "USD"},
                ],
                "initial_option": {"text": {"type": "plain_text", "text": "EUR"}, "value": "EUR"},
            },
        },
    ],
}
GOOD_VALUES = {"url_input": "https://example.com/laptop", "qty_input": "2"}


def json_reply(body: dict[str, Any]) -> Any:
    async def reply(_: Received) -> web.StreamResponse:
        return web.json_response(body)

    return reply


async def open_form(ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver) -> str:
    result = await ws.send_command("UALICE", "/purchase", "")
    response = await client.views_open(trigger_id=result.payload["trigger_id"], view=FORM)
    return str(response["view"]["id"])


async def test_command_is_a_signed_form_post_with_slacks_fields(
    ws: LocalSlackWorkspace, receiver: Receiver
) -> None:
    result = await ws.send_command("UALICE", "/purchase", "2 laptops https://example.com/x")
    assert result.ok and result.status == 200
    received = receiver.last
    assert received.signature_ok
    assert received.headers["Content-Type"] == "application/x-www-form-urlencoded"
    assert received.headers["X-Slack-Request-Timestamp"].isdigit()
    assert received.headers["X-Slack-Signature"].startswith("v0=")
    body = received.body
    assert payload_utils.is_slash_command(body)
    assert set(body) == COMMAND_FIELDS
    assert body["command"] == "/purchase"
    assert body["text"] == "2 laptops https://example.com/x"
    assert body["user_id"] == "UALICE" and body["user_name"] == "alice.smith"
    assert body["team_id"] == ws.team_id
    assert body["channel_id"] == ws.dm_channel("UALICE", ws.bot_user_id)
    assert body["channel_name"] == "directmessage"
    assert body["response_url"].startswith(ws.base_url + "/response/")
    assert body["trigger_id"] == result.trigger_id


async def test_command_in_a_channel(ws: LocalSlackWorkspace, receiver: Receiver) -> None:
    await ws.send_command("UCARLOS", "/purchase", "help", channel="#purchasing-ops")
    assert receiver.last.body["channel_id"] == ws.channel_id("purchasing-ops")
    assert receiver.last.body["channel_name"] == "purchasing-ops"


async def test_command_ack_text_is_shown_ephemerally(
    ws: LocalSlackWorkspace, receiver: Receiver
) -> None:
    receiver.reply = json_reply({"text": "Working on it…"})
    await ws.send_command("UALICE", "/purchase", "x", channel="general")

    async def plain(_: Received) -> web.StreamResponse:
        return web.Response(text="Plain text ack")

    receiver.reply = plain
    await ws.send_command("UALICE", "/purchase", "y", channel="general")
    assert [m.text for m in ws.ephemeral_messages("UALICE")] == ["Working on it…", "Plain text ack"]
    assert ws.messages("general") == [] and ws.ephemeral_messages("UCARLOS") == []


async def test_command_ack_in_channel_is_public(
    ws: LocalSlackWorkspace, receiver: Receiver
) -> None:
    receiver.reply = json_reply({"response_type": "in_channel", "text": "Request filed"})
    await ws.send_command("UALICE", "/purchase", "laptop", channel="general")
    assert [m.text for m in ws.messages("general")] == ["/purchase laptop", "Request filed"]


async def test_command_timeout_shows_operation_timeout(
    ws: LocalSlackWorkspace, receiver: Receiver
) -> None:
    ws.config.ack_timeout = 0.3
    release = asyncio.Event()

    async def too_slow(_: Received) -> web.StreamResponse:
        await release.wait()  # never answers within the deadline
        return web.Response()

    receiver.reply = too_slow
    try:
        result = await ws.send_command("UALICE", "/purchase", "laptop")
    finally:
        release.set()
    assert result.error == "operation_timeout" and result.status is None and not result.ok
    (shown,) = ws.ephemeral_messages("UALICE")
    assert shown.text == '/purchase failed with the error "operation_timeout"'
    assert shown.user == "USLACKBOT"


async def test_command_server_error_shows_dispatch_failed(
    ws: LocalSlackWorkspace, receiver: Receiver
) -> None:
    async def broken(_: Received) -> web.StreamResponse:
        return web.Response(status=500, text="boom")

    receiver.reply = broken
    result = await ws.send_command("UALICE", "/purchase", "laptop")
    assert result.status == 500 and result.error == "dispatch_failed"
    (shown,) = ws.ephemeral_messages("UALICE")
    assert shown.text == '/purchase failed with the error "dispatch_failed"'


async def test_no_request_url_is_dispatch_failed(ws: LocalSlackWorkspace) -> None:
    ws.set_request_url(None)
    result = await ws.send_command("UALICE", "/purchase", "")
    assert not result.delivered and result.error == "dispatch_failed"


async def test_response_url_messages(ws: LocalSlackWorkspace, receiver: Receiver) -> None:
    result = await ws.send_command("UALICE", "/purchase", "", channel="general")
    assert result.response_url is not None
    async with ClientSession() as http:
        later = await http.post(result.response_url, json={"text": "Checking the product…"})
        assert later.status == 200 and (await later.json())["ok"] is True
        await http.post(result.response_url, json={"text": "Checked", "replace_original": True})
        await http.post(result.response_url, json={"response_type": "in_channel", "text": "Done"})
        bad = await http.post(result.response_url, json={})
        assert bad.status == 400
        unknown = await http.post(ws.base_url + "/response/nope", json={"text": "x"})
        assert unknown.status == 404
    assert [m.text for m in ws.ephemeral_messages("UALICE")] == ["Checked"]
    assert [m.text for m in ws.messages("general")] == ["Done"]


async def test_response_url_works_five_times(ws: LocalSlackWorkspace, receiver: Receiver) -> None:
    result = await ws.send_command("UALICE", "/purchase", "")
    assert result.response_url is not None
    async with ClientSession() as http:
        statuses = [
            (await http.post(result.response_url, json={"text": f"{i}"})).status for i in range(6)
        ]
    assert statuses == [200, 200, 200, 200, 200, 404]


async def test_button_click_is_block_actions(
    ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver
) -> None:
    posted = await client.chat_postMessage(channel="UCARLOS", text="Approve?", blocks=DECISION)
    result = await ws.click_button("UCARLOS", posted["channel"], posted["ts"], "approve")
    assert result.ok
    received = receiver.last
    assert received.signature_ok and received.raw.startswith("payload=")
    body = received.body
    assert payload_utils.is_block_actions(body) and payload_utils.is_action(body)
    assert body["user"] == {
        "id": "UCARLOS",
        "username": "carlos.ruiz",
        "name": "carlos.ruiz",
        "team_id": ws.team_id,
    }
    assert body["api_app_id"] and body["token"] and body["trigger_id"]
    assert body["team"]["id"] == ws.team_id
    assert body["container"] == {
        "type": "message",
        "message_ts": posted["ts"],
        "channel_id": posted["channel"],
        "is_ephemeral": False,
    }
    assert body["channel"]["id"] == posted["channel"]
    assert body["message"]["ts"] == posted["ts"] and body["message"]["blocks"]
    assert body["response_url"].startswith(ws.base_url + "/response/")
    (action,) = body["actions"]
    assert action["action_id"] == "approve" and action["block_id"] == "decision"
    assert action["value"] == "req-1" and action["type"] == "button"
    assert action["style"] == "primary" and action["text"]["text"] == "Approve"
    assert float(action["action_ts"]) > 0
    assert payload_utils.to_action(body) == action


async def test_select_and_replace_original(
    ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver
) -> None:
    posted = await client.chat_postMessage(channel="UCARLOS", text="Approve?", blocks=DECISION)
    result = await ws.click_button("UCARLOS", posted["channel"], posted["ts"], "reason", "price")
    action = receiver.last.body["actions"][0]
    assert action["type"] == "static_select"
    assert action["selected_option"]["value"] == "price"
    assert result.response_url is not None
    async with ClientSession() as http:
        await http.post(result.response_url, json={"text": "Rejected", "replace_original": True})
    (message,) = ws.messages(posted["channel"])
    assert message.text == "Rejected" and message.blocks is None


async def test_click_on_ephemeral_message(
    ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver
) -> None:
    response = await client.chat_postEphemeral(
        channel="general", user="UALICE", text="Confirm?", blocks=DECISION
    )
    general = ws.channel_id("general")
    await ws.click_button("UALICE", general, response["message_ts"], "approve")
    body = receiver.last.body
    assert body["container"]["is_ephemeral"] is True
    assert "message" not in body
    async with ClientSession() as http:
        await http.post(body["response_url"], json={"delete_original": True})
    assert ws.ephemeral_messages("UALICE") == []


async def test_click_timeout_is_reported(
    ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver
) -> None:
    ws.config.ack_timeout = 0.3
    release = asyncio.Event()

    async def too_slow(_: Received) -> web.StreamResponse:
        await release.wait()
        return web.Response()

    receiver.reply = too_slow
    posted = await client.chat_postMessage(channel="UCARLOS", text="Approve?", blocks=DECISION)
    try:
        result = await ws.click_button("UCARLOS", posted["channel"], posted["ts"], "approve")
    finally:
        release.set()
    assert result.error == "operation_timeout"
    (shown,) = ws.ephemeral_messages("UCARLOS")
    assert "operation_timeout" in shown.text


async def test_view_submission_payload(
    ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver
) -> None:
    view_id = await open_form(ws, client, receiver)
    result = await ws.submit_view("UALICE", view_id, GOOD_VALUES)
    assert result.ok and result.view_id is None  # empty ack closes the modal
    assert ws.open_view("UALICE") is None
    body = receiver.last.body
    assert receiver.last.signature_ok
    assert payload_utils.is_view_submission(body)
    assert body["user"]["id"] == "UALICE" and body["trigger_id"] and body["api_app_id"]
    assert body["team"]["id"] == ws.team_id and body["response_urls"] == []
    view = body["view"]
    assert view["id"] == view_id and view["callback_id"] == "purchase_form"
    assert view["private_metadata"] == "draft-7" and view["hash"]
    assert view["state"]["values"] == {
        "url": {"url_input": {"type": "plain_text_input", "value": "https://example.com/laptop"}},
        "why": {"why_input": {"type": "plain_text_input", "value": None}},
        "qty": {"qty_input": {"type": "number_input", "value": "2"}},
        "currency": {
            "currency_select": {
                "type": "static_select",
                "selected_option": {"text": {"type": "plain_text", "text": "EUR"}, "value": "EUR"},
            }
        },
    }


async def test_view_errors_keep_the_modal_open(
    ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver
) -> None:
    view_id = await open_form(ws, client, receiver)
    receiver.reply = json_reply(
        {"response_action": "errors", "errors": {"url": "That link is not a product page"}}
    )
    result = await ws.submit_view("UALICE", view_id, GOOD_VALUES)
    assert result.ok and result.view_id == view_id
    assert result.view_errors == {"url": "That link is not a product page"}
    on_screen = ws.open_view("UALICE")
    assert on_screen is not None and on_screen["errors"] == result.view_errors
    # What the person typed is still there.
    assert on_screen["state"]["values"]["url"]["url_input"]["value"] == GOOD_VALUES["url_input"]
    receiver.reply = json_reply({})
    fixed = await ws.submit_view("UALICE", view_id, {"url": {"url_input": "https://ok.example"}})
    assert fixed.ok and ws.open_view("UALICE") is None


async def test_required_fields_are_checked_before_sending(
    ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver
) -> None:
    view_id = await open_form(ws, client, receiver)
    sent_before = len(receiver.requests)
    result = await ws.submit_view("UALICE", view_id, {"qty_input": "1.5"})
    assert not result.delivered and len(receiver.requests) == sent_before
    assert set(result.view_errors) == {"url", "qty"}
    assert ws.open_view("UALICE") is not None


async def test_response_action_update_push_clear(
    ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver
) -> None:
    view_id = await open_form(ws, client, receiver)
    done = {
        "type": "modal",
        "title": {"type": "plain_text", "text": "Thanks"},
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Request filed"}}],
    }
    receiver.reply = json_reply({"response_action": "update", "view": done})
    result = await ws.submit_view("UALICE", view_id, GOOD_VALUES)
    on_screen = ws.open_view("UALICE")
    assert result.view_id == view_id and on_screen is not None
    assert on_screen["title"]["text"] == "Thanks"

    second = await open_form(ws, client, receiver)
    receiver.reply = json_reply({"response_action": "push", "view": FORM})
    pushed = await ws.submit_view("UALICE", second, GOOD_VALUES)
    assert pushed.view_id not in (None, second)
    top = ws.open_view("UALICE")
    assert top is not None and top["previous_view_id"] == second and top["root_view_id"] == second

    receiver.reply = json_reply({"response_action": "clear"})
    assert pushed.view_id is not None
    await ws.submit_view("UALICE", pushed.view_id, GOOD_VALUES)
    assert ws.open_view("UALICE") is None


async def test_view_submission_timeout_keeps_modal_with_banner(
    ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver
) -> None:
    view_id = await open_form(ws, client, receiver)
    ws.config.ack_timeout = 0.3
    release = asyncio.Event()

    async def too_slow(_: Received) -> web.StreamResponse:
        await release.wait()
        return web.Response()

    receiver.reply = too_slow
    try:
        result = await ws.submit_view("UALICE", view_id, GOOD_VALUES)
    finally:
        release.set()
    assert result.error == "operation_timeout"
    on_screen = ws.open_view("UALICE")
    assert on_screen is not None and on_screen["client_error"]


async def test_modal_buttons_and_close_notification(
    ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver
) -> None:
    result = await ws.send_command("UALICE", "/purchase", "")
    view = {**FORM, "notify_on_close": True, "blocks": FORM["blocks"] + DECISION}
    opened = await client.views_open(trigger_id=result.payload["trigger_id"], view=view)
    view_id = opened["view"]["id"]
    await ws.click_view_button("UALICE", view_id, "approve")
    body = receiver.last.body
    assert body["container"] == {"type": "view", "view_id": view_id}
    assert body["view"]["id"] == view_id and "response_url" not in body
    closed = await ws.close_view("UALICE", view_id)
    assert closed is not None and receiver.last.body["type"] == "view_closed"
    assert ws.open_view("UALICE") is None


async def test_home_tab_button(
    ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver
) -> None:
    home = await client.views_publish(user_id="UHELEN", view={"type": "home", "blocks": DECISION})
    await ws.click_view_button("UHELEN", home["view"]["id"], "approve")
    body = receiver.last.body
    assert body["view"]["type"] == "home" and body["actions"][0]["action_id"] == "approve"


async def test_wait_for_message_sees_later_posts(
    ws: LocalSlackWorkspace, client: AsyncWebClient
) -> None:
    async def post_later() -> None:
        await client.chat_postMessage(channel="UHELEN", text="needs your approval")

    task = asyncio.create_task(post_later())
    found = await ws.wait_for_message(lambda m: "approval" in m.text, timeout=2)
    await task
    assert found.channel == ws.dm_channel("UHELEN", ws.bot_user_id)
    try:
        await ws.wait_for_message(lambda m: m.text == "never", timeout=0.05)
    except TimeoutError as err:
        assert "no matching message" in str(err)
    else:
        raise AssertionError("expected a timeout")
