"""Work that follows an ack, run after the acks.

Slack gives the bot 3 seconds to answer each request, and a burst of commands must not wait
behind the slow work of the ones before (starting workflows, posting replies). So:

- the Bolt app runs with `process_before_response=True`: the HTTP answer leaves as soon as a
  listener returns (Bolt's default instead polls for the ack every 10 ms);
- listeners ack, hand their slow work to `AfterAck.schedule`, and return;
- that work starts once no Slack request has been answered for QUIET seconds (the server marks
  them with `AfterAck.answering`: a burst arrives over a few milliseconds, not all at once), or
  after MAX_DEFER seconds at the latest. A lone command's work starts QUIET after its answer left.

One AfterAck per bot, created where the bot is started and handed to the server and (in BotDeps)
to the listeners: two bots in one process (tests) never wait on each other's requests.

Failures in that work are logged with context, never shown raw.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Coroutine
from typing import Any

log = logging.getLogger(__name__)

MAX_DEFER = 0.5  # seconds: a steady stream of requests must not starve the work
QUIET = 0.02


class AfterAck:
    def __init__(self, *, quiet: float = QUIET, max_defer: float = MAX_DEFER) -> None:
        self._quiet = quiet
        self._max_defer = max_defer
        self._running: set[asyncio.Task[object]] = set()  # keeps tasks alive until they finish
        self._answering = 0
        self._idle = asyncio.Event()
        self._idle.set()
        self._quiet_timer: asyncio.TimerHandle | None = None

    @contextlib.asynccontextmanager
    async def answering(self) -> AsyncIterator[None]:
        """Around the handling of one request from Slack, up to its HTTP answer."""
        self._answering += 1
        self._idle.clear()
        if self._quiet_timer is not None:
            self._quiet_timer.cancel()
        try:
            yield
        finally:
            self._answering -= 1
            if self._answering == 0:
                loop = asyncio.get_running_loop()
                self._quiet_timer = loop.call_later(self._quiet, self._idle.set)

    def schedule(self, work: Coroutine[Any, Any, object], what: str) -> None:
        """Run `work` once the acks have gone; `what` names it in the log if it fails."""
        task = asyncio.create_task(self._when_idle(work), name=what)
        self._running.add(task)
        task.add_done_callback(self._finished)

    async def drain(self) -> None:
        """Wait for work in flight (on shutdown)."""
        if self._running:
            await asyncio.gather(*self._running, return_exceptions=True)

    async def _when_idle(self, work: Coroutine[Any, Any, object]) -> object:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), self._max_defer)
        return await work

    def _finished(self, task: asyncio.Task[object]) -> None:
        self._running.discard(task)
        if not task.cancelled() and task.exception() is not None:
            log.error("%s failed after the ack", task.get_name(), exc_info=task.exception())
