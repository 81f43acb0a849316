"""`/purchase dashboard`: a short-lived login link to the web dashboard, sent in the person's DM
with the app, for ops and finance (`ops_users`, `finance_users` of directory.yaml)."""

from __future__ import annotations

from slack_sdk.web.async_client import AsyncWebClient

from bot.api.tokens import Role
from bot.slack.deps import BotDeps
from bot.web.auth import LINK_LIFETIME, Viewer
from domain.refusal import Refused

NOT_SERVED = "This bot does not serve the web dashboard."
NOT_ALLOWED = (
    "The dashboard is for ops and finance (`ops_users` and `finance_users` of directory.yaml); "
    "ask ops if you need it."
)
MINUTES = int(LINK_LIFETIME.total_seconds() // 60)
SENT = f"I sent you a login link to the dashboard in our DM; it works for {MINUTES} minutes."


def dashboard_role(user: str, deps: BotDeps) -> Role | None:
    directory = deps.directory.get().value
    if directory.is_ops(user):
        return Role.OPS
    return Role.FINANCE if directory.is_finance(user) else None


async def send_dashboard_link(user: str, deps: BotDeps, client: AsyncWebClient) -> str:
    """What to tell the person; raises Refused when they may not have a link."""
    if deps.dashboard_links is None:
        raise Refused(NOT_SERVED)
    role = dashboard_role(user, deps)
    if role is None:
        raise Refused(NOT_ALLOWED)
    url = deps.dashboard_links.login_url(Viewer(f"slack:{user}", role))
    dm = (await client.conversations_open(users=user))["channel"]["id"]
    await client.chat_postMessage(
        channel=dm,
        text=f"Your login link to the purchases dashboard (works for {MINUTES} minutes, only "
        f"for you: do not share it): <{url}|Open the dashboard>",
    )
    return SENT
