"""The requests read from Temporal, held so that a period's figures cost a sum of per-hour totals
rather than a pass over every request: rows by the hour of their `StartTime`, each hour with its
`Totals` (all departments, and per department) kept current as rows arrive or are read anew. An
hour the period covers entirely (every row of it inside) is taken whole; only a partly covered
hour's rows are counted one by one. The last few answers are kept until a row changes."""

from __future__ import annotations

from bisect import bisect_left, bisect_right, insort
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from bot.insight.facts import RequestFacts
from bot.insight.totals import Totals

HOUR_US = 3600 * 1_000_000
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)
# Answers kept per index version (a dashboard, its department views, a web page's days).
_CACHED_ANSWERS = 128


def micros(at: datetime) -> int:
    """Microseconds since the epoch: exact, where a float timestamp is not."""
    return (at - _EPOCH) // _ONE_US


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """One execution as read from Temporal, before the controller's flags are applied."""

    run_id: str
    start_us: int  # visibility's StartTime (`micros`): what the period selects on
    closed: bool
    facts: RequestFacts  # flagged_wrong is False here
    flaggable: bool  # an auto-approval: flagging it as wrong counts


def _order(row: ReadRequest) -> tuple[int, str]:
    return row.start_us, row.run_id


def _start(row: ReadRequest) -> int:
    return row.start_us


class _Hour:
    __slots__ = ("by_department", "everything", "rows")

    def __init__(self) -> None:
        self.rows: list[ReadRequest] = []  # by (start, run id)
        self.everything = Totals()
        self.by_department: dict[str, Totals] = {}  # by the request's own department

    def insert(self, row: ReadRequest) -> None:
        insort(self.rows, row, key=_order)
        self._count(row, 1)

    def remove(self, row: ReadRequest) -> None:
        at = bisect_left(self.rows, _order(row), key=_order)
        del self.rows[at]
        self._count(row, -1)

    def _count(self, row: ReadRequest, sign: int) -> None:
        self.everything.add(row.facts, sign)
        department = self.by_department.get(row.facts.department)
        if department is None:
            department = self.by_department[row.facts.department] = Totals()
        department.add(row.facts, sign)

    def covered_by(self, since_us: int, until_us: int) -> bool:
        return since_us <= self.rows[0].start_us and self.rows[-1].start_us < until_us

    def between(self, since_us: int, until_us: int) -> list[ReadRequest]:
        rows = self.rows
        first = bisect_left(rows, since_us, key=_start)
        return rows[first : bisect_left(rows, until_us, key=_start, lo=first)]


class RequestIndex:
    def __init__(self, rows: Iterable[ReadRequest] = ()) -> None:
        self._hours: dict[int, _Hour] = {}
        self._keys: list[int] = []  # the hours that have (had) rows, sorted
        self._runs: dict[str, ReadRequest] = {}
        # For the controller's flags (by request id); a request id is one execution's.
        self._requests: dict[str, ReadRequest] = {}
        self._answers: dict[tuple[object, ...], Totals] = {}
        for row in rows:
            self.put(row)

    def __len__(self) -> int:
        return len(self._runs)

    def __iter__(self) -> Iterator[ReadRequest]:
        return iter(self._runs.values())

    def get(self, run_id: str) -> ReadRequest | None:
        return self._runs.get(run_id)

    def put(self, row: ReadRequest) -> None:
        """Adds a row, or replaces the one of the same run (read anew, e.g. now closed)."""
        old = self._runs.get(row.run_id)
        if old is not None:
            self._hours[old.start_us // HOUR_US].remove(old)
        self._hour(row.start_us // HOUR_US).insert(row)
        self._runs[row.run_id] = row
        self._requests[row.facts.request_id] = row
        self._answers.clear()

    def rows(self, since: datetime, until: datetime, department: str | None) -> list[ReadRequest]:
        """The period's rows, in StartTime order."""
        since_us, until_us = micros(since), micros(until)
        return [
            row
            for hour in self._spanned(since_us, until_us)
            for row in hour.between(since_us, until_us)
            if department is None or row.facts.department == department
        ]

    def totals(self, since: datetime, until: datetime, department: str | None) -> Totals:
        """The period's totals: requests whose StartTime is in [since, until), filed for
        `department` if given (the request's own department, as the breakdown counts it).
        The answer is shared: read it, do not change it."""
        since_us, until_us = micros(since), micros(until)
        # The same rows selected since the last change: the same answer (a dashboard asked again
        # "up to now" with nothing new selects what it did before).
        key = (department, self._first_at_or_after(since_us), self._first_at_or_after(until_us))
        cached = self._answers.get(key)
        if cached is not None:
            return cached
        answer = Totals()
        for hour in self._spanned(since_us, until_us):
            if not hour.covered_by(since_us, until_us):
                for row in hour.between(since_us, until_us):
                    if department in (None, row.facts.department):
                        answer.add(row.facts)
                continue
            part = hour.everything if department is None else hour.by_department.get(department)
            if part is not None:
                answer.merge(part)
        if len(self._answers) >= _CACHED_ANSWERS:
            self._answers.clear()
        self._answers[key] = answer
        return answer

    def flagged(
        self, since: datetime, until: datetime, department: str | None, flagged: Iterable[str]
    ) -> int:
        """How many of the `flagged` request ids are auto-approvals of the period (and
        department): the auto-approvals flagged as wrong."""
        since_us, until_us = micros(since), micros(until)
        count = 0
        for request_id in flagged:
            row = self._requests.get(request_id)
            if (
                row is not None
                and row.flaggable
                and since_us <= row.start_us < until_us
                and department in (None, row.facts.department)
            ):
                count += 1
        return count

    def _hour(self, key: int) -> _Hour:
        hour = self._hours.get(key)
        if hour is None:
            hour = self._hours[key] = _Hour()
            insort(self._keys, key)
        return hour

    def _spanned(self, since_us: int, until_us: int) -> list[_Hour]:
        """The non-empty hours that hold times in [since_us, until_us)."""
        keys = self._keys
        first = bisect_left(keys, since_us // HOUR_US)
        end = bisect_right(keys, (until_us - 1) // HOUR_US)
        return [hour for key in keys[first:end] if (hour := self._hours[key]).rows]

    def _first_at_or_after(self, at_us: int) -> tuple[int, str] | None:
        """The (start, run id) of the first row at or after `at_us`, None if there is none."""
        for key in self._keys[bisect_left(self._keys, at_us // HOUR_US) :]:
            rows = self._hours[key].rows
            at = bisect_left(rows, at_us, key=_start)
            if at < len(rows):
                return _order(rows[at])
        return None
