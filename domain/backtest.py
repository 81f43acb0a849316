"""The backtest of a rules change: what the proposed rules would have decided on the requests of
a past period, compared with what actually happened. Pure: the bot reads the past requests from
Temporal (bot/rules_backtest.py) and hands them here, with the clock's `now` as an argument.

How a past request is re-decided:
- its amount, category and vendor are the ones recorded when it was filed (start search
  attributes); a request filed before those existed cannot be re-decided and is counted apart;
- the history criterion, where it matters, is judged with what the review recorded when that
  is enough: when today's rules auto-approve the request exactly if its history passes and the
  change keeps the history criteria, the recorded outcome says whether it passed (auto-approved
  then: it did). Otherwise (the change is to the history criteria, or it makes a request reach
  the history check that did not before) the requester's history AT FILING TIME is rebuilt from
  the records the review counted: this system's completed requests closed before the filing (the
  completed count now minus those closed since) and the requests a person rejected in the 30
  days before it, plus the imported history (read once, as of now: it predates this system);
- review strictness is the standard one (the strictness flag of each requester at the time is
  not recorded where the backtest can read it).

A request counts in "more" or "fewer" only when today's rules, re-decided the same way, give
what actually happened ("reproduced"); otherwise the difference would not be the change's doing
(the rules changed during the period, the review was off for that requester, a strict flag, a
history the rebuild does not see) and it is counted in `not_reproduced` instead. So a change
that changes nothing shows 0 more and 0 fewer."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.history import REJECTION_WINDOW
from domain.models import Money, PurchaseStatus
from domain.review_rules import EffectiveRules, RulesFile, UserHistory, evaluate

BACKTEST_PERIOD = timedelta(days=30)
# Request ids listed as examples of newly auto-approved requests a manager had rejected.
SHOWN_EXAMPLES = 5


class ReviewPath(StrEnum):
    """The `ReviewPath` search attribute a request gets when it closes."""

    AUTO_APPROVED = "auto_approved"
    MANUAL = "manual"
    NOT_REVIEWED = "not_reviewed"


@dataclass(frozen=True)
class ReviewInputs:
    """What the review judged besides the requester's history, recorded at filing."""

    amount: Money
    category: str
    vendor: str


@dataclass(frozen=True)
class PastRequest:
    request_id: str
    employee_id: str
    department: str
    filed_at: datetime
    closed_at: datetime | None  # None while it runs
    outcome: str | None  # PurchaseOutcome: completed, rejected (by a person), ...; None: open
    review_path: str | None  # ReviewPath, set when it closed
    inputs: ReviewInputs | None  # None: filed before the start attributes existed


@dataclass(frozen=True)
class RequesterBaseline:
    """One requester's history read once: their completed requests in visibility now, and
    their imported history (as of now)."""

    completed_now: int
    imported: UserHistory


class BacktestFigures(BaseModel):
    """What a rules change would have done to the requests filed in [since, until)."""

    since: datetime
    until: datetime
    departments: list[str] | None = Field(
        default=None,
        description="the departments whose rules the change alters: only their requests can be "
        "decided differently, so only they are backtested; null: every department",
    )
    filed: int = Field(description="requests filed in the period (in those departments)")
    compared: int = Field(description="reviewed requests re-decided with both rule sets")
    without_inputs: int = Field(
        description="filed before amount/category/vendor were recorded at filing: left out"
    )
    not_reviewed: int = Field(
        description="closed without a review verdict (invalid product, review off) or still open"
    )
    not_reproduced: int = Field(
        description="today's rules would not have decided them as happened (rules changed in "
        "the period, the review was off for the requester, strictness, history): left out of "
        "more/fewer"
    )
    actual_auto_approved: int = Field(description="of the compared ones, auto-approved then")
    would_auto_approve: int = Field(description="actual_auto_approved + more - fewer")
    more: int = Field(description="would now be auto-approved, went to a person then")
    fewer: int = Field(description="were auto-approved, would now go to a person")
    more_rejected_by_manager: int = Field(
        description="of `more`, how many a manager (a person) had rejected"
    )
    rejected_examples: list[str] = Field(
        default_factory=list, description="request ids among more_rejected_by_manager (a few)"
    )


def backtest_period(now: datetime) -> tuple[datetime, datetime]:
    return now - BACKTEST_PERIOD, now


# A department name nobody has: the rules a department without its own entry gets.
_ANY_OTHER_DEPARTMENT = "\x00any other department"


def affected_departments(
    current: RulesFile, proposed: RulesFile, known: Iterable[str]
) -> list[str] | None:
    """The departments whose effective rules the change alters, or None when it alters what a
    department without its own rules gets (any department at all may then be affected)."""
    other = _ANY_OTHER_DEPARTMENT
    if current.for_department(other) != proposed.for_department(other):
        return None
    return sorted(d for d in set(known) if current.for_department(d) != proposed.for_department(d))


# A history that meets any criterion: with it, `evaluate` says what the other checks decide.
_ANY_HISTORY_PASSES = UserHistory(previous_purchases=10**9, rejected_last_30_days=0)


@dataclass(frozen=True)
class _Outlook:
    """One request's verdicts under both rule sets, if its history passes or fails."""

    current_if_passes: bool
    current_if_fails: bool
    proposed_if_passes: bool
    proposed_if_fails: bool
    same_history_criteria: bool

    @property
    def history_irrelevant(self) -> bool:
        return (
            self.current_if_passes == self.current_if_fails
            and self.proposed_if_passes == self.proposed_if_fails
        )

    @property
    def recorded_outcome_tells(self) -> bool:
        """Today's rules auto-approve it exactly when its history passes, and the change keeps
        the history criteria: what the review decided then says whether the history passed."""
        return self.same_history_criteria and self.current_if_passes != self.current_if_fails


class RulePair:
    """Today's rules and the proposed ones, merged per department once (not per request)."""

    def __init__(self, current: RulesFile, proposed: RulesFile) -> None:
        self.current = current
        self.proposed = proposed
        self._merged: dict[str, tuple[EffectiveRules, EffectiveRules]] = {}

    def of(self, department: str) -> tuple[EffectiveRules, EffectiveRules]:
        if department not in self._merged:
            self._merged[department] = (
                self.current.for_department(department),
                self.proposed.for_department(department),
            )
        return self._merged[department]


def _outlook(request: PastRequest, inputs: ReviewInputs, rules: RulePair) -> _Outlook:
    now_rules, new_rules = rules.of(request.department)
    return _Outlook(
        current_if_passes=_auto_approves(request, inputs, _ANY_HISTORY_PASSES, now_rules),
        current_if_fails=_auto_approves(request, inputs, None, now_rules),
        proposed_if_passes=_auto_approves(request, inputs, _ANY_HISTORY_PASSES, new_rules),
        proposed_if_fails=_auto_approves(request, inputs, None, new_rules),
        same_history_criteria=now_rules.user_history == new_rules.user_history,
    )


def needs_history(request: PastRequest, rules: RulePair) -> bool:
    """Whether re-deciding this request needs the requester's history counts: not when it is
    left out anyway, when the history decides nothing under either rule set, nor when the
    recorded outcome tells."""
    if _left_out(request) is not None or request.inputs is None:
        return False
    outlook = _outlook(request, request.inputs, rules)
    return not (outlook.history_irrelevant or outlook.recorded_outcome_tells)


def _left_out(request: PastRequest) -> str | None:
    """Why the request cannot be re-decided (the figure it counts in), or None."""
    if request.review_path not in (ReviewPath.AUTO_APPROVED, ReviewPath.MANUAL):
        return "not_reviewed"
    if request.closed_at is None:
        return "not_reviewed"
    if request.inputs is None:
        return "without_inputs"
    return None


class HistoryTimeline:
    """Each requester's history at any moment of the period, from the listed requests (which
    must include every request that closed in the 30 days before the period's start)."""

    def __init__(
        self, requests: Iterable[PastRequest], baselines: Mapping[str, RequesterBaseline]
    ) -> None:
        self._baselines = baselines
        self._completed: dict[str, list[datetime]] = {}
        self._rejected: dict[str, list[datetime]] = {}
        for request in requests:
            if request.closed_at is None:
                continue
            if request.outcome == PurchaseStatus.COMPLETED.value:
                self._completed.setdefault(request.employee_id, []).append(request.closed_at)
            elif request.outcome == PurchaseStatus.REJECTED.value:
                self._rejected.setdefault(request.employee_id, []).append(request.closed_at)
        for dates in (*self._completed.values(), *self._rejected.values()):
            dates.sort()

    def at(self, employee_id: str, moment: datetime) -> UserHistory | None:
        """None when the requester's baseline could not be read."""
        baseline = self._baselines.get(employee_id)
        if baseline is None:
            return None
        completed = self._completed.get(employee_id, [])
        closed_since = len(completed) - bisect_right(completed, moment)
        rejected = self._rejected.get(employee_id, [])
        # The review counts rejections that closed in (moment - 30 days, moment].
        in_window = bisect_right(rejected, moment) - bisect_right(
            rejected, moment - REJECTION_WINDOW
        )
        return UserHistory(
            previous_purchases=baseline.imported.previous_purchases
            + max(0, baseline.completed_now - closed_since),
            rejected_last_30_days=baseline.imported.rejected_last_30_days + in_window,
        )


def _auto_approves(
    request: PastRequest, inputs: ReviewInputs, history: UserHistory | None, rules: EffectiveRules
) -> bool:
    return evaluate(
        amount=inputs.amount,
        category=inputs.category,
        vendor=inputs.vendor,
        department=request.department,
        history=history,
        rules=rules,
    ).auto_approved


def _verdicts(
    request: PastRequest,
    inputs: ReviewInputs,
    actual: bool,
    rules: RulePair,
    timeline: HistoryTimeline,
) -> tuple[bool, bool]:
    """(today's rules, the proposed rules) on this request."""
    outlook = _outlook(request, inputs, rules)
    if outlook.history_irrelevant:
        return outlook.current_if_passes, outlook.proposed_if_passes
    if outlook.recorded_outcome_tells:
        passed = actual  # auto-approved then exactly when its history passed
        if passed:
            return outlook.current_if_passes, outlook.proposed_if_passes
        return outlook.current_if_fails, outlook.proposed_if_fails
    history = timeline.at(request.employee_id, request.filed_at)
    now_rules, new_rules = rules.of(request.department)
    return (
        _auto_approves(request, inputs, history, now_rules),
        _auto_approves(request, inputs, history, new_rules),
    )


def backtest(
    requests: Iterable[PastRequest],
    *,
    current: RulesFile,
    proposed: RulesFile,
    baselines: Mapping[str, RequesterBaseline],
    since: datetime,
    until: datetime,
    departments: list[str] | None = None,
) -> BacktestFigures:
    """`requests`: those filed in [since, until) and those that closed in the 30 days before
    `since` (for the history); `baselines`: per requester whose history any rule set needs;
    `departments`: only theirs are backtested (None: all)."""
    listed = list(requests)
    timeline = HistoryTimeline(listed, baselines)
    rules = RulePair(current, proposed)
    counts = dict.fromkeys(
        ("filed", "compared", "without_inputs", "not_reviewed", "not_reproduced", "actual"), 0
    )
    more = fewer = more_rejected = 0
    examples: list[str] = []
    for request in listed:
        if not since <= request.filed_at < until:
            continue
        if departments is not None and request.department not in departments:
            continue
        counts["filed"] += 1
        left_out = _left_out(request)
        if left_out is not None or request.inputs is None:
            counts[left_out or "without_inputs"] += 1
            continue
        actual = request.review_path == ReviewPath.AUTO_APPROVED
        today, would = _verdicts(request, request.inputs, actual, rules, timeline)
        if today != actual:
            counts["not_reproduced"] += 1
            continue
        counts["compared"] += 1
        counts["actual"] += actual
        if would and not actual:
            more += 1
            if request.outcome == PurchaseStatus.REJECTED.value:
                more_rejected += 1
                if len(examples) < SHOWN_EXAMPLES:
                    examples.append(request.request_id)
        elif actual and not would:
            fewer += 1
    return BacktestFigures(
        since=since,
        until=until,
        departments=departments,
        filed=counts["filed"],
        compared=counts["compared"],
        without_inputs=counts["without_inputs"],
        not_reviewed=counts["not_reviewed"],
        not_reproduced=counts["not_reproduced"],
        actual_auto_approved=counts["actual"],
        would_auto_approve=counts["actual"] + more - fewer,
        more=more,
        fewer=fewer,
        more_rejected_by_manager=more_rejected,
        rejected_examples=examples,
    )
