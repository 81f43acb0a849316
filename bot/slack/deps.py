"""What the Slack listeners need, handed to each listener group's `register`."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client

from appconfig.files import ReloadingFile
from bot.announcements import OpsAnnouncer
from bot.delegations_admin import DelegationsAdmin
from bot.flags_admin import FlagsAdmin
from bot.insight.source import DashboardSource
from bot.ops_audit import OpsAuditLog
from bot.purchase_service import PurchaseService
from bot.review_preview import ReviewPreview
from bot.rollout_admin import RolloutAdmin
from bot.rules_admin import RulesAdmin
from bot.rules_backtest import RulesBacktest
from bot.slack.after_ack import AfterAck
from bot.web.links import DashboardLinks
from domain.directory import Directory
from entities.history_store import HistoryStore


@dataclass(frozen=True)
class BotDeps:
    temporal: Client
    service: PurchaseService
    directory: ReloadingFile[Directory]
    ops_audit: OpsAuditLog
    rollout: RolloutAdmin
    flags: FlagsAdmin
    rules: RulesAdmin
    preview: ReviewPreview
    after_ack: AfterAck
    announcer: OpsAnnouncer
    backtest: RulesBacktest
    delegations: DelegationsAdmin
    # The requester-history store, probed by /rollout status; None leaves the line out.
    history: HistoryStore | None = None
    # Login links to the web dashboard (`/purchase dashboard`); None: not served.
    dashboard_links: DashboardLinks | None = None
    # The dashboard's figures (API, App Home, web page) from one source, so its projection of
    # the requests is built once per bot; None reads Temporal directly on every call.
    dashboard: DashboardSource | None = None

    def dashboard_source(self) -> DashboardSource:
        return self.dashboard or DashboardSource(self.temporal, self.rollout)
