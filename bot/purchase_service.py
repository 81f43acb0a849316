"""What people can do with purchase requests, as one small API over Temporal.

Shared by the command line and the Slack bot. Every failure a person can cause comes back as
`Refused` with a message that says what to do; nothing is started or changed then.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar

from temporalio.client import (
    Client,
    WorkflowFailureError,
    WorkflowHandle,
    WorkflowUpdateFailedError,
)
from temporalio.common import VersioningOverride, WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode

from appconfig.files import ReloadingFile
from bot.department_routing import DepartmentRouting
from bot.request_attributes import start_attributes
from domain.actors import mention
from domain.catalog import Catalog
from domain.delegation import filed_before_reassignment
from domain.directory import Directory, is_slack_id
from domain.intake import IntakeError, build_purchase_request
from domain.models import (
    ApprovalDecision,
    ApprovalResult,
    CancelInput,
    CancelResult,
    PurchaseRequest,
    PurchaseResult,
    PurchaseWorkflowInput,
    ReassignInput,
    ReassignResult,
    StatusResult,
)
from domain.refusal import NotFound, Refused
from domain.request_ids import new_request_id as new_request_id  # re-exported for callers
from domain.workflow_ids import purchase_workflow_id, purchases_query, request_id_of
from entities.client import refusal
from workflows.names import APPROVER, DECIDERS, EMPLOYEE_ID, TASK_QUEUE
from workflows.purchase_approval import PurchaseApprovalWorkflow

T = TypeVar("T")

# A busy server can time out a start whose workflow did start; a few quick retries with the same
# id keep "every request started exactly once" under load (seen at 20 /purchase per second).
START_ATTEMPTS = 4
START_RETRY_DELAY_SECONDS = 0.25
TRANSIENT_START_ERRORS = frozenset(
    {RPCStatusCode.DEADLINE_EXCEEDED, RPCStatusCode.UNAVAILABLE, RPCStatusCode.RESOURCE_EXHAUSTED}
)
# A department rollout's build is known to the deployment before every partition of the task
# queue has heard of it; a pinned start in that gap is refused ("Pinned version ... is not
# present in task queue"). It is retried this long, then filed unpinned (the deployment's
# routing decides): a filing never fails over a rollout.
PIN_VISIBLE_WAIT_SECONDS = 5.0
PIN_RETRY_DELAY_SECONDS = 0.2

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submitted:
    request: PurchaseRequest
    workflow_id: str
    # True when this was a repeated delivery of a request already filed (nothing new started).
    already_filed: bool = False


class PurchaseService:
    def __init__(
        self,
        client: Client,
        directory: ReloadingFile[Directory],
        *,
        task_queue: str = TASK_QUEUE,
        catalog: ReloadingFile[Catalog] | None = None,
        routing: DepartmentRouting | None = None,
    ) -> None:
        """`catalog`: to record each request's category and store at filing (for the rules
        backtest); without it requests are filed without them. `routing`: where a department
        rollout sends that department's new requests."""
        self._client = client
        self._directory = directory
        self._task_queue = task_queue
        self._catalog = catalog
        self._routing = routing

    async def submit(
        self,
        *,
        requester: str,
        url: str,
        amount: str,
        quantity: str | int = 1,
        justification: str | None = None,
        request_id: str | None = None,
    ) -> Submitted:
        """Start a request.

        `request_id` is given when it derives from a Slack delivery: the same delivery again
        (same requester) finds the request already filed instead of starting a second one. An
        id already used by anyone else's request is refused, never joined: a person must not
        be told "filed" about somebody else's request.
        """
        try:
            request = build_purchase_request(
                request_id=request_id or new_request_id(),
                requester_slack_id=requester,
                url=url,
                amount=amount,
                quantity=quantity,
                justification=justification,
                directory=self._directory.get().value,
                now=datetime.now(UTC),
            )
        except IntakeError as err:
            raise Refused(str(err)) from err
        workflow_id = purchase_workflow_id(request.request_id)
        pin = await self._routing.override_for(request.department) if self._routing else None
        for attempt in range(START_ATTEMPTS):
            try:
                await self._start_pinned(request, workflow_id, pin)
            except WorkflowAlreadyStartedError as err:
                # After a lost answer the id is most likely in use by our own earlier attempt.
                ours = request_id is not None or attempt > 0
                if ours and await self._filed_by(workflow_id, request.employee_id):
                    return Submitted(
                        request=request, workflow_id=workflow_id, already_filed=attempt == 0
                    )
                raise Refused(
                    "Your request could not be filed: its id is already in use. Nothing was "
                    "filed; please send it again."
                ) from err
            except RPCError as err:
                # The start may have gone through with its answer lost: asking again with the
                # same id either starts it or finds it, never a second request.
                if err.status not in TRANSIENT_START_ERRORS or attempt == START_ATTEMPTS - 1:
                    raise
                await asyncio.sleep(START_RETRY_DELAY_SECONDS * 2**attempt)
            else:
                return Submitted(request=request, workflow_id=workflow_id)
        raise AssertionError("unreachable: the last attempt returns or raises")

    async def _start_pinned(
        self, request: PurchaseRequest, workflow_id: str, pin: VersioningOverride | None
    ) -> None:
        deadline = time.monotonic() + PIN_VISIBLE_WAIT_SECONDS
        while True:
            try:
                return await self._start(request, workflow_id, pin)
            except RPCError as err:
                if pin is None or not _pinned_build_unknown(err):
                    raise
                if time.monotonic() >= deadline:
                    log.warning(
                        "pinned build unknown to task queue after %.0f s: filing %s unpinned",
                        PIN_VISIBLE_WAIT_SECONDS,
                        workflow_id,
                    )
                    pin = None
                else:
                    await asyncio.sleep(PIN_RETRY_DELAY_SECONDS)

    async def _start(
        self, request: PurchaseRequest, workflow_id: str, pin: VersioningOverride | None
    ) -> None:
        # FAIL + REJECT_DUPLICATE: an id in use, running or finished, is never joined blindly.
        await self._client.start_workflow(
            PurchaseApprovalWorkflow.run,
            PurchaseWorkflowInput(request=request),
            id=workflow_id,
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            versioning_override=pin,
            search_attributes=start_attributes(
                request, self._catalog.get().value if self._catalog is not None else None
            ),
        )

    async def _filed_by(self, workflow_id: str, employee_id: str) -> bool:
        """Whether the existing request with this id is this employee's own."""
        try:
            described = await self._client.get_workflow_handle(workflow_id).describe()
        except RPCError:
            return False
        return described.typed_search_attributes.get(EMPLOYEE_ID) == employee_id

    def _handle(self, request_id: str) -> WorkflowHandle[PurchaseApprovalWorkflow, PurchaseResult]:
        return self._client.get_workflow_handle_for(
            PurchaseApprovalWorkflow.run, purchase_workflow_id(request_id.strip())
        )

    async def outcome(self, request_id: str, *, wait_seconds: float) -> PurchaseResult | None:
        """The result, if the request finishes within `wait_seconds`; None while it waits."""
        try:
            return await asyncio.wait_for(self._handle(request_id).result(), wait_seconds)
        except TimeoutError:
            return None
        except WorkflowFailureError as err:
            raise Refused(
                f"Request {request_id} failed unexpectedly; ops have been told. ({err.cause})"
            ) from err
        except RPCError as err:
            raise _rpc_refusal(request_id, err) from err

    async def status(self, request_id: str) -> StatusResult:
        try:
            return await self._handle(request_id).query(PurchaseApprovalWorkflow.status)
        except RPCError as err:
            raise _rpc_refusal(request_id, err) from err

    async def decide(
        self, request_id: str, *, user: str, approve: bool, reason: str = "", message_ref: str = ""
    ) -> ApprovalResult:
        decision = ApprovalDecision(
            approved=approve, decided_by=user, comments=reason, message_ref=message_ref
        )
        handle = self._handle(request_id)
        return await _refused_on_failure(
            handle, handle.execute_update(PurchaseApprovalWorkflow.decide, decision)
        )

    async def reassign(
        self, request_id: str, *, to: str, by: str, reason: str = "", on_behalf_of: str = ""
    ) -> ReassignResult:
        """Hand a waiting request to `to`. Who may do it (ops, or the approver delegating) is
        the caller's to check; `to` must be a person of the directory."""
        if self._directory.get().value.person(to) is None:
            raise Refused(f"{mention(to)} is not in the company directory; pick someone who is.")
        move = ReassignInput(to=to, by=by, reason=reason, on_behalf_of=on_behalf_of)
        handle = self._handle(request_id)
        try:
            return await _refused_on_failure(
                handle, handle.execute_update(PurchaseApprovalWorkflow.reassign, move)
            )
        except Refused as refused:
            # A request still running on a build from before reassign-v1 has no `reassign`
            # Update at all: its worker answers with the SDK's "handler not found".
            if NO_REASSIGN_HANDLER not in refused.reason:
                raise
            raise Refused(filed_before_reassignment(request_id.strip())) from refused

    async def waiting_for(self, approvers: Sequence[str], *, limit: int | None = None) -> list[str]:
        """The ids of this task queue's running requests that wait for one of `approvers`
        (the `Approver` search attribute: requests since delegation-v1, or reassigned): what
        a delegation hands over."""
        return await self._running_naming(approvers, [APPROVER.name], limit)

    async def decidable_by(self, person: str, *, limit: int | None = None) -> list[str]:
        """The ids of this task queue's running requests that `person` may decide: those that
        wait for them (`Approver`) and, since deciders-listed-v1, those of a second-level pool
        they are in (`Deciders`)."""
        return await self._running_naming([person], [APPROVER.name, DECIDERS.name], limit)

    async def _running_naming(
        self, people: Sequence[str], attributes: Sequence[str], limit: int | None
    ) -> list[str]:
        """Running requests of this task queue whose `attributes` name one of `people` (a
        KeywordList attribute matches when it holds one)."""
        # Only Slack ids go into the query: nothing to quote, nothing to inject.
        ids = [p for p in people if is_slack_id(p)]
        if not ids:
            return []
        names = ", ".join(f"'{p}'" for p in ids)
        naming = " OR ".join(f"{attribute} IN ({names})" for attribute in attributes)
        query = purchases_query(
            f"ExecutionStatus = 'Running' AND TaskQueue = '{self._task_queue}' AND ({naming})"
        )
        listing = self._client.list_workflows(query, limit=limit)
        return [request_id_of(w.id) async for w in listing]

    async def cancel(self, request_id: str, *, user: str, reason: str = "") -> CancelResult:
        cancel = CancelInput(requested_by=user, reason=reason or "Cancelled by the requester")
        handle = self._handle(request_id)
        return await _refused_on_failure(
            handle, handle.execute_update(PurchaseApprovalWorkflow.cancel, cancel)
        )


NO_REASSIGN_HANDLER = "Update handler for 'reassign' expected but not found"


async def _refused_on_failure(
    handle: WorkflowHandle[PurchaseApprovalWorkflow, PurchaseResult], update: Awaitable[T]
) -> T:
    """An update the workflow refused (validator or handler) becomes the refusal's message."""
    try:
        return await update
    except WorkflowUpdateFailedError as err:
        raise refusal(err) from err
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND and await _exists(handle):
            # Updates only reach running workflows; this one has finished.
            raise Refused(
                f"Request {_request_id(handle)} has already finished; nothing was changed."
            ) from err
        raise _rpc_refusal(_request_id(handle), err) from err


async def _exists(handle: WorkflowHandle[Any, Any]) -> bool:
    try:
        await handle.describe()
    except RPCError:
        return False
    return True


def _request_id(handle: WorkflowHandle[Any, Any]) -> str:
    return request_id_of(handle.id)


def _rpc_refusal(request_id: str, err: RPCError) -> Refused:
    if err.status == RPCStatusCode.NOT_FOUND:
        return NotFound(
            f"There is no purchase request {request_id}. Check the id "
            "(it looks like PR-K5QW2XH7RTB3M)."
        )
    return Refused(f"Could not reach the purchase system ({err.status.name}); try again.")


def _pinned_build_unknown(err: RPCError) -> bool:
    return err.status == RPCStatusCode.FAILED_PRECONDITION and "not present in task queue" in str(
        err
    )
