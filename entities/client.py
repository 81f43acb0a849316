"""Talking to an entity workflow from outside Temporal, the same way everywhere.

- `start_entity`: create the entity with its initial state unless it is running (start-up).
- `update_entity`: create the entity if it is not running and apply one Update, in one round
  trip (update-with-start). The entity's validator decides; a refusal becomes `Refused`.
- `query_entity`: read it; an entity that was never created reads as `missing`.
- `entity_version`: whether it changed since a read, asked of the server alone (no worker).
- `refusal`: the one place a failed Update is turned into the person-readable reason.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WithStartWorkflowOperation, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.types import MethodAsyncSingleParam
from temporalio.workflow import UpdateMethodMultiParam

from domain.refusal import Refused

W = TypeVar("W")
S = TypeVar("S")
P = TypeVar("P")
R = TypeVar("R")


async def start_entity(
    client: Client,
    run: MethodAsyncSingleParam[W, S, Any],
    initial: S,
    *,
    workflow_id: str,
    task_queue: str,
) -> bool:
    """Start the entity with `initial` unless it is already running; True if this started it.
    Never overwrites a running entity's state: what people changed since is the truth."""
    try:
        await client.start_workflow(
            run,
            initial,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.FAIL,
        )
    except WorkflowAlreadyStartedError:
        return False
    return True


async def update_entity(
    client: Client,
    update: UpdateMethodMultiParam[[W, P], R],
    arg: P,
    *,
    run: MethodAsyncSingleParam[W, S, Any],
    initial: S,
    workflow_id: str,
    task_queue: str,
) -> R:
    """Apply `update` to the entity `workflow_id`, first starting it with `initial` on
    `task_queue` if it is not running. Raises Refused with the entity's reason."""
    start = WithStartWorkflowOperation(
        run,
        initial,
        id=workflow_id,
        task_queue=task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    try:
        return await client.execute_update_with_start_workflow(
            update, arg, start_workflow_operation=start
        )
    except WorkflowUpdateFailedError as err:
        raise refusal(err) from err


async def query_entity(
    client: Client,
    workflow_id: str,
    query: Callable[..., R],
    *,
    args: Sequence[Any] = (),
    missing: R,
    rpc_timeout: timedelta | None = None,
) -> R:
    """The answer of `query`, or `missing` when the entity was never created. Other RPC errors
    propagate: the caller decides whether a stale answer will do."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        result: R = await handle.query(query, args=args, rpc_timeout=rpc_timeout)
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise
        return missing
    return result


def refusal(err: WorkflowUpdateFailedError) -> Refused:
    """The reason an Update failed: the validator's or handler's ApplicationError, or the one of
    an activity it ran (then nested under an ActivityError)."""
    cause: BaseException | None = err.cause
    while cause is not None and not isinstance(cause, ApplicationError):
        cause = cause.__cause__
    return Refused(cause.message if cause is not None else str(err.cause or err))


async def entity_version(
    client: Client, workflow_id: str, *, rpc_timeout: timedelta
) -> tuple[str, int] | None:
    """(current run id, history length) of the entity; None when it was never created. An
    entity's state is a function of its history, and a run's history only grows: while this
    pair is what it was before a query, that query's answer still holds. `describe` is answered
    by the server alone (~2 ms), where a query travels to a worker and back."""
    try:
        described = await client.workflow_service.describe_workflow_execution(
            DescribeWorkflowExecutionRequest(
                namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id)
            ),
            timeout=rpc_timeout,
        )
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    info = described.workflow_execution_info
    return info.execution.run_id, info.history_length
