"""Work that follows an ack, run after the acks.

Slack gives the bot 3 seconds to answer each request, and a burst of commands must not wait
behind the slow work of the ones before (starting workflows, posting replies). So:

- the Bolt app runs with `process_before_response=True`: the HTTP answer leaves as soon as a
  listener returns (Bolt's default instead polls for the ack every 10 ms);
- listeners ack, hand their slow work to `after_ack`, and return;
- that work starts once no Slack request has been answered for QUIET seconds (`answering`
  marks them: a burst arrives over a few milliseconds, not all at once), or after MAX_DEFER
  seconds at the latest. A lone command's work starts QUIET after its answer left.

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

_running: set[asyncio.Task[object]] = set()  # keeps tasks alive until they finish
_answering = 0
_idle = asyncio.Event()
_idle.set()
_quiet_timer: asyncio.TimerHandle | None = None


@contextlib.asynccontextmanager
async def answering() -> AsyncIterator[None]:
    """Around the handling of one request from Slack, up to its HTTP answer."""
    global _answering, _quiet_timer
    _answering += 1
    _idle.clear()
    if _quiet_timer is not None:
        _quiet_timer.cancel()
    try:
        yield
    finally:
        _answering -= 1
        if _answering == 0:
            _quiet_timer = asyncio.get_running_loop().call_later(QUIET, _idle.set)


def after_ack(work: Coroutine[Any, Any, object], what: str) -> None:
    task = asyncio.create_task(_when_idle(work), name=what)
    _running.add(task)
    task.add_done_callback(_finished)


async def _when_idle(work: Coroutine[Any, Any, object]) -> object:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(_idle.wait(), MAX_DEFER)
    return await work


def _finished(task: asyncio.Task[object]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("%s failed after the ack", task.get_name(), exc_info=task.exception())


async def drain() -> None:
    """Wait for work in flight (on shutdown)."""
    if _running:
        await asyncio.gather(*_running, return_exceptions=True)
