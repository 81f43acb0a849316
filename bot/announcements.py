"""Changes people make to the product (from Slack or the API) announced in the ops channel, so
the team sees every change however it was made."""

from __future__ import annotations

import logging
from typing import Protocol

log = logging.getLogger(__name__)


class AlertSender(Protocol):
    async def send(self, text: str, *, last_try: bool) -> None: ...


class OpsAnnouncer:
    def __init__(self, alerts: AlertSender | None) -> None:
        """`alerts` None: no Slack (a bot always has one; kept for tools without Slack)."""
        self._alerts = alerts

    async def announce(self, text: str) -> None:
        """Never fails the change it announces: the change is done and audited already."""
        if self._alerts is None:
            log.info("announcement (no Slack): %s", text)
            return
        try:
            await self._alerts.send(text, last_try=True)
        except Exception:
            log.exception("could not announce a change in the ops channel: %s", text)
