"""How every entity lives: it holds its state until Temporal suggests continue-as-new (the
history grows with every change), lets the Updates and signals in flight finish, and carries its
state into a fresh run. Workflow code: call it from an entity's `@workflow.run`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from temporalio import workflow


async def live_until_continue_as_new(
    state: Callable[[], Any], *, also_when: Callable[[], bool] | None = None
) -> None:
    """`state()` is read at the moment of continuing, so it carries every change made until then.
    `also_when`: continue as soon as it is true too (an entity whose changes are big payloads
    and whose state is small continues after every change, so its history never grows)."""

    def due() -> bool:
        if also_when is not None and also_when():
            return True
        return workflow.info().is_continue_as_new_suggested()

    await workflow.wait_condition(due)
    await workflow.wait_condition(workflow.all_handlers_finished)
    workflow.continue_as_new(state())
