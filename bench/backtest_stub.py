"""Past purchase requests for `bench.backtest`, made fast: a workflow registered under the
product's type name (`PurchaseApprovalWorkflow`) on the bench's own task queue that sets the
search attributes the real workflow sets when it closes (`PurchaseOutcome`, `ReviewPath`) and
completes in its first workflow task. Started with the product's own start attributes
(`bot.request_attributes.start_attributes`), it is, to visibility and to the backtest, what a
closed request is. Importable module: the sandbox refuses workflows defined in `__main__`."""

from __future__ import annotations

from dataclasses import dataclass

from temporalio import workflow

from domain.workflow_ids import PURCHASE_WORKFLOW_TYPE

with workflow.unsafe.imports_passed_through():
    from workflows.names import PURCHASE_OUTCOME, REVIEW_PATH


@dataclass(frozen=True)
class ClosedAs:
    outcome: str  # PurchaseOutcome
    review_path: str  # ReviewPath


@workflow.defn(name=PURCHASE_WORKFLOW_TYPE)
class PastRequestWorkflow:
    @workflow.run
    async def run(self, closed: ClosedAs) -> None:
        workflow.upsert_search_attributes(
            [
                PURCHASE_OUTCOME.value_set(closed.outcome),
                REVIEW_PATH.value_set(closed.review_path),
            ]
        )
