"""How every entity lives: it holds its state until Temporal suggests continue-as-new (the
history grows with every change), lets the Updates and signals in flight finish, and carries its
state into a fresh run. Workflow code: call it from an entity's `@workflow.run`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow


async def live_until_continue_as_new(
    state: Callable[[], Any], *, history_bytes: int | None = None
) -> None:
    """`state()` is read at the moment of continuing, so it carries every change made until then.
    `history_bytes`: also continue once the history is that large (an entity whose every change
    is a big payload, replayed by any worker that has not cached it, wants to stay small)."""

    def due() -> bool:
        info = workflow.info()
        if history_bytes is not None and info.get_current_history_size() > history_bytes:
            return True
        return info.is_continue_as_new_suggested()

    await workflow.wait_condition(due)
    await workflow.wait_condition(workflow.all_handlers_finished)
    workflow.continue_as_new(state())
