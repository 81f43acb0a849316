"""An unchanged slack-bolt AsyncApp, pointed at the local workspace instead of Slack."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest
from aiohttp import web
from slack_bolt.async_app import AsyncAck, AsyncApp, AsyncRespond
from slack_sdk.web.async_client import AsyncWebClient

from slack_workspace import LocalSlackWorkspace

FORM: dict[str, Any] = {
    "type": "modal",
    "callback_id": "purchase_form",
    "title": {"type": "plain_text", "text": "New purchase"},
    "submit": {"type": "plain_text", "text": "Submit"},
    "blocks": [
        {
            "type": "input",
            "block_id": "url",
            "label": {"type": "plain_text", "text": "Product link"},
            "element": {"type": "plain_text_input", "action_id": "url_input"},
        }
    ],
}


def build_bot(ws: LocalSlackWorkspace) -> AsyncApp:
    app = AsyncApp(
        signing_secret=ws.signing_secret,
        client=AsyncWebClient(token=ws.bot_token, base_url=ws.api_url),
    )

    @app.command("/purchase")
    async def open_form(ack: AsyncAck, body: dict[str, Any], client: AsyncWebClient) -> None:
        await ack()
        await client.views_open(trigger_id=body["trigger_id"], view=FORM)

    @app.view("purchase_form")
    async def submitted(
        ack: AsyncAck, view: dict[str, Any], body: dict[str, Any], client: AsyncWebClient
    ) -> None:
        url = view["state"]["values"]["url"]["url_input"]["value"]
        if not url.startswith("https://"):
            await ack(response_action="errors", errors={"url": "Use an https:// link"})
            return
        await ack()
        requester = body["user"]["id"]
        await client.chat_postMessage(
            channel="UCARLOS",
            text=f"<@{requester}> asks for {url}",
            blocks=[
                {"type": "section", "text": {"type": "mrkdwn", "text": f"<@{requester}>: {url}"}},
                {
                    "type": "actions",
                    "elements": [
                        {
                            "type": "button",
                            "action_id": "approve",
                            "style": "primary",
                            "text": {"type": "plain_text", "text": "Approve"},
                            "value": url,
                        }
                    ],
                },
            ],
        )

    @app.action("approve")
    async def approve(ack: AsyncAck, body: dict[str, Any], respond: AsyncRespond) -> None:
        await ack()
        await respond(replace_original=True, text=f"Approved by <@{body['user']['id']}>")

    return app


@pytest.fixture
async def bolt_ws(directory_file: Any) -> AsyncIterator[LocalSlackWorkspace]:
    ws = LocalSlackWorkspace(directory_file)
    await ws.start()
    runner = web.AppRunner(build_bot(ws).web_app(path="/slack/events"), shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    ws.set_request_url(f"http://{host}:{port}/slack/events")
    yield ws
    await runner.cleanup()
    await ws.stop()


async def test_bolt_app_runs_a_whole_flow(bolt_ws: LocalSlackWorkspace) -> None:
    ws = bolt_ws
    result = await ws.send_command("UALICE", "/purchase", "")
    assert result.ok, result

    view = await ws.wait_for(lambda: ws.open_view("UALICE"), timeout=3)
    rejected = await ws.submit_view("UALICE", view["id"], {"url_input": "http://shop.example"})
    assert rejected.ok and rejected.view_errors == {"url": "Use an https:// link"}

    accepted = await ws.submit_view("UALICE", view["id"], {"url_input": "https://shop.example"})
    assert accepted.ok and ws.open_view("UALICE") is None

    carlos_dm = ws.dm_channel("UCARLOS", ws.bot_user_id)
    request = await ws.wait_for_message(lambda m: m.channel == carlos_dm and bool(m.blocks))
    assert request.text == "<@UALICE> asks for https://shop.example"

    clicked = await ws.click_button("UCARLOS", carlos_dm, request.ts, "approve")
    assert clicked.ok
    approved = await ws.wait_for_message(lambda m: m.text == "Approved by <@UCARLOS>")
    assert approved.ts == request.ts and approved.channel == carlos_dm  # replaced in place
