"""Login links to the web dashboard, as `/purchase dashboard` sends them."""

from __future__ import annotations

from dataclasses import dataclass

from bot.web.auth import Viewer, WebAuth

LOGIN_PATH = "/dashboard/login"


@dataclass(frozen=True)
class DashboardLinks:
    auth: WebAuth
    base_url: str
    """Where people's browsers reach the bot (PURCHASEBOT_PUBLIC_URL)."""

    def login_url(self, viewer: Viewer) -> str:
        # The signed link is base64url and a dot: nothing to escape in a query string.
        return f"{self.base_url.rstrip('/')}{LOGIN_PATH}?link={self.auth.login_link(viewer)}"
