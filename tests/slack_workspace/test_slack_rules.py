"""Slack's rules the workspace enforces (membership, scopes) and the faults a test can inject
(429 + Retry-After, ok:false errors, HTTP errors, hangs), driven in-process and over HTTP."""

from __future__ import annotations

import time
from pathlib import Path

import aiohttp
import pytest
from slack_sdk.errors import SlackApiError
from slack_sdk.web.async_client import AsyncWebClient

from slack_workspace import LocalSlackWorkspace
from slack_workspace.rate_limits import RateLimits
from slack_workspace.scopes import ManifestError, scopes_from_manifest
from tests.slack_workspace.test_web_api import api_error

REPO = Path(__file__).resolve().parents[2]


async def slack_error(call: object) -> SlackApiError:
    with pytest.raises(SlackApiError) as caught:
        await call  # type: ignore[misc]
    return caught.value


# --- channel membership ---------------------------------------------------------------------


async def test_a_public_channel_the_bot_has_not_joined_answers_not_in_channel(
    ws: LocalSlackWorkspace, client: AsyncWebClient
) -> None:
    assert not ws.bot_is_member("purchasing-ops")
    assert await api_error(client.chat_postMessage(channel="purchasing-ops", text="x")) == (
        "not_in_channel"
    )
    assert await api_error(
        client.chat_postEphemeral(channel="purchasing-ops", user="UALICE", text="x")
    ) == ("not_in_channel")
    assert ws.messages("purchasing-ops") == []


async def test_conversations_join_makes_the_bot_a_member(
    ws: LocalSlackWorkspace, client: AsyncWebClient
) -> None:
    ops = ws.channel_id("purchasing-ops")
    # Slack's conversations.join takes an id; a name is not found.
    assert await api_error(client.conversations_join(channel="purchasing-ops")) == (
        "channel_not_found"
    )
    joined = await client.conversations_join(channel=ops)
    assert joined["channel"]["id"] == ops and "warning" not in joined.data
    assert ws.bot_is_member("purchasing-ops")
    again = await client.conversations_join(channel=ops)
    assert again["warning"] == "already_in_channel"
    await client.chat_postMessage(channel="purchasing-ops", text="alert")
    assert [m.text for m in ws.messages("purchasing-ops")] == ["alert"]
    ws.remove_bot("purchasing-ops")
    assert await api_error(client.chat_postMessage(channel=ops, text="x")) == "not_in_channel"


async def test_conversations_join_refuses_a_dm(
    ws: LocalSlackWorkspace, client: AsyncWebClient
) -> None:
    dm = ws.dm_channel(ws.bot_user_id, "UALICE")
    assert await api_error(client.conversations_join(channel=dm)) == (
        "method_not_supported_for_channel_type"
    )


async def test_conversations_list_finds_channels_and_says_where_the_bot_is(
    ws: LocalSlackWorkspace, client: AsyncWebClient
) -> None:
    listed = await client.conversations_list(types="public_channel", exclude_archived=True)
    by_name = {c["name"]: c for c in listed["channels"]}
    assert by_name["general"]["is_member"] is True
    assert by_name["purchasing-ops"]["is_member"] is False
    assert listed["response_metadata"]["next_cursor"] == ""
    info = await client.conversations_info(channel=ws.channel_id("purchasing-ops"))
    assert info["channel"]["name"] == "purchasing-ops"


async def test_chat_write_public_posts_without_joining(directory_file: Path) -> None:
    scopes = ["chat:write", "chat:write.public"]
    async with LocalSlackWorkspace(directory_file, scopes=scopes) as ws:
        client = AsyncWebClient(token=ws.bot_token, base_url=ws.api_url)
        await client.chat_postMessage(channel="#purchasing-ops", text="alert")
        assert [m.text for m in ws.messages("purchasing-ops")] == ["alert"]
        assert not ws.bot_is_member("purchasing-ops")


# --- scopes ----------------------------------------------------------------------------------


async def test_a_method_without_its_scope_answers_missing_scope(directory_file: Path) -> None:
    async with LocalSlackWorkspace(directory_file, scopes=["commands", "chat:write"]) as ws:
        client = AsyncWebClient(token=ws.bot_token, base_url=ws.api_url)
        error = await slack_error(client.conversations_open(users="UALICE"))
        assert error.response["error"] == "missing_scope"
        assert error.response["needed"] == "im:write,mpim:write,channels:manage,groups:write"
        assert error.response["provided"] == "chat:write,commands"
        assert (await slack_error(client.users_info(user="UALICE"))).response["needed"] == (
            "users:read"
        )
        # Methods Slack lets every app call still work.
        assert (await client.auth_test())["user_id"] == ws.bot_user_id
        ws.grant_scopes(["commands", "chat:write", "im:write"])
        assert (await client.conversations_open(users="UALICE"))["ok"]


async def test_scopes_come_from_the_manifest(directory_file: Path, tmp_path: Path) -> None:
    granted = scopes_from_manifest(REPO / "manifest.yaml")
    assert {"commands", "chat:write", "im:write", "users:read"} <= granted
    async with LocalSlackWorkspace(directory_file, manifest=REPO / "manifest.yaml") as ws:
        assert ws.scopes == granted
    broken = tmp_path / "manifest.yaml"
    broken.write_text("oauth_config: {scopes: {bot: chat:write}}\n")
    with pytest.raises(ManifestError, match=r"oauth_config\.scopes\.bot must be a list"):
        scopes_from_manifest(broken)


# --- faults, in-process --------------------------------------------------------------------


async def test_rate_limited_answers_429_with_retry_after_then_recovers(
    ws: LocalSlackWorkspace, client: AsyncWebClient
) -> None:
    ws.inject_fault("chat.postMessage", "rate_limited", times=2, retry_after=7)
    for _ in range(2):
        error = await slack_error(client.chat_postMessage(channel="general", text="x"))
        assert error.response.status_code == 429
        assert error.response.headers["Retry-After"] == "7"
        assert error.response["error"] == "ratelimited"
    await client.chat_postMessage(channel="general", text="third time")
    assert [m.text for m in ws.messages("general")] == ["third time"]
    calls = ws.api_calls("chat.postMessage")
    assert [(c.http_status, c.fault) for c in calls] == [
        (429, "rate_limited"),
        (429, "rate_limited"),
        (200, None),
    ]


async def test_an_error_fault_matches_arguments_only(
    ws: LocalSlackWorkspace, client: AsyncWebClient
) -> None:
    carlos = ws.dm_channel(ws.bot_user_id, "UCARLOS")
    ws.inject_fault(
        "chat.postMessage", "error", error="channel_not_found", match={"channel": carlos}
    )
    await client.chat_postMessage(channel="general", text="unaffected")
    assert await api_error(client.chat_postMessage(channel=carlos, text="x")) == (
        "channel_not_found"
    )
    await client.chat_postMessage(channel=carlos, text="used up")
    assert [m.text for m in ws.messages(carlos)] == ["used up"]
    assert ws.faults.pending() == []


async def test_http_error_and_any_method(ws: LocalSlackWorkspace, client: AsyncWebClient) -> None:
    ws.inject_fault("*", "http_error", status=503)
    error = await slack_error(client.users_info(user="UALICE"))
    assert error.response.status_code == 503
    assert (await client.users_info(user="UALICE"))["ok"]


async def test_apply_carries_the_call_out_but_loses_the_answer(
    ws: LocalSlackWorkspace, client: AsyncWebClient
) -> None:
    ws.inject_fault("chat.postMessage", "http_error", status=500, apply=True)
    await slack_error(client.chat_postMessage(channel="general", text="posted anyway"))
    assert [m.text for m in ws.messages("general")] == ["posted anyway"]


async def test_timeout_hangs_until_the_client_gives_up(ws: LocalSlackWorkspace) -> None:
    client = AsyncWebClient(token=ws.bot_token, base_url=ws.api_url, timeout=1)
    ws.inject_fault("chat.postMessage", "timeout", seconds=30)
    started = time.monotonic()
    with pytest.raises(TimeoutError):
        await client.chat_postMessage(channel="general", text="lost")
    assert time.monotonic() - started < 5
    assert ws.messages("general") == []
    assert ws.api_calls("chat.postMessage")[0].fault == "timeout"


# --- faults and rules over HTTP (/control) ---------------------------------------------------


async def test_control_api_drives_faults_scopes_and_membership(
    ws: LocalSlackWorkspace, client: AsyncWebClient
) -> None:
    control = f"{ws.base_url}/control"
    async with aiohttp.ClientSession() as http:
        fault = {"method": "chat.update", "kind": "rate_limited", "times": 3, "retry_after": 2}
        async with http.post(f"{control}/faults", json=fault) as resp:
            added = await resp.json()
        assert resp.status == 200 and added["fault"]["remaining"] == 3
        async with http.post(f"{control}/faults", json={"method": "x", "kind": "nope"}) as resp:
            assert resp.status == 400 and "kind" in (await resp.json())["error"]
        async with http.get(f"{control}/faults") as resp:
            assert [f["method"] for f in (await resp.json())["faults"]] == ["chat.update"]
        async with http.delete(f"{control}/faults") as resp:
            assert resp.status == 200
        assert ws.faults.pending() == []

        await client.chat_postMessage(channel="general", text="x")
        async with http.get(f"{control}/calls", params={"method": "chat.postMessage"}) as resp:
            calls = (await resp.json())["calls"]
        assert [(c["method"], c["ok"]) for c in calls] == [("chat.postMessage", True)]
        assert "token" not in calls[0]["args"]

        member = {"channel": "purchasing-ops", "member": True}
        async with http.post(f"{control}/membership", json=member) as resp:
            assert resp.status == 200
        assert ws.bot_is_member("purchasing-ops")

        async with http.put(f"{control}/scopes", json={"scopes": ["commands"]}) as resp:
            assert resp.status == 200
        assert await api_error(client.chat_postMessage(channel="general", text="x")) == (
            "missing_scope"
        )


# --- Slack's own rate limits (opt-in) --------------------------------------------------------


async def test_posting_faster_than_a_message_per_second_per_channel_is_rate_limited(
    directory_file: Path,
) -> None:
    async with LocalSlackWorkspace(directory_file, rate_limits=True) as ws:
        client = AsyncWebClient(token=ws.bot_token, base_url=ws.api_url)
        for n in range(5):  # a short burst is fine
            await client.chat_postMessage(channel="UALICE", text=f"burst {n}")
        error = await slack_error(client.chat_postMessage(channel="UALICE", text="too fast"))
        assert error.response.status_code == 429
        assert 1 <= int(error.response.headers["Retry-After"]) <= 5
        await client.chat_postMessage(channel="UCARLOS", text="another channel is fine")


def test_method_tiers_allow_their_requests_per_minute_then_ask_to_wait() -> None:
    now = [1000.0]
    limits = RateLimits(enabled=True, clock=lambda: now[0])
    assert [limits.retry_after("conversations.list", None) for _ in range(20)] == [None] * 20
    assert limits.retry_after("conversations.list", None) == 60  # tier 2: 20 per minute
    now[0] += 30
    assert limits.retry_after("conversations.list", None) == 30
    now[0] += 30
    assert limits.retry_after("conversations.list", None) is None
    assert RateLimits(enabled=False).retry_after("conversations.list", None) is None
