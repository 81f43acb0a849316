"""A build that fails every request (same workflow name), for timing the automatic rollback.
Workflows must live in an importable module, not __main__."""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

with workflow.unsafe.imports_passed_through():
    from domain.models import PurchaseResult, PurchaseWorkflowInput


@workflow.defn(name="PurchaseApprovalWorkflow")
class BrokenPurchaseApprovalWorkflow:
    @workflow.run
    async def run(self, input: PurchaseWorkflowInput) -> PurchaseResult:
        raise ApplicationError("this build is broken", non_retryable=True)
