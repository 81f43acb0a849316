"""DelegationsWorkflow: a long-lived entity holding who decides for whom while they are away.

A workflow and not a file for the same reason as the feature flags: every worker on every
machine must see a delegation the moment it is set. Each change is a validated Update (a refused
one is never written to history), recorded with who, when and what.
"""

from __future__ import annotations

from collections.abc import Callable

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from entities.lifetime import live_until_continue_as_new

with workflow.unsafe.imports_passed_through():
    from domain.delegation import (
        KEEP_CHANGES,
        Delegation,
        DelegationChange,
        DelegationsState,
        EndDelegationInput,
        SetDelegationInput,
        end_delegation,
        set_delegation,
    )
    from domain.models import AuditEntry

# One installation has one set of delegations; tests pass their own id.
DELEGATIONS_WORKFLOW_ID = "purchasebot-delegations"


@workflow.defn(name="DelegationsWorkflow")
class DelegationsWorkflow:
    @workflow.init
    def __init__(self, state: DelegationsState) -> None:
        self._delegations = list(state.delegations)
        self._changes = list(state.changes[-KEEP_CHANGES:])

    @workflow.run
    async def run(self, state: DelegationsState) -> None:
        await live_until_continue_as_new(self.snapshot)

    @workflow.update
    def set(self, input: SetDelegationInput) -> DelegationChange:
        return self._change(
            lambda: set_delegation(self._delegations, input, workflow.now()),
            input.actor,
            "delegation_set",
            lambda d: f"{d.delegator} -> {d.delegate} until {d.until.isoformat()}",
        )

    @set.validator
    def _validate_set(self, input: SetDelegationInput) -> None:
        # A dry run of the very function the handler applies: whatever passes here applies.
        set_delegation(self._delegations, input, workflow.now())

    @workflow.update
    def end(self, input: EndDelegationInput) -> DelegationChange:
        return self._change(
            lambda: end_delegation(self._delegations, input, workflow.now()),
            input.actor,
            "delegation_ended",
            lambda d: f"{d.delegator} -> {d.delegate} (was until {d.until.isoformat()})",
        )

    @end.validator
    def _validate_end(self, input: EndDelegationInput) -> None:
        end_delegation(self._delegations, input, workflow.now())

    def _change(
        self,
        apply: Callable[[], tuple[list[Delegation], Delegation]],
        actor: str,
        action: str,
        detail: Callable[[Delegation], str],
    ) -> DelegationChange:
        try:
            self._delegations, delegation = apply()
        except ValueError as err:
            # Only reachable if the state changed between validation and here; a plain
            # ValueError would fail the workflow task and retry forever, this fails the update.
            raise ApplicationError(str(err), type="DelegationRefused", non_retryable=True) from err
        change = AuditEntry(
            at=workflow.now(), actor=actor, action=action, detail=detail(delegation)
        )
        self._changes = [*self._changes, change][-KEEP_CHANGES:]
        return DelegationChange(delegation=delegation, change=change)

    @workflow.query
    def snapshot(self) -> DelegationsState:
        return DelegationsState(delegations=self._delegations, changes=self._changes)
