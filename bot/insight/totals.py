"""What the dashboard's figures are made of, for a set of requests, kept so that two sets add up
(and a request can be taken out again): counts, exact sums for the means, the decision times
for the medians, per-department tallies and the review-time histogram. The projection keeps one
per hour of requests, so a period's figures are a sum of a few hundred of these instead of a
pass over 100,000 requests.

Sums are exact (integers, Decimal, confidence as an integer multiple of 2**-1074), so the
figures do not depend on the order requests were added in: the projection, built request by
request as they arrive, and a direct read of the period agree to the last bit."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from decimal import Decimal
from fractions import Fraction
from statistics import median

from bot.insight.facts import Fate, RequestFacts

# Review times (seconds from filing to the review's verdict) in buckets a person reads at once:
# the web dashboard's histogram. Upper bounds, exclusive; the last bucket is everything above.
REVIEW_BUCKETS: tuple[tuple[str, float], ...] = (
    ("< 1 s", 1),
    ("1-5 s", 5),
    ("5-30 s", 30),
    ("30 s-2 min", 120),
    ("2-10 min", 600),
    ("10 min-1 h", 3600),
)
OVER_LAST_BUCKET = "> 1 h"
REVIEW_LABELS = (*(label for label, _ in REVIEW_BUCKETS), OVER_LAST_BUCKET)

# Every finite double is an integer multiple of 2**-1074: sums of confidences stay exact.
_FLOAT_SCALE = 1 << 1074
_MICROSECONDS = 1_000_000
_DECIDED_BY_A_PERSON = (Fate.MANUALLY_APPROVED, Fate.REJECTED)
_FATES = tuple(Fate)


def _exact(value: float) -> int:
    numerator, denominator = value.as_integer_ratio()
    return numerator * (_FLOAT_SCALE // denominator)


def _review_bucket(seconds: float) -> int:
    for index, (_, upper) in enumerate(REVIEW_BUCKETS):
        if seconds < upper:
            return index
    return len(REVIEW_BUCKETS)


class DepartmentTotals:
    """One department's tallies (the `department_breakdown`), by the request's own department."""

    __slots__ = ("amount", "auto", "currencies", "requests", "reviewed", "valid")

    def __init__(self) -> None:
        self.requests = self.reviewed = self.auto = self.valid = 0
        self.amount = Decimal(0)  # of the valid requests
        self.currencies: Counter[str] = Counter()  # valid requests per currency

    def add(self, facts: RequestFacts, sign: int) -> None:
        self.requests += sign
        if facts.reviewed:
            self.reviewed += sign
        if facts.fate is Fate.AUTO_APPROVED:
            self.auto += sign
        if facts.valid:
            self.valid += sign
            self.amount += sign * facts.amount
            self.currencies[facts.currency] += sign

    def merge(self, other: DepartmentTotals) -> None:
        self.requests += other.requests
        self.reviewed += other.reviewed
        self.auto += other.auto
        self.valid += other.valid
        self.amount += other.amount
        self.currencies.update(other.currencies)

    @property
    def currency(self) -> str | None:
        """The valid requests' one currency; None when there are none or they mix currencies."""
        present = [code for code, n in self.currencies.items() if n]
        return present[0] if len(present) == 1 else None


class Totals:
    """The figures' ingredients for a set of requests. `flagged` counts requests whose facts say
    flagged_wrong (the projection keeps none: it counts the controller's flags per call)."""

    __slots__ = (
        "_sorted",
        "auto_times",
        "confidence_n",
        "confidence_sum",
        "departments",
        "fates",
        "filed",
        "flagged",
        "manual_times",
        "review_n",
        "review_sum_us",
        "review_times",
        "reviewed",
    )

    def __init__(self) -> None:
        self.filed = self.reviewed = self.flagged = 0
        self.fates = dict.fromkeys(_FATES, 0)
        self.review_n = self.review_sum_us = 0
        self.review_times = [0] * len(REVIEW_LABELS)  # histogram over REVIEW_BUCKETS
        self.confidence_n = self.confidence_sum = 0
        self.auto_times: list[float] = []  # seconds to the decision, auto-approvals
        self.manual_times: list[float] = []  # ... approvals and rejections by a person
        self._sorted = True
        self.departments: dict[str, DepartmentTotals] = {}

    @classmethod
    def of(cls, requests: Iterable[RequestFacts]) -> Totals:
        totals = cls()
        for facts in requests:
            totals.add(facts)
        return totals

    def add(self, facts: RequestFacts, sign: int = 1) -> None:
        """Adds one request's facts; `sign=-1` takes them out again (a request read anew)."""
        fate = facts.fate
        self.filed += sign
        self.fates[fate] += sign
        if facts.reviewed:
            self.reviewed += sign
        if facts.flagged_wrong:
            self.flagged += sign
        if facts.review_seconds is not None:
            self.review_n += sign
            self.review_sum_us += sign * round(facts.review_seconds * _MICROSECONDS)
            self.review_times[_review_bucket(facts.review_seconds)] += sign
        if facts.confidence is not None:
            self.confidence_n += sign
            self.confidence_sum += sign * _exact(facts.confidence)
        if facts.decision_seconds is not None:
            times = None
            if fate is Fate.AUTO_APPROVED:
                times = self.auto_times
            elif fate in _DECIDED_BY_A_PERSON:
                times = self.manual_times
            if times is not None:
                if sign > 0:
                    times.append(facts.decision_seconds)
                    self._sorted = False
                else:
                    times.remove(facts.decision_seconds)
        department = self.departments.get(facts.department)
        if department is None:
            department = self.departments[facts.department] = DepartmentTotals()
        department.add(facts, sign)
        if not department.requests:
            del self.departments[facts.department]

    def merge(self, other: Totals) -> None:
        self.filed += other.filed
        self.reviewed += other.reviewed
        self.flagged += other.flagged
        for fate, n in other.fates.items():
            self.fates[fate] += n
        self.review_n += other.review_n
        self.review_sum_us += other.review_sum_us
        for bucket, n in enumerate(other.review_times):
            self.review_times[bucket] += n
        self.confidence_n += other.confidence_n
        self.confidence_sum += other.confidence_sum
        if other.auto_times or other.manual_times:
            other.sort()  # sorted runs: the merged lists sort in close to linear time
            self.auto_times += other.auto_times
            self.manual_times += other.manual_times
            self._sorted = False
        for name, theirs in other.departments.items():
            ours = self.departments.get(name)
            if ours is None:
                ours = self.departments[name] = DepartmentTotals()
            ours.merge(theirs)

    def sort(self) -> None:
        if not self._sorted:
            self.auto_times.sort()
            self.manual_times.sort()
            self._sorted = True

    # --- the figures ---------------------------------------------------------------------

    @property
    def avg_review_seconds(self) -> float | None:
        return self.review_sum_us / self.review_n / _MICROSECONDS if self.review_n else None

    @property
    def avg_confidence(self) -> float | None:
        if not self.confidence_n:
            return None
        return float(Fraction(self.confidence_sum, _FLOAT_SCALE * self.confidence_n))

    def median_auto_seconds(self) -> float | None:
        self.sort()
        return _median(self.auto_times)

    def median_manual_seconds(self) -> float | None:
        self.sort()
        return _median(self.manual_times)

    def median_decision_seconds(self) -> float | None:
        """Over auto-approvals and a person's decisions together."""
        self.sort()
        return _median(self.auto_times + self.manual_times)


def _median(values: list[float]) -> float | None:
    # median() sorts a copy: on sorted runs (what `sort` leaves) that is close to linear.
    return float(median(values)) if values else None
