"""Where a NEW request of a department starts while a department rollout runs.

Temporal routes new workflows by percentage only, so a department rollout pins each new request
of that department to the build when it is started. The rollout controller publishes its target
in its memo (`DEPARTMENT_MEMO`); this reads it with `describe`, which the server answers without
a worker (a filing never waits for the control worker), at most once per `fresh_for_seconds`
per process. A read the server refuses or does not answer within READ_TIMEOUT keeps the last
known target: a filing must not fail over it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import timedelta

from temporalio.client import Client
from temporalio.common import PinnedVersioningOverride, VersioningOverride, WorkerDeploymentVersion
from temporalio.service import RPCError, RPCStatusCode

from domain.rollout_models import DEPARTMENT_MEMO, DepartmentTarget
from domain.workflow_ids import rollout_controller_id

log = logging.getLogger(__name__)

# How stale a process's view of the target may be: a new department rollout, or its rollback,
# reaches every process's new requests within this (the process that made the change at once).
FRESH_FOR_SECONDS = 1.0
# A filing waits at most this long for the read; past it the last known target is used.
READ_TIMEOUT = timedelta(seconds=2)


class DepartmentRouting:
    def __init__(
        self, client: Client, deployment_name: str, *, fresh_for_seconds: float = FRESH_FOR_SECONDS
    ) -> None:
        self._client = client
        self._deployment = deployment_name
        self._fresh_for = fresh_for_seconds
        self._target: DepartmentTarget | None = None
        self._read_at: float | None = None
        self._lock = asyncio.Lock()

    def forget(self) -> None:
        """The target changed here: the next request reads it again."""
        self._read_at = None

    async def override_for(self, department: str) -> VersioningOverride | None:
        """A pin to the department rollout's build for `department`'s new requests, else None
        (the deployment's routing decides)."""
        if not self._deployment:
            return None
        target = await self.target()
        if target is None or target.department.casefold() != department.casefold():
            return None
        return PinnedVersioningOverride(WorkerDeploymentVersion(self._deployment, target.build_id))

    async def target(self) -> DepartmentTarget | None:
        async with self._lock:
            fresh = self._read_at is not None and (
                time.monotonic() - self._read_at < self._fresh_for
            )
            if not fresh:
                self._target = await self._read(self._target)
                self._read_at = time.monotonic()
            return self._target

    async def _read(self, known: DepartmentTarget | None) -> DepartmentTarget | None:
        handle = self._client.get_workflow_handle(rollout_controller_id(self._deployment))
        try:
            described = await handle.describe(rpc_timeout=READ_TIMEOUT)
            value = await described.memo_value(DEPARTMENT_MEMO, default=None)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                return None  # no controller yet: no department rollout
            log.warning("department rollout target unreadable (%s): keeping the last known", err)
            return known
        return DepartmentTarget.model_validate(value) if value is not None else None
