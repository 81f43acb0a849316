"""Floor workflows for `bench.workflow_latency`: the cheapest workflows with the same number of
steps as the auto-approved purchase path, so the benchmark can say what Temporal itself costs.

They live in an importable module (not `__main__`): the workflow sandbox refuses workflows
defined in a `__main__` script.
"""

from __future__ import annotations

from datetime import timedelta

from temporalio import activity, workflow

# validate, review, place order, notify: the steps of the auto-approved path.
STEPS = 4
STEP_TIMEOUT = timedelta(seconds=30)


@activity.defn
async def floor_step(value: str) -> str:
    """A trivial step: returns its input."""
    return value


@workflow.defn
class FloorWorkflow:
    """The floor the targets are measured against: every step a regular activity."""

    @workflow.run
    async def run(self, value: str) -> str:
        for _ in range(STEPS):
            value = await workflow.execute_activity(
                floor_step, value, start_to_close_timeout=STEP_TIMEOUT
            )
        return value


@workflow.defn
class SameShapeFloorWorkflow:
    """Reference only (no target): the same step kinds as the auto-approved path, two local
    activities (validate, review) then two regular ones (place order, notify). The product's
    distance to this one is the cost of its own code, not of Temporal's round trips."""

    @workflow.run
    async def run(self, value: str) -> str:
        for _ in range(2):
            value = await workflow.execute_local_activity(
                floor_step, value, start_to_close_timeout=STEP_TIMEOUT
            )
        for _ in range(STEPS - 2):
            value = await workflow.execute_activity(
                floor_step, value, start_to_close_timeout=STEP_TIMEOUT
            )
        return value
