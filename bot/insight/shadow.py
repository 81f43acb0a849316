"""`/rules shadow status`: how the candidate in shadow agrees with the rules in force and with
the people who decided, read from Temporal (the system of record), as the dashboard reads.

Visibility finds the requests that could carry the candidate's verdict (started since it was
set, by code with the `shadow-review-v1` patch). A completed request's close event (not its whole
history) gives its result: the review (with the candidate's verdict) and who decided. A running
one (most wait for a person) answers the workflow's `status` query with its review so far: it
counts against the rules in force at once, and against the person once they decide."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import BaseModel, Field
from temporalio.client import (
    Client,
    WorkflowExecution,
    WorkflowExecutionStatus,
    WorkflowQueryFailedError,
)
from temporalio.service import RPCError

from bot.insight.source import CONCURRENT_READS
from domain.actors import is_person
from domain.models import ApprovalResult, AutomatedReviewResult, PurchaseResult
from domain.rules_versions import ShadowCandidate
from domain.workflow_ids import purchases_query
from workflows.purchase_approval import SHADOW_REVIEW_PATCH, PurchaseApprovalWorkflow

log = logging.getLogger(__name__)
STATUS_TIMEOUT = timedelta(seconds=5)


@dataclass(frozen=True)
class ShadowFact:
    """One finished request reviewed by both the rules in force and the candidate."""

    shadow_approves: bool
    active_approves: bool
    person_approved: bool | None = None  # None: no person decided (yet, or ever: auto, timeout)
    running: bool = False


class ShadowFigures(BaseModel):
    candidate: str = Field(description="the candidate's reference, `c<n> (<content hash>)`")
    since: datetime = Field(description="when it was put in shadow")
    compared: int = Field(description="requests reviewed by both the rules and the candidate")
    running: int = Field(description="of those, still running (a person may still decide)")
    unread: int = Field(
        default=0, description="running requests whose status no worker answered: not counted"
    )
    agree_with_active: int
    agreement_with_active: float | None = Field(description="agree_with_active / compared")
    shadow_would_auto_approve: int
    active_auto_approved: int
    decided_by_person: int = Field(description="compared requests a person approved or rejected")
    agree_with_person: int = Field(
        description="the candidate would auto-approve what the person approved, or send to a "
        "person what they rejected"
    )
    agreement_with_person: float | None = Field(description="agree_with_person / decided_by_person")
    would_auto_approve_person_rejected: int = Field(
        description="the risk: requests the candidate would have approved that a person rejected"
    )
    would_auto_approve_person_approved: int = Field(
        description="work saved: requests a person approved that the candidate would approve"
    )


def shadow_figures(
    candidate: ShadowCandidate, facts: list[ShadowFact], unread: int = 0
) -> ShadowFigures:
    """Pure: the figures of `facts` (an undefined rate, 0/0, is None)."""
    agree = sum(f.shadow_approves == f.active_approves for f in facts)
    decided = [f for f in facts if f.person_approved is not None]
    with_person = sum(f.shadow_approves == f.person_approved for f in decided)
    return ShadowFigures(
        candidate=candidate.reference,
        since=candidate.at,
        compared=len(facts),
        running=sum(f.running for f in facts),
        unread=unread,
        agree_with_active=agree,
        agreement_with_active=_rate(agree, len(facts)),
        shadow_would_auto_approve=sum(f.shadow_approves for f in facts),
        active_auto_approved=sum(f.active_approves for f in facts),
        decided_by_person=len(decided),
        agree_with_person=with_person,
        agreement_with_person=_rate(with_person, len(decided)),
        would_auto_approve_person_rejected=sum(
            f.shadow_approves and f.person_approved is False for f in decided
        ),
        would_auto_approve_person_approved=sum(
            f.shadow_approves and f.person_approved is True for f in decided
        ),
    )


def _rate(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def shadow_fact(
    review: AutomatedReviewResult | None,
    approval: ApprovalResult | None,
    candidate: ShadowCandidate,
    *,
    running: bool = False,
) -> ShadowFact | None:
    """A request's fact for `candidate`, or None when it carries no verdict of it (another
    candidate's, or no review at all)."""
    if review is None or review.shadow is None or review.shadow.candidate != candidate.reference:
        return None
    person = approval is not None and is_person(approval.decided_by)
    return ShadowFact(
        shadow_approves=review.shadow.auto_approved,
        active_approves=review.auto_approved,
        person_approved=approval.approved if person and approval is not None else None,
        running=running,
    )


def shadow_query(candidate: ShadowCandidate) -> str:
    return purchases_query(
        f"TemporalChangeVersion = '{SHADOW_REVIEW_PATCH.id}' "
        f"AND StartTime >= '{candidate.at.isoformat()}'"
    )


class ShadowSource:
    def __init__(self, client: Client) -> None:
        self._client = client

    async def figures(self, candidate: ShadowCandidate) -> ShadowFigures:
        gate = asyncio.Semaphore(CONCURRENT_READS)
        unread: list[str] = []

        async def read(execution: WorkflowExecution) -> ShadowFact | None:
            async with gate:
                if execution.status is WorkflowExecutionStatus.COMPLETED:
                    result = await self._result(execution)
                    return shadow_fact(result.review, result.approval, candidate)
                if execution.status is not WorkflowExecutionStatus.RUNNING:
                    return None  # failed, terminated...: no result to read
                handle = self._client.get_workflow_handle(execution.id, run_id=execution.run_id)
                try:
                    status = await handle.query(
                        PurchaseApprovalWorkflow.status, rpc_timeout=STATUS_TIMEOUT
                    )
                except (RPCError, WorkflowQueryFailedError) as err:
                    log.warning("shadow status: %s unreadable: %s", execution.id, err)
                    unread.append(execution.id)
                    return None
                return shadow_fact(status.review, status.approval, candidate, running=True)

        query = shadow_query(candidate)
        executions = [e async for e in self._client.list_workflows(query)]
        found = await asyncio.gather(*(read(e) for e in executions))
        return shadow_figures(candidate, [f for f in found if f is not None], len(unread))

    async def _result(self, execution: WorkflowExecution) -> PurchaseResult:
        """Only the close event is fetched (not the whole history): all the figures need."""
        handle = self._client.get_workflow_handle_for(
            PurchaseApprovalWorkflow.run, execution.id, run_id=execution.run_id
        )
        return await handle.result(follow_runs=False, rpc_timeout=STATUS_TIMEOUT)
