"""Recording ops events in OpsAuditWorkflow (signal-with-start: one round trip, no worker
needed at the moment of recording)."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy

from domain.models import AuditEntry, OpsAuditState
from entities.ops_audit import OPS_AUDIT_WORKFLOW_ID, OpsAuditWorkflow

log = logging.getLogger(__name__)


class OpsAuditLog:
    def __init__(
        self, client: Client, task_queue: str, workflow_id: str = OPS_AUDIT_WORKFLOW_ID
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._workflow_id = workflow_id

    async def record(self, actor: str, action: str, detail: str = "") -> None:
        entry = AuditEntry(at=datetime.now(UTC), actor=actor, action=action, detail=detail)
        log.info("ops audit: %s %s %s", actor, action, detail)
        await self._client.start_workflow(
            OpsAuditWorkflow.run,
            OpsAuditState(),
            id=self._workflow_id,
            task_queue=self._task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            start_signal="record",
            start_signal_args=[entry],
        )

    async def entries(self) -> list[AuditEntry]:
        handle = self._client.get_workflow_handle_for(OpsAuditWorkflow.run, self._workflow_id)
        return (await handle.query(OpsAuditWorkflow.entries)).entries
