"""Activity: the automated review. Loads the current rules and the requester's history, then
applies the pure rule evaluation in `domain.review_rules`."""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from temporalio import activity

from activities.notifier import Notifier
from activities.review_rules_source import LiveRules
from activities.user_history import HistoryUnavailable, UserHistorySource
from domain import product_metrics
from domain.models import AutomatedReviewInput, AutomatedReviewResult, ShadowVerdict
from domain.review_rules import UserHistory, evaluate_request
from domain.rules_versions import ShadowCandidate

log = logging.getLogger(__name__)

# One ops alert per worker per quarter hour is enough to get someone looking; every affected
# request is in its own audit trail, and /rollout status shows the store's state live.
ALERT_EVERY_SECONDS = 15 * 60
ALERT_TIMEOUT_SECONDS = 2.0


class OpsAlertThrottle:
    """At most one alert per interval: an outage must not flood the ops channel."""

    def __init__(self, notifier: Notifier | None, every_seconds: float = ALERT_EVERY_SECONDS):
        self._notifier = notifier
        self._every = every_seconds
        self._last = float("-inf")

    async def alert(self, text: str) -> None:
        now = time.monotonic()
        if self._notifier is None or now - self._last < self._every:
            return
        self._last = now
        try:
            # Bounded: the alert must not hold up the review (and so the requester).
            async with asyncio.timeout(ALERT_TIMEOUT_SECONDS):
                await self._notifier.alert_ops(text)
        except Exception:
            log.exception("could not alert ops: %s", text)


class AutomatedReviewActivities:
    def __init__(
        self,
        rules: LiveRules,
        history: UserHistorySource,
        alerts: OpsAlertThrottle | None = None,
    ) -> None:
        self._rules = rules
        self._history = history
        self._alerts = alerts or OpsAlertThrottle(None)

    @activity.defn
    async def automated_review(self, input: AutomatedReviewInput) -> AutomatedReviewResult:
        request = input.request
        now = datetime.now(UTC)
        # Read while the history is read: the live rules cost no time of their own.
        # RulesUnavailable fails the review (a person decides).
        reading_rules = asyncio.ensure_future(self._rules.for_review())
        history: UserHistory | None
        unavailable = ""
        try:
            history = await self._history.user_history(request.employee_id, now=now)
        except HistoryUnavailable as err:
            # The seed's rule: no verifiable history means a person reviews it. Never silently:
            # the reason goes into the review (audit trail, the approver's and the requester's
            # messages) and ops are alerted.
            activity.logger.warning("history unavailable for %s: %s", request.employee_id, err)
            history = None
            unavailable = str(err)
            await self._alerts.alert(
                f"Purchase history cannot be read ({unavailable}): automated reviews are "
                f"sending requests to people (first: {request.request_id}). "
                "See /rollout status."
            )
        snapshot = await reading_rules
        live = snapshot.active
        rules = live.rules.for_department(request.department, input.strictness)
        verdict = evaluate_request(request, input.product, history, rules)
        shadow = None
        if input.shadow and snapshot.shadow is not None:
            shadow = _shadow_verdict(input, history, snapshot.shadow)
        product_metrics.reviewed(
            activity.metric_meter(),
            (datetime.now(UTC) - now).total_seconds(),
            verdict.confidence,
        )
        return AutomatedReviewResult(
            auto_approved=verdict.auto_approved,
            confidence=verdict.confidence,
            reason=f"{verdict.reason}: {unavailable}" if unavailable else verdict.reason,
            risk_score=verdict.risk_score,
            review_time=now,
            rules_version=live.reference,
            history_unavailable=unavailable,
            shadow=shadow,
        )


def _shadow_verdict(
    input: AutomatedReviewInput, history: UserHistory | None, candidate: ShadowCandidate
) -> ShadowVerdict | None:
    """The candidate's verdict on the same request and history. It only informs: whatever goes
    wrong with it is logged and leaves the review itself untouched."""
    request = input.request
    try:
        rules = candidate.rules.for_department(request.department, input.strictness)
        verdict = evaluate_request(request, input.product, history, rules)
    except Exception:
        log.exception(
            "shadow candidate %s could not review %s", candidate.label, request.request_id
        )
        return None
    return ShadowVerdict(
        auto_approved=verdict.auto_approved,
        reason=verdict.reason,
        risk_score=verdict.risk_score,
        confidence=verdict.confidence,
        candidate=candidate.reference,
    )
