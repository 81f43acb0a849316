"""Contracts of the rollout controller and the deployment monitor."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field, ValidationError

from domain.health_limits import Comparison, Limit, Unit
from domain.models import AuditEntry

AT_MOST, AT_LEAST = Comparison.AT_MOST, Comparison.AT_LEAST


class Thresholds(BaseModel):
    """When a build is healthy. Each limit is declared once, here, with how it reads (label,
    comparison, unit) and what it is compared with: the verdict (`domain.build_health.judge`)
    and `/rollout status` both read it from here, so the display cannot drift from enforcement.
    Defaults are the seed's (error <= 5 %, p99 <= 30 s, success >= 95 %) plus decision quality
    (at most 5 % of auto-approvals flagged as wrong) and no stuck requests.

    Stored in the rollout controller's state: a new field needs a default."""

    max_error_rate: Annotated[
        float, Limit("error rate", AT_MOST, Unit.PERCENT, lambda h: h.error_rate)
    ] = 0.05
    max_p99_seconds: Annotated[
        float, Limit("p99 latency", AT_MOST, Unit.SECONDS, lambda h: h.p99_seconds)
    ] = 30.0
    min_success_rate: Annotated[
        float, Limit("success rate", AT_LEAST, Unit.PERCENT, lambda h: h.success_rate)
    ] = 0.95
    max_flagged_rate: Annotated[
        float,
        Limit("auto-approvals flagged as wrong", AT_MOST, Unit.PERCENT, lambda h: h.flagged_rate),
    ] = 0.05
    max_stuck: Annotated[
        int,
        Limit(
            "stuck requests",
            AT_MOST,
            Unit.COUNT,
            lambda h: h.stuck,
            meaning="running, but their workflow tasks keep failing",
        ),
    ] = 0
    # The monitor settings (MONITOR_SETTINGS): a process's PURCHASEBOT_MONITOR_* values, applied
    # to the running controller at its start. Their bounds are the one rule both the process and
    # the controller's Update check.
    # Fewer closed requests than this: the check is inconclusive.
    min_sample: int = Field(default=5, ge=1)
    # Fewer auto-approvals than this: decision quality (flags) is not judged yet, so one flag
    # on a fresh ramp cannot roll a build back.
    min_decision_sample: int = Field(default=10, ge=0)
    # Errors, success and latency are judged on the requests started in the last window (and
    # since the rollout began): a regression that starts late is not diluted by healthy hours.
    window_seconds: float = Field(default=300.0, gt=0)
    # This many failed checks in a row roll back automatically.
    failure_limit: int = Field(default=3, ge=1)
    check_interval_seconds: float = Field(default=30.0, gt=0)

    @classmethod
    def declared_limits(cls) -> dict[str, Limit]:
        """Field name -> its Limit, for every field that is one, in declaration order."""
        return {
            name: meta
            for name, info in cls.model_fields.items()
            for meta in info.metadata
            if isinstance(meta, Limit)
        }

    def limits(self) -> list[tuple[Limit, float]]:
        """Every enforced limit with its bound."""
        return [(limit, getattr(self, name)) for name, limit in self.declared_limits().items()]

    def settings(self) -> dict[str, float]:
        """The monitor settings (MONITOR_SETTINGS) in force, by field name."""
        return {name: getattr(self, name) for name in MONITOR_SETTINGS}

    def with_settings(self, settings: Mapping[str, float]) -> Thresholds:
        """These thresholds with `settings` (monitor settings by field name) applied, validated
        by the model's own rules. Raises ValueError with one line per refused value."""
        unknown = sorted(set(settings) - set(MONITOR_SETTINGS))
        if unknown:
            raise ValueError(f"Not monitor settings: {', '.join(unknown)}.")
        try:
            return Thresholds.model_validate({**self.model_dump(), **settings})
        except ValidationError as err:
            problems = [f"{e['loc'][0]} = {e['input']!r}: {e['msg']}" for e in err.errors()]
            raise ValueError("Invalid monitor settings: " + "; ".join(problems) + ".") from None


# The Thresholds fields a process sets from its environment (PURCHASEBOT_MONITOR_*).
MONITOR_SETTINGS = (
    "check_interval_seconds",
    "min_sample",
    "failure_limit",
    "window_seconds",
    "min_decision_sample",
)


class RampToDate(BaseModel):
    """The build's requests since its rollout began, shown beside the window's verdict."""

    since: datetime
    completed: int = 0
    failed: int = 0
    running: int = 0


class Verdict(StrEnum):
    PASS = "pass"
    FAIL = "fail"
    INCONCLUSIVE = "inconclusive"


class BuildHealth(BaseModel):
    build_id: str
    checked_at: datetime
    completed: int = 0
    failed: int = 0
    running: int = 0
    stuck: int = Field(default=0, description="running, but their workflow tasks keep failing")
    error_rate: float = 0.0
    success_rate: float = 1.0
    p99_seconds: float | None = None
    auto_approved: int = 0
    flagged: int = 0
    verdict: Verdict = Verdict.INCONCLUSIVE
    problems: list[str] = Field(default_factory=list)
    flags_judged: bool = Field(
        default=True, description="enough auto-approvals (min_decision_sample) to judge flags"
    )
    window_since: datetime | None = Field(
        default=None, description="counts, rates and latency are of requests started after this"
    )
    to_date: RampToDate | None = None

    @property
    def closed(self) -> int:
        return self.completed + self.failed

    @property
    def flagged_rate(self) -> float | None:
        """Share of this build's auto-approvals that managers flagged as wrong."""
        if not self.auto_approved or not self.flags_judged:
            return None
        return self.flagged / self.auto_approved

    @property
    def sample(self) -> int:
        """Requests with a verdict: finished, or stuck (a stuck one is as bad as a failed one:
        e.g. a nondeterminism error leaves a workflow Running with no progress)."""
        return self.closed + self.stuck


class PlanStatus(StrEnum):
    RUNNING = "running"
    PAUSED = "paused"
    COMPLETED = "completed"
    ABORTED = "aborted"
    ROLLED_BACK = "rolled_back"


class Plan(BaseModel):
    build_id: str
    steps: list[float]
    interval_seconds: float
    step: int = 0  # index of the step in force
    status: PlanStatus = PlanStatus.RUNNING
    step_started_at: datetime | None = None


class DepartmentTarget(BaseModel):
    """A department rollout: every NEW request of `department` starts pinned to `build_id`;
    everyone else stays on the current build. Published in the controller's memo
    (DEPARTMENT_MEMO) so request starts read it without a worker."""

    build_id: str
    department: str
    since: datetime


DEPARTMENT_MEMO = "department_rollout"


class BuildRecord(BaseModel):
    """One build's life as the controller saw it, so a rollback goes to the last build that was
    healthy as current, not blindly to the previous one."""

    build_id: str
    was_current: bool = False
    current_since: datetime | None = None
    current_until: datetime | None = Field(
        default=None, description="when it stopped being current (None: it still is, or never was)"
    )
    verdict_as_current: Verdict | None = Field(
        default=None, description="the last health verdict on it while it was current"
    )
    rolled_back_at: datetime | None = None

    @property
    def healthy_as_current(self) -> bool:
        """Served as current, its last check as current did not fail, and it was not rolled
        back since it last became current."""
        rolled_back_since = self.rolled_back_at is not None and (
            self.current_since is None or self.rolled_back_at >= self.current_since
        )
        return (
            self.was_current
            and self.verdict_as_current is not Verdict.FAIL
            and not (rolled_back_since)
        )


class RolloutState(BaseModel):
    deployment_name: str
    thresholds: Thresholds = Field(default_factory=Thresholds)
    watched_build: str | None = None
    watch_since: datetime | None = None
    consecutive_failures: int = 0
    health: dict[str, BuildHealth] = Field(default_factory=dict)
    plan: Plan | None = None
    flagged: dict[str, list[str]] = Field(default_factory=dict, description="build -> requests")
    events: list[AuditEntry] = Field(default_factory=list)
    rolled_back_builds: list[str] = Field(
        default_factory=list,
        description="builds rolled back from: ramping or promoting one again needs `override`",
    )
    rolled_back_to: str | None = Field(
        default=None,
        description="the build the last rollback went to, until traffic moves again: a second "
        "rollback then has nothing to roll back",
    )
    department: DepartmentTarget | None = None
    current_build: str | None = Field(
        default=None, description="the current build as the controller last set or saw it"
    )
    builds: dict[str, BuildRecord] = Field(
        default_factory=dict, description="health history per build (rollback targets)"
    )

    def healthy_builds(self, now: datetime) -> list[str]:
        """Builds that were healthy as current, the most recently current first: where a
        rollback of the current build goes."""
        healthy = [r for r in self.builds.values() if r.healthy_as_current]
        healthy.sort(key=lambda r: r.current_until or now, reverse=True)
        return [r.build_id for r in healthy]


# --- updates ---------------------------------------------------------------------------------


class RampInput(BaseModel):
    build_id: str
    percent: float
    actor: str
    override: bool = False  # ramp a build that was rolled back


class PromoteInput(BaseModel):
    build_id: str
    actor: str
    override: bool = False


class PlanInput(BaseModel):
    build_id: str
    steps: list[float]
    interval_seconds: float
    actor: str
    override: bool = False


class DepartmentInput(BaseModel):
    build_id: str
    department: str
    actor: str
    override: bool = False


class ActorInput(BaseModel):
    actor: str
    reason: str = ""


class RollbackInput(ActorInput):
    to_build: str | None = Field(
        default=None, description="where new requests go; default: the last healthy build"
    )
    override: bool = False  # roll back to a build that was itself rolled back


class MonitorSettingsInput(BaseModel):
    """A process's monitor settings (its PURCHASEBOT_MONITOR_* values, defaults where unset),
    for the running controller: the last process to start applies its settings."""

    settings: dict[str, float] = Field(description="MONITOR_SETTINGS field -> value")
    actor: str = Field(description="the process that applies them, e.g. `worker@host`")


class MonitorSettingsResult(BaseModel):
    changed: bool
    before: dict[str, float]
    after: dict[str, float]
    message: str


def settings_change(before: Mapping[str, float], after: Mapping[str, float]) -> str:
    """The changed monitor settings, `name X -> Y` each (for the event, the alert, the log)."""
    return ", ".join(
        f"{name} {before[name]:g} -> {after[name]:g}"
        for name in MONITOR_SETTINGS
        if name in before and name in after and before[name] != after[name]
    )


class FlagWrongInput(BaseModel):
    request_id: str
    build_id: str
    actor: str


class RolloutActionResult(BaseModel):
    message: str


class RollbackResult(BaseModel):
    from_build: str
    to_build: str | None
    pinned_workflows: int
    message: str
    previous_current: str | None = None  # the current build before the rollback


# --- activities ------------------------------------------------------------------------------


class RoutingAction(StrEnum):
    SET_CURRENT = "set_current"
    SET_RAMPING = "set_ramping"
    # Routing stays as it is: checks that `build_id` polls, is not current and no build ramps
    # (a department rollout sends only that department's requests to the build).
    CHECK_DEPARTMENT_TARGET = "check_department_target"


class RoutingInput(BaseModel):
    action: RoutingAction
    build_id: str
    percent: float = 0.0


class RoutingResult(BaseModel):
    previous_current: str | None = None


class RollbackRoutingInput(BaseModel):
    reason: str
    to_build: str | None = Field(
        default=None, description="None: the ramp's current build, else the previous current"
    )
    department_build: str | None = Field(
        default=None, description="the build of a department rollout being rolled back"
    )
    healthy_builds: list[str] = Field(
        default_factory=list,
        description="builds that were healthy as current, most recent first: where a rollback "
        "of the current build goes (else the previous current build)",
    )


class AnalyzeInput(BaseModel):
    build_id: str
    since: datetime
    flagged: int
    thresholds: Thresholds
    department: str | None = None  # judge only this department's requests


class OpsAlertInput(BaseModel):
    text: str
