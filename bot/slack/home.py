"""The App Home tab, published for one person: their latest requests (everyone), the
approvals waiting for them (managers, and anyone a request was delegated or reassigned to: the
approval message's own buttons), the dashboard (ops and finance) and how to use `/purchase`.
Opening the tab and deciding from it republish it."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

from slack_sdk.web.async_client import AsyncWebClient

from bot.insight.api import DEFAULT_PERIOD, dashboard_of
from bot.insight.dashboard import Period
from bot.insight.projection import DashboardWarming
from bot.slack import blocks
from bot.slack.blocks import Block
from bot.slack.deps import BotDeps
from bot.slack.home_blocks import (
    DASHBOARD_FAILED,
    DASHBOARD_SLOW,
    dashboard_blocks,
    waiting_approval_blocks,
)
from bot.slack.my_requests import latest_request_lines, latest_requests_block
from bot.slack.waiting_approvals import approvals_waiting_for
from domain.refusal import Refused

log = logging.getLogger(__name__)

# The Home view waits this long for the figures, then says where to find them instead.
DASHBOARD_SECONDS = 8.0


class HomeTab:
    def __init__(self, deps: BotDeps) -> None:
        # Only kept: listeners are registered before anything of `deps` is used.
        self._deps = deps

    def sees_dashboard(self, user: str) -> bool:
        directory = self._deps.directory.get().value
        return directory.is_ops(user) or directory.is_finance(user)

    async def publish(self, client: AsyncWebClient, user: str, notice: str = "") -> None:
        """`notice`: the outcome of what the person just did here (a decision, a refusal)."""
        mine, waiting, figures = await asyncio.gather(
            self._mine(user), self._waiting(user), self._dashboard(user)
        )
        top = [blocks.text(notice)] if notice else []
        await client.views_publish(
            user_id=user,
            view={
                "type": "home",
                "blocks": [
                    blocks.header("Purchases"),
                    *top,
                    *waiting,
                    {"type": "divider"},
                    mine,
                    *figures,
                    {"type": "divider"},
                    blocks.text(blocks.USAGE),
                ],
            },
        )

    async def _mine(self, user: str) -> Block:
        try:
            return latest_requests_block(await latest_request_lines(user, self._deps))
        except Refused as refused:
            return blocks.text(str(refused))

    async def _waiting(self, user: str) -> list[Block]:
        waiting = await approvals_waiting_for(user, self._deps)
        if not waiting and not self._deps.directory.get().value.reports_of(user):
            # Nobody reports to them and nothing was handed to them: no approvals section.
            return []
        return waiting_approval_blocks(waiting)

    async def _dashboard(self, user: str) -> list[Block]:
        if not self.sees_dashboard(user):
            return []
        until = datetime.now(UTC)
        period = Period(since=until - DEFAULT_PERIOD, until=until)
        try:
            async with asyncio.timeout(DASHBOARD_SECONDS):
                figures = await dashboard_of(self._deps.dashboard_source(), period)
        except TimeoutError:
            return [{"type": "divider"}, blocks.text(DASHBOARD_SLOW)]
        except DashboardWarming as warming:
            return [{"type": "divider"}, blocks.text(str(warming))]
        except Exception:  # the rest of the Home still shows; ops see the log
            log.exception("App Home dashboard failed for %s", user)
            return [{"type": "divider"}, blocks.text(DASHBOARD_FAILED)]
        return [{"type": "divider"}, *dashboard_blocks(figures)]
