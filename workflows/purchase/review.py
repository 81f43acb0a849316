"""The automated review step: the feature flags say whether it runs and how strictly (since
REVIEW_FLAGS_PATCH), the review decides low-risk requests, and the shadow candidate rules'
verdict is only recorded (since SHADOW_REVIEW_PATCH). A broken review never blocks a
purchase: a person decides instead.
"""

from __future__ import annotations

from temporalio import workflow
from temporalio.common import RetryPolicy
from temporalio.exceptions import ActivityError, ApplicationError
from temporalio.exceptions import TimeoutError as TemporalTimeoutError

with workflow.unsafe.imports_passed_through():
    from activities.automated_review import AutomatedReviewActivities
    from activities.feature_flags import FeatureFlagActivities
    from domain.actors import AUTOMATED_SYSTEM, SHADOW_REVIEW, SYSTEM
    from domain.feature_flags import EvaluateFlagsInput, FlagsEvaluation
    from domain.flag_registry import AUTOMATED_REVIEW, REVIEW_STRICTNESS
    from domain.models import (
        ApprovalResult,
        AutomatedReviewInput,
        AutomatedReviewResult,
        ProductInfo,
        ShadowVerdict,
        Stage,
    )

from workflows.purchase.activity_options import (
    REVIEW_RETRY,
    REVIEW_TIMEOUT,
    VALIDATION_TIMEOUT,
)
from workflows.purchase.state import PurchaseState


class ReviewStep(PurchaseState):
    """Whether the review runs, the review itself, and its audit entries."""

    async def _review_if_enabled(self, product: ProductInfo, flag_gated: bool) -> None:
        """Since REVIEW_FLAGS_PATCH (`flag_gated`) the review runs only when the flag is on for
        the requester, with the flagged strictness; before it, always."""
        flags = await self._evaluate_flags() if flag_gated else None
        if flags is None or flags.value(AUTOMATED_REVIEW):
            strictness = flags.value(REVIEW_STRICTNESS) if flags else "standard"
            self._review = await self._automated_review(product, strictness)

    def _auto_approve(self) -> None:
        """The review approved: nobody is asked."""
        assert self._review is not None
        self._approval = ApprovalResult(
            approved=True,
            decided_by=AUTOMATED_SYSTEM,
            decided_at=workflow.now(),
            comments=(
                f"Auto-approved: {self._review.reason} (confidence: {self._review.confidence:.2f})"
            ),
        )
        self._record(AUTOMATED_SYSTEM, "auto_approved", self._review.reason)

    async def _evaluate_flags(self) -> FlagsEvaluation | None:
        """Patched code AND the flag on -> automated review. Evaluated in an activity so the
        answer is recorded in history and replays the same. Unreadable flags mean no review:
        a person decides, which is always safe."""
        try:
            flags = await workflow.execute_local_activity_method(
                FeatureFlagActivities.evaluate_flags,
                EvaluateFlagsInput(
                    user=self._request.requester, department=self._request.department
                ),
                start_to_close_timeout=VALIDATION_TIMEOUT,
                retry_policy=RetryPolicy(maximum_attempts=3),
            )
        except (ActivityError, ApplicationError, TemporalTimeoutError) as err:
            self._record(SYSTEM, "flags_unavailable", f"no automated review: {err.cause or err}")
            return FlagsEvaluation.defaults()
        decided = ", ".join(f"{k}: {v}" for k, v in flags.decided_by.items())
        self._record(
            SYSTEM,
            "flags_evaluated",
            f"automated review {AUTOMATED_REVIEW.show(flags.value(AUTOMATED_REVIEW))}, "
            f"strictness {REVIEW_STRICTNESS.show(flags.value(REVIEW_STRICTNESS))} ({decided})",
        )
        return flags

    async def _automated_review(
        self, product: ProductInfo, strictness: str
    ) -> AutomatedReviewResult | None:
        self._stage = Stage.REVIEWING
        try:
            review = await workflow.execute_local_activity_method(
                AutomatedReviewActivities.automated_review,
                AutomatedReviewInput(
                    request=self._request,
                    product=product,
                    strictness=strictness,
                    shadow=self._shadow_review,
                ),
                start_to_close_timeout=REVIEW_TIMEOUT,
                retry_policy=REVIEW_RETRY,
            )
        except (ActivityError, ApplicationError, TemporalTimeoutError) as err:
            # A broken review must never block or fail a purchase: a person decides instead.
            # (A local activity's last failure arrives unwrapped, not as ActivityError.)
            workflow.logger.warning("Automated review failed, falling back to manual: %s", err)
            self._record(
                SYSTEM, "review_failed", f"falling back to manual approval: {err.cause or err}"
            )
            return None
        self._record(
            AUTOMATED_SYSTEM,
            "reviewed",
            f"auto_approved={review.auto_approved} risk={review.risk_score} "
            f"confidence={review.confidence}: {review.reason}",
            rules_version=review.rules_version,
        )
        if self._shadow_review and review.shadow is not None:
            self._record_shadow(review.shadow)
        return review

    def _record_shadow(self, shadow: ShadowVerdict) -> None:
        """Only recorded: the shadow candidate's verdict never decides anything."""
        verdict = "would auto-approve" if shadow.auto_approved else "would send to a person"
        self._record(
            SHADOW_REVIEW,
            "shadow_reviewed",
            f"{verdict} (risk={shadow.risk_score} confidence={shadow.confidence}): {shadow.reason}",
            rules_version=shadow.candidate,
        )
