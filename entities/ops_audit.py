"""OpsAuditWorkflow: the durable audit trail of operations that are not one request's —
ops commands (allowed or refused), flag and rollout changes. Appended by signal-with-start."""

from __future__ import annotations

from temporalio import workflow

from entities.lifetime import live_until_continue_as_new

with workflow.unsafe.imports_passed_through():
    from domain.models import AuditEntry, OpsAuditState

# One installation has one ops audit trail; tests pass their own id.
OPS_AUDIT_WORKFLOW_ID = "purchasebot-ops-audit"
# Kept short so the state carried through continue-as-new stays small; the full trail is in
# the closed runs' histories.
KEEP_LAST = 1000


@workflow.defn(name="OpsAuditWorkflow")
class OpsAuditWorkflow:
    @workflow.init
    def __init__(self, state: OpsAuditState) -> None:
        self._entries = list(state.entries)

    @workflow.run
    async def run(self, state: OpsAuditState) -> None:
        await live_until_continue_as_new(self.entries)

    @workflow.signal
    def record(self, entry: AuditEntry) -> None:
        self._entries.append(entry)

    @workflow.query
    def entries(self) -> OpsAuditState:
        return OpsAuditState(entries=self._entries[-KEEP_LAST:])
