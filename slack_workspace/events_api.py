"""The Events API: events delivered to the app's request URL as Slack delivers them.

An event is a signed JSON POST (`"type": "event_callback"` around the event) that the app must
acknowledge with HTTP 200 within 3 seconds. When it does not (a timeout, another status, no
connection), Slack tries again up to 3 times, at once, after 1 minute and after 5 minutes,
adding `X-Slack-Retry-Num` (1, 2, 3) and `X-Slack-Retry-Reason` (`http_timeout`,
`http_error`, `connection_failed`); an app answering a failure with `X-Slack-No-Retry: 1`
gets no more tries. When a Request URL is set, Slack first checks it with a
`url_verification` request whose `challenge` the app must echo.
"""

from __future__ import annotations

import asyncio
import json
import secrets
import time
from dataclasses import dataclass, field

from slack_workspace.blocks import JsonDict
from slack_workspace.config import WorkspaceConfig
from slack_workspace.delivery import Answer, Deliverer
from slack_workspace.state import WorkspaceState

JSON = "application/json"


@dataclass(frozen=True)
class EventAttempt:
    retry_num: int  # 0 for the first delivery
    status: int | None  # the app's HTTP status; None when it did not answer in time
    reason: str | None  # why it counts as failed: http_timeout | http_error | connection_failed


@dataclass
class EventDelivery:
    """One event and every attempt to deliver it; `finished` is set once it was acknowledged
    or Slack gave up."""

    event_id: str
    envelope: JsonDict
    attempts: list[EventAttempt] = field(default_factory=list)
    finished: asyncio.Event = field(default_factory=asyncio.Event)

    @property
    def acked(self) -> bool:
        return bool(self.attempts) and self.attempts[-1].reason is None

    async def wait(self, timeout: float = 10.0) -> EventDelivery:  # noqa: ASYNC109
        await asyncio.wait_for(self.finished.wait(), timeout)
        return self


def _reason(answer: Answer) -> str | None:
    if answer.error is None:
        return None
    if answer.error == "operation_timeout":
        return "http_timeout"
    return "http_error" if answer.status is not None else "connection_failed"


class EventsApi:
    def __init__(
        self, state: WorkspaceState, config: WorkspaceConfig, deliverer: Deliverer
    ) -> None:
        self.state = state
        self.config = config
        self.deliverer = deliverer
        self.deliveries: list[EventDelivery] = []
        self._retries: set[asyncio.Task[None]] = set()

    async def close(self) -> None:
        for task in self._retries:
            task.cancel()
        await asyncio.gather(*self._retries, return_exceptions=True)
        self._retries.clear()

    def subscribed(self, event_type: str) -> bool:
        return self.config.bot_events is None or event_type in self.config.bot_events

    async def verify_url(self) -> bool:
        """Slack's check of a new Request URL: the app must echo the challenge."""
        challenge = secrets.token_urlsafe(24)
        body = {
            "token": self.config.verification_token,
            "challenge": challenge,
            "type": "url_verification",
        }
        answer = await self.deliverer.send(json.dumps(body), JSON)
        if answer.status != 200:
            return False
        try:
            echoed = json.loads(answer.body).get("challenge")
        except (json.JSONDecodeError, AttributeError):
            echoed = answer.body.strip()
        return bool(echoed == challenge)

    async def deliver(self, event: JsonDict) -> EventDelivery | None:
        """Deliver the event (None when the app is not subscribed to it). Returns after the
        first attempt; retries go on in the background (`EventDelivery.wait()`)."""
        if not self.subscribed(str(event.get("type"))):
            return None
        event_id = "Ev" + secrets.token_hex(5).upper()
        envelope: JsonDict = {
            "token": self.config.verification_token,
            "team_id": self.state.team_id,
            "api_app_id": self.state.app_id,
            "event": event,
            "type": "event_callback",
            "event_id": event_id,
            "event_time": int(time.time()),
            "authorizations": [
                {
                    "enterprise_id": None,
                    "team_id": self.state.team_id,
                    "user_id": self.state.bot_user_id,
                    "is_bot": True,
                    "is_enterprise_install": False,
                }
            ],
            "is_ext_shared_channel": False,
            "event_context": "4-" + secrets.token_urlsafe(16),
        }
        delivery = EventDelivery(event_id, envelope)
        self.deliveries.append(delivery)
        no_retry = await self._attempt(delivery, 0)
        if delivery.acked or no_retry:
            delivery.finished.set()
        else:
            task = asyncio.create_task(self._retry(delivery))
            self._retries.add(task)
            task.add_done_callback(self._retries.discard)
        return delivery

    async def _attempt(self, delivery: EventDelivery, retry_num: int) -> bool:
        """One POST; True when the app asked for no more retries."""
        headers = {}
        if retry_num:
            headers["X-Slack-Retry-Num"] = str(retry_num)
            headers["X-Slack-Retry-Reason"] = delivery.attempts[-1].reason or "unknown_error"
        answer = await self.deliverer.send(json.dumps(delivery.envelope), JSON, headers)
        delivery.attempts.append(EventAttempt(retry_num, answer.status, _reason(answer)))
        self.state.feed.bump()
        return answer.no_retry

    async def _retry(self, delivery: EventDelivery) -> None:
        try:
            for retry_num, delay in enumerate(self.config.event_retry_delays, start=1):
                await asyncio.sleep(delay)
                no_retry = await self._attempt(delivery, retry_num)
                if delivery.acked or no_retry:
                    return
        finally:
            delivery.finished.set()
