"""Slack's own rate limits, when asked for (`rate_limits=True`, CLI `--rate-limits`).

Slack limits each Web API method per app per workspace by tier (requests per minute, with
bursts tolerated) and posting messages to about one per second per channel, with short
bursts. Over the limit it answers HTTP 429 with `Retry-After`. Off by default: tests that want
a 429 at a precise moment inject it as a fault (see faults.py); this models a sustained
overload instead.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Callable

# Requests per minute of each tier (the lower bound Slack guarantees).
TIER_PER_MINUTE = {1: 1, 2: 20, 3: 50, 4: 100}
METHOD_TIERS = {
    "auth.test": 4,
    "chat.update": 3,
    "chat.postEphemeral": 4,
    "conversations.open": 3,
    "conversations.join": 3,
    "conversations.list": 2,
    "conversations.info": 3,
    "users.info": 4,
    "views.open": 4,
    "views.push": 4,
    "views.update": 4,
    "views.publish": 4,
}
# chat.postMessage: one per second per channel, a short burst tolerated.
POSTS_PER_SECOND = 1.0
POST_BURST = 5


class SlidingWindow:
    """At most `limit` events in any `seconds`-long window."""

    def __init__(self, limit: int, seconds: float) -> None:
        self.limit = limit
        self.seconds = seconds
        self._times: deque[float] = deque()

    def wait_needed(self, now: float) -> float:
        """0 when one more event fits now (and counts it), else seconds until it would."""
        while self._times and now - self._times[0] >= self.seconds:
            self._times.popleft()
        if len(self._times) < self.limit:
            self._times.append(now)
            return 0.0
        return self._times[0] + self.seconds - now


class RateLimits:
    def __init__(self, enabled: bool = False, clock: Callable[[], float] = time.monotonic) -> None:
        self.enabled = enabled
        self._clock = clock
        self._windows: dict[tuple[str, str], SlidingWindow] = {}

    def _window(self, method: str, channel: str) -> SlidingWindow | None:
        key = (method, channel)
        if key not in self._windows:
            if method == "chat.postMessage":
                # A burst of POST_BURST, then one per second on average.
                self._windows[key] = SlidingWindow(POST_BURST, POST_BURST / POSTS_PER_SECOND)
            elif method in METHOD_TIERS:
                self._windows[key] = SlidingWindow(TIER_PER_MINUTE[METHOD_TIERS[method]], 60.0)
            else:
                return None
        return self._windows[key]

    def retry_after(self, method: str, channel: str | None) -> int | None:
        """None when the call may go ahead; else the whole seconds Slack would ask to wait."""
        if not self.enabled:
            return None
        per_channel = (channel or "") if method == "chat.postMessage" else ""
        window = self._window(method, per_channel)
        if window is None:
            return None
        wait = window.wait_needed(self._clock())
        return max(1, math.ceil(wait)) if wait > 0 else None
