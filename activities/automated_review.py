"""Activity: the automated review. Loads the current rules and the requester's history, then
applies the pure rule evaluation in `domain.review_rules`."""

from __future__ import annotations

from datetime import UTC, datetime

from temporalio import activity

from activities.user_history import HistoryUnavailable, UserHistorySource
from appconfig.files import ReloadingFile
from domain.models import AutomatedReviewInput, AutomatedReviewResult
from domain.review_rules import RulesFile, UserHistory, evaluate


class AutomatedReviewActivities:
    def __init__(self, rules: ReloadingFile[RulesFile], history: UserHistorySource) -> None:
        self._rules = rules
        self._history = history

    @activity.defn
    async def automated_review(self, input: AutomatedReviewInput) -> AutomatedReviewResult:
        request = input.request
        loaded = self._rules.get()
        rules = loaded.value.for_department(request.department, input.strictness)
        now = datetime.now(UTC)
        history: UserHistory | None
        try:
            history = await self._history.user_history(request.employee_id, now=now)
        except HistoryUnavailable as err:
            # The seed's rule: no verifiable history means a person reviews it.
            activity.logger.warning("history unavailable for %s: %s", request.employee_id, err)
            history = None
        verdict = evaluate(
            amount=request.amount,
            category=input.product.category,
            vendor=input.product.vendor,
            department=request.department,
            history=history,
            rules=rules,
        )
        return AutomatedReviewResult(
            auto_approved=verdict.auto_approved,
            confidence=verdict.confidence,
            reason=verdict.reason,
            risk_score=verdict.risk_score,
            review_time=now,
            rules_version=loaded.version,
        )
