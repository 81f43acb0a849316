"""Temporal's Worker Deployment API, reduced to what rollouts need: who is current, who is
ramping, move traffic, and protect in-flight AUTO_UPGRADE workflows before a rollback."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from google.protobuf.field_mask_pb2 import FieldMask
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.deployment.v1 import WorkerDeploymentVersion as VersionProto
from temporalio.api.enums.v1 import WorkerDeploymentVersionStatus
from temporalio.api.workflow.v1 import VersioningOverride, WorkflowExecutionOptions
from temporalio.api.workflowservice.v1 import (
    DescribeWorkerDeploymentRequest,
    SetWorkerDeploymentCurrentVersionRequest,
    SetWorkerDeploymentRampingVersionRequest,
    UpdateWorkflowExecutionOptionsRequest,
)
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

IDENTITY = "purchasebot-rollout"
T = TypeVar("T")
# While the server registers a new version of a deployment it refuses other requests to that
# deployment for a moment (RESOURCE_EXHAUSTED, "too many requests issued to Worker Deployment"),
# and a loaded server cancels or times out the deployment's internal calls ("operation was
# canceled"). Every call here sets a state, so asking again is safe.
BUSY_RETRY_SECONDS = 15.0
BUSY = frozenset(
    {
        RPCStatusCode.RESOURCE_EXHAUSTED,
        RPCStatusCode.CANCELLED,
        RPCStatusCode.DEADLINE_EXCEEDED,
        RPCStatusCode.UNAVAILABLE,
    }
)


async def _when_not_busy(call: Callable[[], Awaitable[T]]) -> T:
    """`call()`, asked again with backoff while the server is busy with the deployment."""
    deadline = time.monotonic() + BUSY_RETRY_SECONDS
    delay = 0.1
    while True:
        try:
            return await call()
        except RPCError as err:
            busy = err.status in BUSY
            if not busy or time.monotonic() + delay > deadline:
                raise
        await asyncio.sleep(delay)
        delay = min(delay * 2, 1.0)


class UnknownBuild(Exception):
    """No worker of that build has polled: traffic cannot be sent to it."""


@dataclass(frozen=True)
class VersionView:
    build_id: str
    status: str  # current, ramping, draining, drained, inactive
    last_current_time: datetime | None = None


@dataclass(frozen=True)
class DeploymentView:
    name: str
    current_build: str | None
    ramping_build: str | None
    ramp_percent: float
    versions: list[VersionView] = field(default_factory=list)

    def knows(self, build_id: str) -> bool:
        return any(v.build_id == build_id for v in self.versions)

    def previous_build(self) -> str | None:
        """The build that was current most recently before the current one."""
        earlier = [
            v for v in self.versions if v.build_id != self.current_build and v.last_current_time
        ]
        if not earlier:
            return None
        return max(
            earlier, key=lambda v: v.last_current_time or datetime.min.replace(tzinfo=UTC)
        ).build_id


def _status_name(status: int) -> str:
    return (
        WorkerDeploymentVersionStatus.Name(status)  # type: ignore[arg-type]
        .removeprefix("WORKER_DEPLOYMENT_VERSION_STATUS_")
        .lower()
    )


class WorkerDeployments:
    def __init__(self, client: Client, deployment_name: str) -> None:
        self._client = client
        self.name = deployment_name

    async def describe(self) -> DeploymentView:
        request = DescribeWorkerDeploymentRequest(
            namespace=self._client.namespace, deployment_name=self.name
        )
        try:
            response = await _when_not_busy(
                lambda: self._client.workflow_service.describe_worker_deployment(request)
            )
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return DeploymentView(self.name, None, None, 0.0)  # no worker has polled yet
            raise
        info = response.worker_deployment_info
        routing = info.routing_config
        return DeploymentView(
            name=self.name,
            current_build=routing.current_deployment_version.build_id or None,
            ramping_build=routing.ramping_deployment_version.build_id or None,
            ramp_percent=routing.ramping_version_percentage,
            versions=[
                VersionView(
                    v.deployment_version.build_id,
                    _status_name(v.status),
                    v.last_current_time.ToDatetime(UTC)
                    if v.HasField("last_current_time")
                    else None,
                )
                for v in info.version_summaries
            ],
        )

    async def _require_known(self, build_id: str) -> None:
        if not (await self.describe()).knows(build_id):
            raise UnknownBuild(
                f"No worker of build '{build_id}' is polling deployment '{self.name}'. "
                "Start its workers first, then retry."
            )

    async def set_current(self, build_id: str, *, known: bool = False) -> None:
        """`known`: the caller just saw the build in `describe` (each describe right after a
        routing change can take ~1 s on the dev server: rollbacks must not pay it twice)."""
        if not known:
            await self._require_known(build_id)
        request = SetWorkerDeploymentCurrentVersionRequest(
            namespace=self._client.namespace,
            deployment_name=self.name,
            build_id=build_id,
            identity=IDENTITY,
        )
        await _when_not_busy(
            lambda: self._client.workflow_service.set_worker_deployment_current_version(request)
        )

    async def set_ramping(self, build_id: str, percent: float) -> None:
        await self._require_known(build_id)
        await self._ramp(build_id, percent)

    async def clear_ramp(self) -> None:
        # An empty build id with 0 % really clears the ramp (the CLI's --delete leaves it at 0 %).
        await self._ramp("", 0)

    async def _ramp(self, build_id: str, percent: float) -> None:
        request = SetWorkerDeploymentRampingVersionRequest(
            namespace=self._client.namespace,
            deployment_name=self.name,
            build_id=build_id,
            percentage=percent,
            identity=IDENTITY,
        )
        await _when_not_busy(
            lambda: self._client.workflow_service.set_worker_deployment_ramping_version(request)
        )

    async def pin_auto_upgrade_workflows(self, build_id: str) -> int:
        """Pin the running AUTO_UPGRADE workflows of `build_id` to it, BEFORE traffic moves away.

        Otherwise, after a rollback they would move to the old build, whose code cannot replay
        what the new build recorded, and stay stuck. Pinned, they finish where they started
        (keep that build's workers until it is drained)."""
        query = (
            f"TemporalWorkerDeploymentVersion = '{self.name}:{build_id}' "
            "AND ExecutionStatus = 'Running' AND TemporalWorkflowVersioningBehavior = 'AutoUpgrade'"
        )
        pinned = VersioningOverride(
            pinned=VersioningOverride.PinnedOverride(
                behavior=VersioningOverride.PinnedOverrideBehavior.PINNED_OVERRIDE_BEHAVIOR_PINNED,
                version=VersionProto(deployment_name=self.name, build_id=build_id),
            )
        )
        ids = [wf.id async for wf in self._client.list_workflows(query)]

        async def pin(workflow_id: str) -> None:
            await self._client.workflow_service.update_workflow_execution_options(
                UpdateWorkflowExecutionOptionsRequest(
                    namespace=self._client.namespace,
                    workflow_execution=WorkflowExecution(workflow_id=workflow_id),
                    workflow_execution_options=WorkflowExecutionOptions(versioning_override=pinned),
                    update_mask=FieldMask(paths=["versioning_override"]),
                    identity=IDENTITY,
                )
            )

        await asyncio.gather(*(pin(i) for i in ids))
        return len(ids)
