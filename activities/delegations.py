"""Who decides a new request when its approver is away: the DelegationsWorkflow entity, read by
query, so every worker sees a delegation the moment it is set. An activity, so the answer is
recorded in the request's history and replays the same."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from temporalio import activity
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError

from domain.delegation import DelegationsState, stand_in
from domain.directory import Directory
from domain.models import DelegateLookupInput, DelegateLookupResult
from entities.client import query_entity
from entities.delegations import DELEGATIONS_WORKFLOW_ID, DelegationsWorkflow

QUERY_TIMEOUT = timedelta(seconds=5)


class DelegationActivities:
    def __init__(
        self,
        client: Client,
        directory: Callable[[], Directory],
        workflow_id: str = DELEGATIONS_WORKFLOW_ID,
    ) -> None:
        self._client = client
        self._directory = directory
        self._workflow_id = workflow_id

    @activity.defn
    async def delegate_for(self, input: DelegateLookupInput) -> DelegateLookupResult:
        """Unreadable delegations fail the activity; the workflow then asks the approver and
        says so in the audit trail (a request is never stuck on a lookup)."""
        try:
            state = await query_entity(
                self._client,
                self._workflow_id,
                DelegationsWorkflow.snapshot,
                missing=DelegationsState(),
                rpc_timeout=QUERY_TIMEOUT,
            )
        except (RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError) as err:
            raise ApplicationError(
                f"delegations unreadable: {err}", type="DelegationsUnreadable"
            ) from err
        delegation = state.active_for(input.approver, datetime.now(UTC))
        return stand_in(
            input.approver,
            input.requester,
            delegation,
            self._directory().manager_of,
            input.excluded,
        )
