"""The product with its Slack front end: the real Bolt app over real HTTP, talking to the local
Slack workspace, which delivers signed requests exactly as Slack does."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from aiohttp import web
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client

from activities.review_rules_source import LiveRules
from activities.user_history import UserHistorySource
from appconfig.files import ReloadingFile
from bot.announcements import OpsAnnouncer
from bot.api.app import build_api
from bot.api.endpoints import api_endpoints
from bot.api.tokens import ApiTokens, Role
from bot.insight.source import DashboardSource, RequestsReader
from bot.ops_audit import OpsAuditLog
from bot.review_preview import ReviewPreview
from bot.rollout_admin import RolloutAdmin
from bot.rules_backtest import RulesBacktest
from bot.slack.after_ack import AfterAck
from bot.slack.app import build_app, slash_commands
from bot.slack.deps import BotDeps
from bot.slack.notifier import SlackNotifier
from bot.slack.ops_alerts import OpsAlerts
from bot.slack.server import web_app
from bot.web.auth import WebAuth, web_key
from bot.web.links import DashboardLinks
from bot.web.routes import dashboard_web
from domain.catalog import Catalog
from domain.directory import Directory
from slack_workspace import LocalSlackWorkspace
from slack_workspace.delivery import DeliveryResult
from slack_workspace.state import Message
from tests.integration.world import REPO, World, running_world

# One API token per role, as PURCHASEBOT_API_TOKENS gives them to a real bot.
API_TOKENS = {role: f"test-token-{role.value}-0123456789" for role in Role}


@dataclass
class SlackWorld:
    world: World
    ws: LocalSlackWorkspace
    slack_client: AsyncWebClient
    ops_audit: OpsAuditLog
    rollout: RolloutAdmin
    bot_url: str
    runner: web.AppRunner
    since: str = "0"
    """Waits match only messages posted or edited after this ts: the workspace's latest when
    the last action (command, click, submission) began. A message that was already there
    cannot answer a later action."""

    async def restart_bot(self) -> None:
        """A new bot process: nothing carried over but configuration."""
        await self.runner.cleanup()
        self.runner = await _serve_bot(
            self.world, self.ws, self.slack_client, self.ops_audit, self.rollout, self.port
        )

    @property
    def port(self) -> int:
        return int(self.bot_url.rsplit(":", 1)[1].split("/")[0])

    @property
    def base_url(self) -> str:
        """The bot's own address: API, web dashboard, probes."""
        return self.bot_url.removesuffix("/slack/events")

    @property
    def api_url(self) -> str:
        return self.bot_url.removesuffix("/slack/events") + "/api"

    def dm(self, user: str) -> str:
        return self.ws.dm_channel(user, self.ws.bot_user_id)

    # --- actions: each moves `since` to the workspace's latest message first ------------------

    async def send_command(self, user: str, command: str, text: str = "") -> DeliveryResult:
        self._acting()
        return await self.ws.send_command(user, command, text)

    async def click_button(self, user: str, channel: str, ts: str, action: str) -> DeliveryResult:
        self._acting()
        return await self.ws.click_button(user, channel, ts, action)

    async def submit_view(self, user: str, view_id: str, values: dict[str, Any]) -> DeliveryResult:
        self._acting()
        return await self.ws.submit_view(user, view_id, values)

    def _acting(self) -> None:
        changes = [_changed_at(m) for m in self.ws.state.all_messages()]
        self.since = max(changes, key=Decimal, default="0")

    # --- waits: only for messages newer than the last action ----------------------------------

    async def bot_message_to(self, user: str, contains: str, timeout: float = 15) -> Message:  # noqa: ASYNC109
        channel = self.dm(user)
        return await self._wait(
            lambda m: m.channel == channel and m.user == self.ws.bot_user_id,
            contains,
            timeout,
        )

    async def ephemeral_to(self, user: str, contains: str, timeout: float = 15) -> Message:  # noqa: ASYNC109
        return await self._wait(lambda m: m.ephemeral_to == user, contains, timeout)

    async def _wait(
        self,
        where: Callable[[Message], bool],
        contains: str,
        timeout: float,  # noqa: ASYNC109
    ) -> Message:
        since = Decimal(self.since)
        return await self.ws.wait_for_message(
            lambda m: Decimal(_changed_at(m)) > since and where(m) and contains in _all_text(m),
            timeout,
        )


def _changed_at(message: Message) -> str:
    return message.edited_ts or message.ts


def _all_text(message: Message) -> str:
    parts = [message.text]
    for block in message.blocks or []:
        parts.append(str(block))
    return " ".join(parts)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


async def _serve_bot(
    world: World,
    ws: LocalSlackWorkspace,
    client: AsyncWebClient,
    audit: OpsAuditLog,
    rollout: RolloutAdmin,
    port: int,
    requests: RequestsReader | None = None,
) -> web.AppRunner:
    directory = ReloadingFile(world.settings.directory, Directory)
    after_ack = AfterAck()
    alerts = OpsAlerts(
        client,
        channel=world.settings.ops_channel,
        ops_users=lambda: directory.get().value.ops_users,
    )
    tokens = ApiTokens.parse(",".join(f"{t}:{role.value}" for role, t in API_TOKENS.items()))
    web_auth = WebAuth(tokens, web_key(None, ws.signing_secret))
    deps = BotDeps(
        temporal=world.client,
        service=world.service,
        directory=directory,
        ops_audit=audit,
        rollout=rollout,
        flags=world.flags,
        rules=world.rules,
        preview=ReviewPreview(
            directory,
            ReloadingFile(world.settings.catalog, Catalog),
            world.flags,
            LiveRules(world.client, world.rules.workflow_id),
            UserHistorySource(world.client, world.history),
        ),
        after_ack=after_ack,
        announcer=OpsAnnouncer(alerts),
        dashboard_links=DashboardLinks(web_auth, f"http://127.0.0.1:{port}"),
        backtest=RulesBacktest(world.client, world.settings.task_queue, world.history),
        delegations=world.delegations,
        dashboard=DashboardSource(world.client, rollout, requests) if requests else None,
    )
    app = build_app(client, ws.signing_secret, deps)
    api = build_api(tokens, audit, api_endpoints(deps), [dashboard_web(deps, web_auth).add_routes])
    runner = web.AppRunner(web_app(app, world.client, ws.signing_secret, after_ack, api))
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    return runner


@asynccontextmanager
async def slack_world(
    client: Client, tmp_path: Path, *, requests: RequestsReader | None = None, **world_args: Any
) -> AsyncIterator[SlackWorld]:
    """`requests`: how the dashboard reads the requests (as the bot does, a projection); by
    default straight from Temporal on every call."""
    # The directory written by running_world has per-test employee ids; Slack ids are the same.
    directory = REPO / "directory.yaml"
    ws = LocalSlackWorkspace(directory, commands=slash_commands(), manifest=REPO / "manifest.yaml")
    await ws.start()
    web_client = AsyncWebClient(token=ws.bot_token, base_url=ws.api_url)
    notifier = SlackNotifier(web_client, build_id="test-build")
    try:
        async with running_world(client, tmp_path, notifier=notifier, **world_args) as world:
            audit = OpsAuditLog(
                client, world.settings.control_task_queue, f"ops-audit-{world.employee_prefix}"
            )
            rollout = RolloutAdmin(
                client,
                control_task_queue=world.settings.control_task_queue,
                deployment_name=f"deploy-{world.employee_prefix}",
                directory=ReloadingFile(world.settings.directory, Directory),
            )
            port = _free_port()
            runner = await _serve_bot(world, ws, web_client, audit, rollout, port, requests)
            bot_url = f"http://127.0.0.1:{port}/slack/events"
            ws.set_request_url(bot_url)
            sw = SlackWorld(world, ws, web_client, audit, rollout, bot_url, runner)
            try:
                yield sw
            finally:
                await sw.runner.cleanup()
    finally:
        await ws.stop()
