"""The floor for `bench.workflow_latency`: the cheapest workflow with as many steps as the
auto-approved purchase path, so the benchmark can say what Temporal itself costs.

It lives in an importable module (not `__main__`): the workflow sandbox refuses workflows
defined in a `__main__` script.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from temporalio import activity, workflow

STEP_TIMEOUT = timedelta(seconds=30)


@dataclass(frozen=True)
class FloorInput:
    value: str
    regular: int  # trivial regular activities, run after the local ones
    local: int = 0  # trivial local activities, run first


@activity.defn
async def floor_step(value: str) -> str:
    """A trivial step: returns its input."""
    return value


@workflow.defn
class FloorWorkflow:
    """`local` trivial local activities, then `regular` trivial regular activities, one after
    another, each passing on the value; returns it. The floor proper is all regular
    (`local=0`). The benchmark also runs the product's mix of step kinds, for reference."""

    @workflow.run
    async def run(self, input: FloorInput) -> str:
        value = input.value
        for _ in range(input.local):
            value = await workflow.execute_local_activity(
                floor_step, value, start_to_close_timeout=STEP_TIMEOUT
            )
        for _ in range(input.regular):
            value = await workflow.execute_activity(
                floor_step, value, start_to_close_timeout=STEP_TIMEOUT
            )
        return value
