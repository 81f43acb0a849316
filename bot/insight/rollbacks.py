"""How long each rollback took, read from the rollout controller's own audit events: from the
first failed health check of the rolled-back build (since traffic last moved to it) to the
`rolled_back` event, which the controller records once the previous build is current again.

A rollback with no failed check before it (a person's call, not a detection) counts as a
rollback but has no duration: there is no detection to measure from."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime

from domain.models import AuditEntry

# Events that send traffic to the build their detail starts with: a new exposure, so failed
# checks before it are about an earlier one.
TRAFFIC_MOVES = frozenset({"ramped", "promoted", "plan_started", "plan_step", "department_rollout"})
FAILED_CHECK = "health_check_failed"
ROLLED_BACK = "rolled_back"
# The controller's details start with the build they are about: "B at 10%", "B: problems",
# "B -> A: reason", "B is current (was A)", "B for IT".
_SUBJECT = re.compile(r"[^\s:]+")


def _subject(entry: AuditEntry) -> str | None:
    match = _SUBJECT.match(entry.detail)
    return match.group(0) if match else None


def rollback_seconds(
    events: Sequence[AuditEntry], since: datetime, until: datetime
) -> tuple[float, ...]:
    """Durations of the rollbacks that happened in [since, until), in the order they happened."""
    detected: dict[str, datetime] = {}
    durations: list[float] = []
    for entry in sorted(events, key=lambda e: e.at):
        build = _subject(entry)
        if build is None:
            continue
        if entry.action in TRAFFIC_MOVES:
            detected.pop(build, None)
        elif entry.action == FAILED_CHECK:
            detected.setdefault(build, entry.at)
        elif entry.action == ROLLED_BACK:
            first_failure = detected.pop(build, None)
            if first_failure is not None and since <= entry.at < until:
                durations.append((entry.at - first_failure).total_seconds())
    return tuple(durations)
