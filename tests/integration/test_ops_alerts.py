"""Ops alerts under real Slack's rules: the bot is in no channel until it joins one, and its
scopes are exactly manifest.yaml's. An alert reaches the ops channel (joining it), or, when the
channel cannot be reached, every ops user by DM; Slack's trouble is retried after Retry-After."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest
import pytest_asyncio
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client
from temporalio.common import RetryPolicy
from temporalio.exceptions import ApplicationError
from temporalio.testing import ActivityEnvironment, WorkflowEnvironment

from activities.rollout import RolloutActivities
from activities.worker_deployments import WorkerDeployments
from bot.slack.channels import post_joining
from bot.slack.notifier import SlackNotifier
from domain.rollout_models import OpsAlertInput
from slack_workspace import LocalSlackWorkspace
from slack_workspace.scopes import scopes_from_manifest
from tests.integration.deployment_world import deployment_world
from tests.integration.test_rollouts import two_builds
from tests.integration.world import REPO

MANIFEST = REPO / "manifest.yaml"
OPS_USERS = ("UOLIVIA", "UHELEN")
ALERT = ":rotating_light: The monitor rolled back from build `B` to `A`."


@pytest_asyncio.fixture
async def ws() -> AsyncIterator[LocalSlackWorkspace]:
    async with LocalSlackWorkspace(REPO / "directory.yaml", manifest=MANIFEST) as workspace:
        yield workspace


def notifier(ws: LocalSlackWorkspace, ops_channel: str = "purchasing-ops") -> SlackNotifier:
    return SlackNotifier(
        AsyncWebClient(token=ws.bot_token, base_url=ws.api_url),
        build_id="test",
        ops_channel=ops_channel,
        ops_users=lambda: OPS_USERS,
    )


async def run_alert(
    ws: LocalSlackWorkspace, attempt: int = 1, ops_channel: str = "purchasing-ops"
) -> None:
    """The alert activity as the controller schedules it (5 attempts), at `attempt`."""
    env = ActivityEnvironment()
    env.info = dataclasses.replace(
        env.info, attempt=attempt, retry_policy=RetryPolicy(maximum_attempts=5)
    )
    client = await Client.connect("127.0.0.1:1", lazy=True)  # alert_ops never calls Temporal
    activities = RolloutActivities(
        client, WorkerDeployments(client, "unused"), notifier(ws, ops_channel)
    )
    await env.run(activities.alert_ops, OpsAlertInput(text=ALERT))


def ops_dms(ws: LocalSlackWorkspace) -> list[str]:
    return [m.text for user in OPS_USERS for m in ws.messages(ws.dm_channel(user, ws.bot_user_id))]


async def test_the_bot_joins_the_ops_channel_and_the_alert_arrives(
    ws: LocalSlackWorkspace,
) -> None:
    assert not ws.bot_is_member("purchasing-ops")
    await run_alert(ws)
    assert [m.text for m in ws.messages("purchasing-ops")] == [ALERT]
    assert ws.bot_is_member("purchasing-ops")
    await run_alert(ws)  # a member now: no second join
    assert len(ws.messages("purchasing-ops")) == 2
    assert len(ws.api_calls("conversations.join")) == 1
    assert ops_dms(ws) == []


@pytest.mark.parametrize(
    ("scopes_left_out", "ops_channel", "reason"),
    [
        ({"channels:join"}, "purchasing-ops", "missing_scope"),
        (set(), "no-such-channel", "channel_not_found"),
    ],
    ids=["join-scope-missing", "channel-gone"],
)
async def test_an_unreachable_ops_channel_alerts_the_ops_users_by_dm(
    ws: LocalSlackWorkspace, scopes_left_out: set[str], ops_channel: str, reason: str
) -> None:
    ws.grant_scopes(scopes_from_manifest(MANIFEST) - scopes_left_out)
    await run_alert(ws, ops_channel=ops_channel)  # a permanent error: no retry first
    dms = ops_dms(ws)
    assert len(dms) == 2 and all(ALERT in text and reason in text for text in dms)
    assert ws.messages("purchasing-ops") == []


async def test_slack_trouble_is_retried_after_retry_after_then_dms_on_the_last_attempt(
    ws: LocalSlackWorkspace,
) -> None:
    ws.inject_fault("chat.postMessage", "rate_limited", times=2, retry_after=7)
    with pytest.raises(ApplicationError) as caught:
        await run_alert(ws, attempt=1)
    assert caught.value.type == "NotDeliveredYet"
    assert caught.value.next_retry_delay == timedelta(seconds=7)
    assert ws.messages("purchasing-ops") == [] and ops_dms(ws) == []
    await run_alert(ws, attempt=5)  # the last: Slack still refuses the channel, so DMs
    assert len(ops_dms(ws)) == 2 and all("ratelimited" in text for text in ops_dms(ws))


async def test_a_rollback_alert_reaches_the_ops_channel_with_membership_enforced(
    dev_env: WorkflowEnvironment, ws: LocalSlackWorkspace, tmp_path: Path
) -> None:
    async with deployment_world(dev_env.client, tmp_path, alerts=notifier(ws)) as world:
        await two_builds(world)
        await world.admin.promote("B", "UOLIVIA")
        await world.admin.rollback("UHELEN", "bad numbers")
        alert = await ws.wait_for_message(
            lambda m: m.channel == ws.channel_id("purchasing-ops") and "rolled back" in m.text,
            timeout=20,
        )
        assert "from build `B` to `A`" in alert.text and "bad numbers" in alert.text
        assert ops_dms(ws) == []


async def test_a_one_shot_alert_falls_back_to_dms_at_once(ws: LocalSlackWorkspace) -> None:
    """Callers that do not retry (e.g. the unreadable-flags alert) get the fallback at once."""
    ws.inject_fault(
        "chat.postMessage", "http_error", status=503, match={"channel": "purchasing-ops"}
    )
    await notifier(ws).alert_ops(ALERT)
    assert len(ops_dms(ws)) == 2 and ws.messages("purchasing-ops") == []


async def test_posting_in_a_channel_joins_it_once_by_id(ws: LocalSlackWorkspace) -> None:
    """The approvals channel (PURCHASEBOT_APPROVALS_CHANNEL) is posted to the same way."""
    client = AsyncWebClient(token=ws.bot_token, base_url=ws.api_url)
    first = await post_joining(client, "#general", text="one")
    second = await post_joining(client, "general", text="two")
    assert first["channel"] == second["channel"] == ws.channel_id("general")
    assert [m.text for m in ws.messages("general")] == ["one", "two"]
    assert [c.args["channel"] for c in ws.api_calls("conversations.join")] == [
        ws.channel_id("general")
    ]
