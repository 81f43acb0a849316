"""What the automated review would decide now, without filing anything: `/purchase check` and
`POST /api/review/preview`. The same steps and the same code as a real request's review:
product validation against the catalog, the feature flags for the requester, the live rules and
the requester's history, then `domain.review_rules.evaluate`."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel

from activities.review_rules_source import LiveRules
from activities.user_history import HistoryUnavailable, UserHistorySource
from appconfig.files import ReloadingFile
from bot.flags_admin import FlagsAdmin
from domain.catalog import Catalog
from domain.directory import Directory
from domain.feature_flags import evaluate_all
from domain.flag_registry import AUTOMATED_REVIEW, REVIEW_STRICTNESS
from domain.intake import build_purchase_request
from domain.product_validation import validate_product
from domain.request_ids import new_request_id
from domain.review_rules import UserHistory, evaluate_request


class PreviewResult(BaseModel):
    auto_approved: bool
    goes_to: str = ""
    """The approver's Slack id when a person would decide."""
    reason: str
    rules_version: str = ""
    confidence: float = 0.0

    def sentence(self) -> str:
        if self.auto_approved:
            return f"This would be auto-approved: {self.reason} (rules {self.rules_version})."
        version = f" (rules {self.rules_version})" if self.rules_version else ""
        return f"This goes to your manager because: {self.reason}{version}."


class ReviewPreview:
    def __init__(
        self,
        directory: ReloadingFile[Directory],
        catalog: ReloadingFile[Catalog],
        flags: FlagsAdmin,
        rules: LiveRules,
        history: UserHistorySource,
    ) -> None:
        self._directory = directory
        self._catalog = catalog
        self._flags = flags
        self._rules = rules
        self._history = history

    async def preview(
        self, *, requester: str, url: str, amount: str, quantity: str | int = 1
    ) -> PreviewResult:
        """Raises IntakeError (what the person typed cannot be used) like filing would."""
        now = datetime.now(UTC)
        request = build_purchase_request(
            request_id=new_request_id(),
            requester_slack_id=requester,
            url=url,
            amount=amount,
            quantity=quantity,
            directory=self._directory.get().value,
            now=now,
        )
        manager = request.manager
        checked = validate_product(request, self._catalog.get().value)
        if not checked.valid or checked.product is None:
            return PreviewResult(auto_approved=False, goes_to="", reason=checked.reason)
        flags = evaluate_all(
            (await self._flags.snapshot()).flags, request.requester, request.department
        )
        if not flags.value(AUTOMATED_REVIEW):
            return PreviewResult(
                auto_approved=False,
                goes_to=manager,
                reason="the automated review is switched off for you (feature flag)",
            )
        live = await self._rules.current()
        rules = live.rules.for_department(request.department, flags.value(REVIEW_STRICTNESS))
        history: UserHistory | None
        try:
            history = await self._history.user_history(request.employee_id, now=now)
        except HistoryUnavailable:
            history = None
        verdict = evaluate_request(request, checked.product, history, rules)
        return PreviewResult(
            auto_approved=verdict.auto_approved,
            goes_to="" if verdict.auto_approved else manager,
            reason=verdict.reason,
            rules_version=live.reference,
            confidence=verdict.confidence,
        )
