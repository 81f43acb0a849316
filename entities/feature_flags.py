"""FeatureFlagsWorkflow: a long-lived entity holding the feature flags of the automated review.

Why a workflow and not a file: workers are stateless and run on many machines, and a flag flip
must reach all of them without a deploy; Temporal is the one durable store they all share. Each
change arrives as a validated Update (a refused change is never written to history) and is
recorded with who made it, when, and the old and new value.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from entities.lifetime import live_until_continue_as_new

with workflow.unsafe.imports_passed_through():
    from domain.feature_flags import (
        KEEP_CHANGES,
        FlagsEntityState,
        SetFlagInput,
        SetFlagResult,
        apply_change,
    )
    from domain.models import AuditEntry

# One installation has one set of flags; tests pass their own id.
FLAGS_WORKFLOW_ID = "purchasebot-feature-flags"


@workflow.defn(name="FeatureFlagsWorkflow")
class FeatureFlagsWorkflow:
    @workflow.init
    def __init__(self, state: FlagsEntityState) -> None:
        self._flags = state.flags
        self._changes = list(state.changes[-KEEP_CHANGES:])

    @workflow.run
    async def run(self, state: FlagsEntityState) -> None:
        await live_until_continue_as_new(self.snapshot)

    @workflow.update
    def set_flag(self, input: SetFlagInput) -> SetFlagResult:
        try:
            applied = apply_change(self._flags, input)
        except ValueError as err:
            # Only reachable if the flags changed between validation and here; a plain
            # ValueError would fail the workflow task and retry forever, this fails the update.
            raise ApplicationError(str(err), type="FlagChangeRefused", non_retryable=True) from err
        change = AuditEntry(
            at=workflow.now(), actor=input.actor, action=applied.action, detail=applied.detail
        )
        self._flags = applied.state
        self._changes = [*self._changes, change][-KEEP_CHANGES:]
        workflow.logger.info("flag change by %s: %s %s", input.actor, change.action, change.detail)
        return SetFlagResult(state=self._flags, change=change)

    @set_flag.validator
    def _validate_set_flag(self, input: SetFlagInput) -> None:
        # A dry run of the very function the handler applies: whatever passes here applies.
        apply_change(self._flags, input)

    @workflow.query
    def snapshot(self) -> FlagsEntityState:
        return FlagsEntityState(flags=self._flags, changes=self._changes)
