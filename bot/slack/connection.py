"""Where the bot's Slack is: the real one (tokens set) or the local workspace (no tokens)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AsyncExitStack
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from aiohttp import web
from slack_bolt.app.async_app import AsyncApp
from slack_sdk.web.async_client import AsyncWebClient
from temporalio.client import Client

from activities.review_rules_source import LiveRules
from activities.user_history import UserHistorySource
from appconfig.files import ReloadingFile
from appconfig.settings import Settings
from bot.announcements import OpsAnnouncer
from bot.api.app import build_api, mount_api
from bot.api.endpoints import api_endpoints
from bot.api.tokens import ApiTokens
from bot.delegations_admin import DelegationsAdmin
from bot.flags_admin import FlagsAdmin
from bot.health import serve_probes
from bot.insight.projection import RequestsProjection
from bot.insight.snapshot import ProjectionSnapshot
from bot.insight.source import DashboardSource
from bot.installation import rollout_admin_for
from bot.metrics import PrometheusExport, RolloutGauge, mount_metrics
from bot.ops_audit import OpsAuditLog
from bot.purchase_service import PurchaseService
from bot.review_preview import ReviewPreview
from bot.rules_admin import RulesAdmin, load_initial_rules
from bot.rules_backtest import RulesBacktest
from bot.slack.after_ack import AfterAck
from bot.slack.app import build_app, slash_commands
from bot.slack.deps import BotDeps
from bot.slack.metered_client import metered
from bot.slack.ops_alerts import OpsAlerts
from bot.slack.server import start_http, start_socket_mode
from bot.web.auth import WebAuth, web_key
from bot.web.links import DashboardLinks
from bot.web.routes import dashboard_web
from bot.worker import history_store
from domain.catalog import Catalog
from domain.directory import Directory
from slack_workspace import LocalSlackWorkspace

# Where `up` leaves the local workspace's throwaway credentials, so a second local worker
# build (`make second-build`) can post to the same workspace.
LOCAL_SLACK_ENV = "local-slack.env"


def _write_local_env(path: Path, workspace: LocalSlackWorkspace) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600)
    path.write_text(f"SLACK_API_URL={workspace.api_url}\nSLACK_BOT_TOKEN={workspace.bot_token}\n")


class SlackNotConfigured(Exception):
    """The bot was asked to run alone without Slack tokens."""


@dataclass(frozen=True)
class SlackConnection:
    client: AsyncWebClient
    signing_secret: str
    local_workspace_url: str | None = None


def web_client(settings: Settings) -> AsyncWebClient | None:
    """The Web API client a worker needs to post (no signing secret: it receives nothing)."""
    if settings.slack_bot_token is None:
        return None
    return AsyncWebClient(
        token=settings.slack_bot_token.get_secret_value(), base_url=settings.slack_api_url
    )


async def open_slack(settings: Settings, stack: AsyncExitStack, *, local: bool) -> SlackConnection:
    """Real Slack when SLACK_BOT_TOKEN is set; else, if `local`, start the local workspace."""
    client = web_client(settings)
    if client is not None:
        if settings.slack_signing_secret is None and settings.slack_app_token is None:
            raise SlackNotConfigured(
                "SLACK_BOT_TOKEN is set but SLACK_SIGNING_SECRET is not: set it (HTTP mode) or "
                "SLACK_APP_TOKEN (Socket Mode)."
            )
        secret = (
            settings.slack_signing_secret.get_secret_value()
            if settings.slack_signing_secret
            else ""
        )
        return SlackConnection(client=client, signing_secret=secret)
    if not local:
        raise SlackNotConfigured(
            "Set SLACK_BOT_TOKEN and SLACK_SIGNING_SECRET (see the README), or run "
            "`purchasebot up`, which starts a local Slack workspace when they are not set."
        )
    # Slack's rules as a real install has them: the manifest's scopes, and no channel joined.
    workspace = LocalSlackWorkspace(
        settings.directory, commands=slash_commands(), manifest=settings.slack_manifest
    )
    url = await workspace.start(port=settings.local_slack_port)
    stack.push_async_callback(workspace.stop)
    workspace.set_request_url(f"http://127.0.0.1:{settings.port}/slack/events")
    _write_local_env(settings.data_dir / LOCAL_SLACK_ENV, workspace)
    return SlackConnection(
        client=AsyncWebClient(token=workspace.bot_token, base_url=workspace.api_url),
        signing_secret=workspace.signing_secret,
        local_workspace_url=url,
    )


async def start_bot(
    settings: Settings,
    temporal: Client,
    slack: SlackConnection,
    stack: AsyncExitStack,
    metrics: PrometheusExport | None = None,
) -> AsyncApp:
    """`metrics`: the exporter of `temporal`'s runtime, served at `/metrics` on the bot's port."""
    meter = metrics.runtime.metric_meter if metrics else None
    slack_client = metered(slack.client, meter) if meter else slack.client
    directory = ReloadingFile(settings.directory, Directory)
    after_ack = AfterAck()
    # Read before anything starts: a broken token setting stops the bot with its reason.
    tokens = ApiTokens.load(
        settings.api_tokens.get_secret_value() if settings.api_tokens else None,
        settings.api_tokens_file,
    )
    alerts = OpsAlerts(
        slack_client,
        channel=settings.ops_channel,
        ops_users=lambda: directory.get().value.ops_users,
    )
    flags = FlagsAdmin(temporal, settings.control_task_queue)
    web_auth = WebAuth(
        tokens,
        web_key(
            settings.web_secret.get_secret_value() if settings.web_secret else None,
            slack.signing_secret,
        ),
    )
    catalog = ReloadingFile(settings.catalog, Catalog)
    rollout = rollout_admin_for(temporal, settings)
    requests = RequestsProjection(
        temporal, snapshot=ProjectionSnapshot(settings.dashboard_snapshot)
    )
    warming = asyncio.create_task(requests.warm())
    stack.callback(warming.cancel)
    service = PurchaseService(
        temporal,
        directory,
        task_queue=settings.task_queue,
        catalog=catalog,
        routing=rollout.routing,
    )
    deps = BotDeps(
        temporal=temporal,
        service=service,
        directory=directory,
        ops_audit=OpsAuditLog(temporal, settings.control_task_queue),
        rollout=rollout,
        flags=flags,
        rules=RulesAdmin(
            temporal, settings.control_task_queue, initial=load_initial_rules(settings.rules)
        ),
        preview=ReviewPreview(
            directory,
            catalog,
            flags,
            LiveRules(temporal),
            UserHistorySource(temporal, history_store(temporal, settings)),
        ),
        after_ack=after_ack,
        announcer=OpsAnnouncer(alerts),
        backtest=RulesBacktest(temporal, settings.task_queue, history_store(temporal, settings)),
        delegations=DelegationsAdmin(temporal, settings.control_task_queue, service, directory),
        history=history_store(temporal, settings),
        dashboard_links=DashboardLinks(
            web_auth, settings.public_url or f"http://127.0.0.1:{settings.port}"
        ),
        dashboard=DashboardSource(temporal, rollout, requests),
    )
    app = build_app(slack_client, slack.signing_secret, deps, meter)
    routes: list[Callable[[web.Application], None]] = [dashboard_web(deps, web_auth).add_routes]
    if metrics is not None:
        gauge = RolloutGauge(metrics.runtime.metric_meter, rollout.deployments.describe)
        routes.append(partial(mount_metrics, export=metrics, before_scrape=gauge.refresh))
    api = build_api(tokens, deps.ops_audit, api_endpoints(deps), routes)
    if settings.slack_app_token is not None and slack.local_workspace_url is None:
        handler = await start_socket_mode(app, settings.slack_app_token.get_secret_value())
        stack.push_async_callback(handler.close_async)
        probes = await serve_probes(
            temporal, settings.host, settings.port, more_routes=lambda http: mount_api(http, api)
        )
        stack.push_async_callback(probes.cleanup)
        print(
            f"Slack bot connected in Socket Mode (probes and /api/ on "
            f"{settings.host}:{settings.port}).",
            flush=True,
        )
    else:
        runner = await start_http(
            app,
            temporal,
            slack.signing_secret,
            after_ack,
            api,
            host=settings.host,
            port=settings.port,
        )
        stack.push_async_callback(runner.cleanup)
        print(
            f"Slack bot listening on http://{settings.host}:{settings.port}/slack/events "
            f"(health: /health; probes: /livez, /readyz; API: /api/, {len(tokens)} tokens; "
            f"dashboard: /dashboard).",
            flush=True,
        )
    # Runs first on the way out: finish the work already acknowledged.
    stack.push_async_callback(after_ack.drain)
    return app
