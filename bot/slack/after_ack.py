"""Work that follows an ack.

The Bolt app runs with `process_before_response=True`, so Slack's HTTP answer leaves as soon as
a listener returns (Bolt's default instead polls for the ack every 10 ms, which under a burst of
commands costs more than the work of acking). Listeners ack, hand their slow work to
`after_ack`, and return. Failures in that work are logged with context, never shown raw.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Coroutine
from typing import Any

log = logging.getLogger(__name__)

_running: set[asyncio.Task[object]] = set()  # keeps tasks alive until they finish


def after_ack(work: Coroutine[Any, Any, object], what: str) -> None:
    task = asyncio.create_task(work, name=what)
    _running.add(task)
    task.add_done_callback(_finished)


def _finished(task: asyncio.Task[object]) -> None:
    _running.discard(task)
    if not task.cancelled() and task.exception() is not None:
        log.error("%s failed after the ack", task.get_name(), exc_info=task.exception())


async def drain() -> None:
    """Wait for work in flight (on shutdown)."""
    if _running:
        await asyncio.gather(*_running, return_exceptions=True)
