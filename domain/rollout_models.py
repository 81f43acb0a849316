"""Contracts of the rollout controller and the deployment monitor."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel, Field

from domain.models import AuditEntry


class Thresholds(BaseModel):
    """When a build is healthy. Defaults are the seed's (error <= 5 %, p99 <= 30 s,
    success >= 95 %) plus decision quality: at most 5 % of auto-approvals flagged as wrong."""

    max_error_rate: float = 0.05
    max_p99_seconds: float = 30.0
    min_success_rate: float = 0.95
    max_flagged_rate: float = 0.05
    min_sample: int = 5  # fewer closed requests than this: the check is inconclusive
    failure_limit: int = 3  # this many failed checks in a row roll back automatically
    check_interval_seconds: float = 60.0


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

    @property
    def closed(self) -> int:
        return self.completed + self.failed

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


# --- updates ---------------------------------------------------------------------------------


class RampInput(BaseModel):
    build_id: str
    percent: float
    actor: str


class PromoteInput(BaseModel):
    build_id: str
    actor: str


class PlanInput(BaseModel):
    build_id: str
    steps: list[float]
    interval_seconds: float
    actor: str


class ActorInput(BaseModel):
    actor: str
    reason: str = ""


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


# --- activities ------------------------------------------------------------------------------


class RoutingAction(StrEnum):
    SET_CURRENT = "set_current"
    SET_RAMPING = "set_ramping"


class RoutingInput(BaseModel):
    action: RoutingAction
    build_id: str
    percent: float = 0.0


class RoutingResult(BaseModel):
    previous_current: str | None = None


class RollbackRoutingInput(BaseModel):
    reason: str


class AnalyzeInput(BaseModel):
    build_id: str
    since: datetime
    flagged: int
    thresholds: Thresholds


class OpsAlertInput(BaseModel):
    text: str
