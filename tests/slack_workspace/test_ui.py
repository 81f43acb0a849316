"""The browser UI's JSON API and page, used as the page uses them."""

from __future__ import annotations

import asyncio
import re

from aiohttp import ClientSession
from slack_sdk.web.async_client import AsyncWebClient

from slack_workspace import LocalSlackWorkspace
from tests.slack_workspace.conftest import Receiver


async def test_page_and_assets_are_served_without_external_urls(ws: LocalSlackWorkspace) -> None:
    async with ClientSession() as http:
        page = await http.get(ws.base_url + "/")
        html = await page.text()
        assert page.status == 200 and "<title>Local Slack workspace</title>" in html
        for asset in re.findall(r'(?:src|href)="([^"]+)"', html):
            assert asset.startswith("/static/"), asset
            assert (await http.get(ws.base_url + asset)).status == 200


async def test_state_shows_only_the_users_own_ephemeral_messages(
    ws: LocalSlackWorkspace, client: AsyncWebClient
) -> None:
    await client.chat_postMessage(channel="general", text="for everyone")
    await client.chat_postEphemeral(channel="general", user="UALICE", text="only Alice")
    await client.chat_postEphemeral(channel="general", user="UCARLOS", text="only Carlos")
    general = ws.channel_id("general")
    async with ClientSession() as http:
        alice = await (await http.get(ws.base_url + "/ui/state", params={"user": "UALICE"})).json()
        carlos = await (
            await http.get(ws.base_url + "/ui/state", params={"user": "UCARLOS"})
        ).json()
        nobody = await http.get(ws.base_url + "/ui/state", params={"user": "UNOBODY"})
    assert nobody.status == 404
    assert [(m["text"], m["ephemeral"]) for m in alice["messages"][general]] == [
        ("for everyone", False),
        ("only Alice", True),
    ]
    assert [m["text"] for m in carlos["messages"][general]] == ["for everyone", "only Carlos"]
    assert alice["users"]["UCARLOS"]["real_name"] == "Carlos Ruiz"
    labels = {c["label"] for c in alice["channels"]}
    assert {"#general", "#purchasing-ops"} <= labels
    assert any(c["is_app_dm"] for c in alice["channels"])  # the app's DM is always listed


async def test_composer_command_message_and_unknown_command(
    ws: LocalSlackWorkspace, receiver: Receiver
) -> None:
    general = ws.channel_id("general")
    async with ClientSession() as http:
        sent = await http.post(
            ws.base_url + "/ui/command",
            json={"user": "UALICE", "channel": general, "text": "/purchase 2 laptops"},
        )
        result = (await sent.json())["result"]
        await http.post(
            ws.base_url + "/ui/command",
            json={"user": "UALICE", "channel": general, "text": "/nope"},
        )
        await http.post(
            ws.base_url + "/ui/message",
            json={"user": "UALICE", "channel": general, "text": "hi all"},
        )
    assert result["kind"] == "command" and result["status"] == 200
    assert receiver.last.body["text"] == "2 laptops"
    assert receiver.last.body["channel_id"] == general
    (unknown,) = ws.ephemeral_messages("UALICE")
    assert unknown.text.startswith("/nope is not a valid command")
    assert [m.text for m in ws.messages("general")] == ["hi all"]


async def test_buttons_and_modal_from_the_page(
    ws: LocalSlackWorkspace, client: AsyncWebClient, receiver: Receiver
) -> None:
    blocks = [
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "open_form",
                    "text": {"type": "plain_text", "text": "New request"},
                }
            ],
        }
    ]
    posted = await client.chat_postMessage(channel="UALICE", text="Hi", blocks=blocks)
    async with ClientSession() as http:
        clicked = await http.post(
            ws.base_url + "/ui/action",
            json={
                "user": "UALICE",
                "channel": posted["channel"],
                "ts": posted["ts"],
                "action_id": "open_form",
            },
        )
        assert (await clicked.json())["result"]["kind"] == "block_actions"
        trigger_id = receiver.last.body["trigger_id"]
        modal = {
            "type": "modal",
            "title": {"type": "plain_text", "text": "Request"},
            "submit": {"type": "plain_text", "text": "Send"},
            "blocks": [
                {
                    "type": "input",
                    "block_id": "item",
                    "label": {"type": "plain_text", "text": "Item"},
                    "element": {"type": "plain_text_input", "action_id": "item_input"},
                }
            ],
        }
        view = (await client.views_open(trigger_id=trigger_id, view=modal))["view"]
        state = await (await http.get(ws.base_url + "/ui/state?user=UALICE")).json()
        assert state["modal"]["id"] == view["id"]
        empty = await http.post(
            ws.base_url + "/ui/view_submit",
            json={
                "user": "UALICE",
                "view_id": view["id"],
                "values": {"item": {"item_input": None}},
            },
        )
        assert (await empty.json())["result"]["view_errors"] == {
            "item": "Please complete this required field."
        }
        submitted = await http.post(
            ws.base_url + "/ui/view_submit",
            json={"user": "UALICE", "view_id": view["id"], "values": {"item": {"item_input": "x"}}},
        )
        assert (await submitted.json())["result"]["ok"] is True
        state = await (await http.get(ws.base_url + "/ui/state?user=UALICE")).json()
    assert state["modal"] is None
    assert receiver.last.body["view"]["state"]["values"]["item"]["item_input"]["value"] == "x"


async def test_events_stream_announces_changes(
    ws: LocalSlackWorkspace, client: AsyncWebClient
) -> None:
    async with ClientSession() as http, http.get(ws.base_url + "/ui/events?user=UALICE") as stream:
        assert stream.headers["Content-Type"].startswith("text/event-stream")

        async def next_event() -> str:
            while True:
                line = (await stream.content.readline()).decode().strip()
                if line.startswith("data:"):
                    return line

        first = await asyncio.wait_for(next_event(), timeout=2)
        await client.chat_postMessage(channel="general", text="news")
        second = await asyncio.wait_for(next_event(), timeout=2)
    assert int(second.split(":")[1]) > int(first.split(":")[1])
