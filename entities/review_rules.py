"""ReviewRulesWorkflow: the one live rule set every worker reviews with, and all its versions.

Initialised from rules.yaml on a fresh installation (as flags.yaml seeds the flags); then changed
only through validated Updates — a change or a revert — each a new version with author, time,
reason and diff. A refused change is never written to history.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from temporalio import workflow
from temporalio.exceptions import ApplicationError

from entities.lifetime import live_until_continue_as_new

with workflow.unsafe.imports_passed_through():
    from domain.rules_shadow import (
        PromoteShadowInput,
        ReviewRulesSnapshot,
        SetShadowInput,
        ShadowChangeResult,
        ShadowView,
        StopShadowInput,
        candidate_of,
        in_shadow,
        promoted_version,
        shadow_view,
        with_shadow,
    )
    from domain.rules_versions import (
        ChangeRulesInput,
        RevertRulesInput,
        RulesChangeResult,
        RulesEntityState,
        RulesHistory,
        RulesVersion,
        VersionInput,
        find_version,
        history,
        next_version,
        with_version,
    )

# One installation has one rule set; tests pass their own id.
RULES_WORKFLOW_ID = "purchasebot-review-rules"
T = TypeVar("T")


@workflow.defn(name="ReviewRulesWorkflow")
class ReviewRulesWorkflow:
    @workflow.init
    def __init__(self, state: RulesEntityState) -> None:
        self._state = state

    @workflow.run
    async def run(self, state: RulesEntityState) -> None:
        await live_until_continue_as_new(lambda: self._state)

    @workflow.update
    def change(self, input: ChangeRulesInput) -> RulesChangeResult:
        version = self._refused_unless(lambda: self._proposed(input))
        self._state = with_version(self._state, version)
        return RulesChangeResult(version=version.summary())

    @change.validator
    def _validate_change(self, input: ChangeRulesInput) -> None:
        # A dry run of what the handler applies: whatever passes here applies.
        self._proposed(input)

    @workflow.update
    def revert(self, input: RevertRulesInput) -> RulesChangeResult:
        version = self._refused_unless(lambda: self._reverted(input))
        self._state = with_version(self._state, version)
        return RulesChangeResult(version=version.summary())

    @revert.validator
    def _validate_revert(self, input: RevertRulesInput) -> None:
        self._reverted(input)

    # --- shadow review (domain/rules_shadow.py) ------------------------------------------------

    @workflow.update
    def set_shadow(self, input: SetShadowInput) -> ShadowChangeResult:
        candidate = self._refused_unless(lambda: candidate_of(self._state, input, workflow.now()))
        self._state = with_shadow(self._state, candidate)
        return ShadowChangeResult(candidate=candidate)

    @set_shadow.validator
    def _validate_set_shadow(self, input: SetShadowInput) -> None:
        candidate_of(self._state, input, workflow.now())

    @workflow.update
    def stop_shadow(self, input: StopShadowInput) -> ShadowChangeResult:
        stopped = self._refused_unless(lambda: in_shadow(self._state))
        self._state = with_shadow(self._state, None)
        return ShadowChangeResult(candidate=None, stopped=stopped)

    @stop_shadow.validator
    def _validate_stop_shadow(self, input: StopShadowInput) -> None:
        in_shadow(self._state)

    @workflow.update
    def promote_shadow(self, input: PromoteShadowInput) -> ShadowChangeResult:
        """The candidate becomes the rules in force (a new version) and leaves the shadow."""
        version = self._refused_unless(lambda: promoted_version(self._state, input, workflow.now()))
        stopped = self._state.shadow
        self._state = with_shadow(with_version(self._state, version), None)
        return ShadowChangeResult(candidate=None, stopped=stopped, promoted=version.summary())

    @promote_shadow.validator
    def _validate_promote_shadow(self, input: PromoteShadowInput) -> None:
        promoted_version(self._state, input, workflow.now())

    @workflow.query
    def current(self) -> RulesVersion:
        return self._state.versions[-1]

    @workflow.query
    def for_review(self) -> ReviewRulesSnapshot:
        """What every review reads: the rules in force and the candidate in shadow, at once."""
        return ReviewRulesSnapshot(active=self._state.versions[-1], shadow=self._state.shadow)

    @workflow.query
    def shadow(self) -> ShadowView:
        return shadow_view(self._state)

    @workflow.query
    def version(self, input: VersionInput) -> RulesVersion:
        return find_version(self._state, input.number)

    @workflow.query
    def history(self) -> RulesHistory:
        return history(self._state)

    # ------------------------------------------------------------------------------------------

    def _proposed(self, input: ChangeRulesInput) -> RulesVersion:
        current = self._state.versions[-1]
        if input.based_on is not None and input.based_on != current.number:
            raise ValueError(
                f"The rules changed since v{input.based_on} (now {current.label}, by "
                f"{current.author}): look at them again and redo the change."
            )
        return next_version(
            self._state, input.rules, author=input.author, at=workflow.now(), reason=input.reason
        )

    def _reverted(self, input: RevertRulesInput) -> RulesVersion:
        target = find_version(self._state, input.version)
        reason = f"revert to {target.label}" + (f": {input.reason}" if input.reason else "")
        return next_version(
            self._state, target.rules, author=input.author, at=workflow.now(), reason=reason
        )

    @staticmethod
    def _refused_unless(make: Callable[[], T]) -> T:
        try:
            return make()
        except ValueError as err:
            # Only reachable if the rules changed between validation and here; a plain
            # ValueError would fail the workflow task and retry forever, this fails the update.
            raise ApplicationError(str(err), type="RulesChangeRefused", non_retryable=True) from err
