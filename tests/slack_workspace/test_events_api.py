"""The Events API: app_home_opened delivered signed to the request URL, Slack's retries with
X-Slack-Retry-Num / X-Slack-Retry-Reason when it is not acknowledged, and url_verification."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest_asyncio
from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient

from slack_workspace import LocalSlackWorkspace
from tests.slack_workspace.conftest import Received, Receiver, empty_ack

REPO = Path(__file__).resolve().parents[2]


@pytest_asyncio.fixture
async def events_ws(directory_file: Path, receiver: Receiver) -> AsyncIterator[LocalSlackWorkspace]:
    """Slack's retry schedule (at once, 1 min, 5 min) shortened; the 3 s ack deadline too."""
    workspace = LocalSlackWorkspace(
        directory_file, ack_timeout=0.5, event_retry_delays=(0.0, 0.05, 0.1)
    )
    await workspace.start()
    receiver.signing_secret = workspace.signing_secret
    workspace.set_request_url(receiver.url)
    yield workspace
    await workspace.stop()


async def test_app_home_opened_is_a_signed_event_callback(
    events_ws: LocalSlackWorkspace, receiver: Receiver
) -> None:
    delivery = await events_ws.open_app_home("UALICE")
    assert delivery is not None and delivery.acked
    request = receiver.last
    assert request.signature_ok
    assert request.headers["Content-Type"] == "application/json"
    assert "X-Slack-Retry-Num" not in request.headers
    envelope = json.loads(request.raw)
    assert envelope["type"] == "event_callback"
    assert envelope["event_id"].startswith("Ev") and envelope["team_id"] == events_ws.team_id
    assert envelope["authorizations"][0]["user_id"] == events_ws.bot_user_id
    event = envelope["event"]
    assert event["type"] == "app_home_opened" and event["user"] == "UALICE"
    assert event["channel"] == events_ws.dm_channel("UALICE", events_ws.bot_user_id)
    assert event["tab"] == "home" and "view" not in event  # nothing published yet


async def test_the_published_home_view_comes_with_the_event(
    events_ws: LocalSlackWorkspace, receiver: Receiver
) -> None:
    client = AsyncWebClient(token=events_ws.bot_token, base_url=events_ws.api_url)
    home = {
        "type": "home",
        "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": "Hi"}}],
    }
    published = await client.views_publish(user_id="UALICE", view=home)
    await events_ws.open_app_home("UALICE")
    assert json.loads(receiver.last.raw)["event"]["view"]["id"] == published["view"]["id"]
    await events_ws.open_app_home("UALICE", tab="messages")
    assert "view" not in json.loads(receiver.last.raw)["event"]


async def test_a_slow_ack_is_retried_with_retry_num_and_reason(
    events_ws: LocalSlackWorkspace, receiver: Receiver
) -> None:
    async def slow_then_fast(received: Received) -> web.StreamResponse:
        if "X-Slack-Retry-Num" not in received.headers:
            await asyncio.sleep(1.0)  # past the (shortened) 3-second deadline
        return web.Response(status=200)

    receiver.reply = slow_then_fast
    delivery = await events_ws.open_app_home("UALICE")
    assert delivery is not None
    await delivery.wait()
    assert delivery.acked
    retried = receiver.requests[-1]
    assert retried.headers["X-Slack-Retry-Num"] == "1"
    assert retried.headers["X-Slack-Retry-Reason"] == "http_timeout"
    assert retried.signature_ok
    assert json.loads(retried.raw)["event_id"] == delivery.event_id  # the same event again
    assert [(a.retry_num, a.reason) for a in delivery.attempts] == [
        (0, "http_timeout"),
        (1, None),
    ]


async def test_errors_are_retried_three_times_then_slack_gives_up(
    events_ws: LocalSlackWorkspace, receiver: Receiver
) -> None:
    async def failing(_: Received) -> web.StreamResponse:
        return web.Response(status=500)

    receiver.reply = failing
    delivery = await events_ws.open_app_home("UALICE")
    assert delivery is not None
    await delivery.wait()
    assert not delivery.acked
    assert [r.headers.get("X-Slack-Retry-Num") for r in receiver.requests] == [None, "1", "2", "3"]
    assert {r.headers.get("X-Slack-Retry-Reason") for r in receiver.requests[1:]} == {"http_error"}


async def test_x_slack_no_retry_stops_the_retries(
    events_ws: LocalSlackWorkspace, receiver: Receiver
) -> None:
    async def refuse(_: Received) -> web.StreamResponse:
        return web.Response(status=503, headers={"X-Slack-No-Retry": "1"})

    receiver.reply = refuse
    delivery = await events_ws.open_app_home("UALICE")
    assert delivery is not None
    await delivery.wait()
    assert len(receiver.requests) == 1 and not delivery.acked


async def test_url_verification_needs_the_challenge_echoed(
    events_ws: LocalSlackWorkspace, receiver: Receiver
) -> None:
    async def echo(received: Received) -> web.StreamResponse:
        return web.json_response({"challenge": received.body["challenge"]})

    receiver.reply = echo
    assert await events_ws.verify_request_url()
    assert receiver.last.body["type"] == "url_verification" and receiver.last.signature_ok
    receiver.reply = empty_ack  # 200, but no challenge
    assert not await events_ws.verify_request_url()


async def test_only_subscribed_events_are_delivered(
    directory_file: Path, receiver: Receiver, tmp_path: Path
) -> None:
    manifest = tmp_path / "manifest.yaml"
    manifest.write_text(
        "oauth_config: {scopes: {bot: [commands]}}\n"
        "settings: {event_subscriptions: {bot_events: [app_mention]}}\n"
    )
    async with LocalSlackWorkspace(directory_file, manifest=manifest) as ws:
        ws.set_request_url(receiver.url)
        assert await ws.open_app_home("UALICE") is None
    assert receiver.requests == []


async def test_the_page_reports_opening_the_home_tab(
    events_ws: LocalSlackWorkspace, receiver: Receiver
) -> None:
    async with aiohttp.ClientSession() as http:
        body = {"user": "UALICE", "tab": "home"}
        async with http.post(f"{events_ws.base_url}/ui/app_home_opened", json=body) as resp:
            answer = await resp.json()
    assert answer == {"ok": True, "delivered": True, "acked": True}
    assert json.loads(receiver.last.raw)["event"]["type"] == "app_home_opened"
