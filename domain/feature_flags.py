"""Feature flags for the automated review: who gets it, and how strict it is. Pure, except
`load_flags_file`.

Precedence, most specific first: user > department > global > rollout > default. A global value
is a decision someone made for everybody, so it beats a rollout; a rollout only decides for the
users nobody decided for. Default: the review is off and, when on, "standard".

Rollout buckets are a stable hash of flag and user (never Python's `hash`, which changes between
processes), so the same user always gets the same answer on every worker, and raising the
percent only ever adds users: whoever was in at 10 % is still in at 30 %.

Also the contracts of FeatureFlagsWorkflow (the entity that holds the flags) and of the
evaluate_flags activity. `SetFlagInput.flag` and `.scope` are plain strings on purpose: an
unknown value must reach the update validator and be refused with a reason a person can act on,
not fail while the payload is decoded.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Generic, TypeVar

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from appconfig.files import load_yaml_model
from domain.models import AuditEntry
from domain.review_rules import Strictness


class FlagName(StrEnum):
    AUTOMATED_REVIEW = "automated-review-enabled"
    REVIEW_STRICTNESS = "review-strictness"


class FlagScope(StrEnum):
    USER = "user"
    DEPARTMENT = "department"
    GLOBAL = "global"
    ROLLOUT = "rollout"


V = TypeVar("V")

# The entity keeps only the recent changes through continue-as-new; older ones stay readable in
# the closed runs' histories.
KEEP_CHANGES = 500
UNSET = "(unset)"
MAX_DEPARTMENT_CHARS = 80
ON_OFF = {"on": True, "true": True, "off": False, "false": False}
_SLACK_USER_ID = re.compile(r"^[UW][A-Z0-9]{1,20}$")


# --- state ----------------------------------------------------------------------------------


class Rollout(BaseModel, Generic[V]):
    percent: int = Field(ge=0, le=100)
    value: V


class FlagSettings(BaseModel, Generic[V]):
    """One flag's values at every level; a level without a value lets the next one decide."""

    users: dict[str, V] = Field(default_factory=dict, description="by Slack user id")
    departments: dict[str, V] = Field(default_factory=dict, description="by directory name")
    global_value: V | None = None
    rollout: Rollout[V] | None = None


class FlagsState(BaseModel):
    """All flags. A new flag is a new field with a default, so older states still decode."""

    automated_review_enabled: FlagSettings[bool] = Field(default_factory=FlagSettings[bool])
    review_strictness: FlagSettings[Strictness] = Field(default_factory=FlagSettings[Strictness])


class FlagValue(BaseModel):
    value: bool | Strictness
    decided_by: str = Field(description='e.g. "user UALICE", "rollout 30% (bucket 17)"')


class FlagsEvaluation(BaseModel):
    """Result of the evaluate_flags activity: every flag for one requester."""

    automated_review_enabled: bool
    review_strictness: str
    decided_by: dict[str, str] = Field(default_factory=dict, description="by flag name")


# --- contracts of the entity and the activity -----------------------------------------------


class SetFlagInput(BaseModel):
    """Input of the `set_flag` update. `value` None clears the level; `percent` is for rollouts."""

    flag: str
    scope: str = FlagScope.GLOBAL.value
    key: str = Field(default="", description="Slack user id or department name; else empty")
    value: str | None = None
    percent: int | None = None
    actor: str = Field(default="", description="Slack user id (or tool) making the change")


class SetFlagResult(BaseModel):
    state: FlagsState
    change: AuditEntry


class FlagsEntityState(BaseModel):
    """What FeatureFlagsWorkflow starts from and carries across continue-as-new; also the
    result of its `snapshot` query."""

    flags: FlagsState = Field(default_factory=FlagsState)
    changes: list[AuditEntry] = Field(default_factory=list, description="oldest first")


class EvaluateFlagsInput(BaseModel):
    user: str = Field(description="Slack user id of the requester")
    department: str


# --- values -----------------------------------------------------------------------------------


def parse_flag_name(text: str) -> FlagName:
    try:
        return FlagName(text.strip().lower())
    except ValueError:
        known = ", ".join(f.value for f in FlagName)
        raise ValueError(f"Unknown flag '{text}'; the flags are {known}.") from None


def parse_scope(text: str) -> FlagScope:
    try:
        return FlagScope(text.strip().lower())
    except ValueError:
        raise ValueError(
            f"Unknown scope '{text}'; use user, department, global or rollout."
        ) from None


def parse_on_off(text: str) -> bool:
    try:
        return ON_OFF[text.strip().lower()]
    except KeyError:
        raise ValueError(
            f"{FlagName.AUTOMATED_REVIEW} takes on/off/true/false, not '{text}'."
        ) from None


def parse_strictness(text: str) -> Strictness:
    try:
        return Strictness(text.strip().lower())
    except ValueError:
        raise ValueError(
            f"{FlagName.REVIEW_STRICTNESS} must be standard or strict, not '{text}'."
        ) from None


def parse_flag_value(flag: FlagName, text: str) -> bool | Strictness:
    if flag is FlagName.AUTOMATED_REVIEW:
        return parse_on_off(text)
    return parse_strictness(text)


def render_value(value: object) -> str:
    """A flag value as people type it; `object` because stored values are generic (V)."""
    if value is None:
        return UNSET
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, Strictness):
        return value.value
    raise TypeError(f"not a flag value: {value!r}")


def rollout_default(flag: FlagName) -> str:
    """What `/flags <flag> rollout <percent>` rolls out when no value is given: the change."""
    return "on" if flag is FlagName.AUTOMATED_REVIEW else Strictness.STRICT.value


def check_user_id(text: str) -> str:
    user = text.strip().upper()
    if not _SLACK_USER_ID.match(user):
        raise ValueError(f"'{text}' is not a Slack user id such as U012AB3CD.")
    return user


# --- evaluation -------------------------------------------------------------------------------


def rollout_bucket(flag: FlagName | str, user: str) -> int:
    digest = hashlib.sha256(f"{flag}:{user}".encode()).hexdigest()
    return int(digest, 16) % 100


def _department_key(departments: dict[str, V], department: str) -> str | None:
    """Department names are matched ignoring case: `/flags … department it` means IT."""
    wanted = department.strip().casefold()
    if not wanted:
        return None
    return next((key for key in departments if key.casefold() == wanted), None)


def _decide(
    settings: FlagSettings[V], default: V, flag: FlagName, user: str, department: str
) -> tuple[V, str]:
    if user in settings.users:
        return settings.users[user], f"user {user}"
    key = _department_key(settings.departments, department)
    if key is not None:
        return settings.departments[key], f"department {key}"
    if settings.global_value is not None:
        return settings.global_value, "global"
    if settings.rollout is not None:
        bucket = rollout_bucket(flag, user)
        if bucket < settings.rollout.percent:
            return settings.rollout.value, f"rollout {settings.rollout.percent}% (bucket {bucket})"
    return default, "default"


def evaluate(state: FlagsState, flag: FlagName, *, user: str, department: str) -> FlagValue:
    if flag is FlagName.AUTOMATED_REVIEW:
        enabled, by = _decide(state.automated_review_enabled, False, flag, user, department)
        return FlagValue(value=enabled, decided_by=by)
    level, by = _decide(state.review_strictness, Strictness.STANDARD, flag, user, department)
    return FlagValue(value=level, decided_by=by)


def evaluate_all(state: FlagsState, user: str, department: str) -> FlagsEvaluation:
    enabled, enabled_by = _decide(
        state.automated_review_enabled, False, FlagName.AUTOMATED_REVIEW, user, department
    )
    level, level_by = _decide(
        state.review_strictness, Strictness.STANDARD, FlagName.REVIEW_STRICTNESS, user, department
    )
    return FlagsEvaluation(
        automated_review_enabled=enabled,
        review_strictness=level.value,
        decided_by={FlagName.AUTOMATED_REVIEW: enabled_by, FlagName.REVIEW_STRICTNESS: level_by},
    )


# --- changes ------------------------------------------------------------------------------------


class AppliedChange(BaseModel):
    """A checked change: the state after it and what it changed, for the audit trail."""

    state: FlagsState
    flag: FlagName
    cleared: bool
    target: str = Field(description='"user UALICE", "department IT", "global" or "rollout"')
    old: str
    new: str

    @property
    def action(self) -> str:
        return f"{'clear' if self.cleared else 'set'} {self.flag}"

    @property
    def detail(self) -> str:
        return f"{self.target}: {self.old} -> {self.new}"


def apply_change(state: FlagsState, change: SetFlagInput) -> AppliedChange:
    """Check a change and compute the state after it, without touching `state`.

    Raises ValueError with a reason a person can act on. The entity's update validator calls
    this as a dry run, so a refused change is refused before it is recorded anywhere.
    """
    if not change.actor.strip():
        raise ValueError("Say who makes the change: the actor is empty.")
    flag = parse_flag_name(change.flag)
    scope = parse_scope(change.scope)
    if scope is not FlagScope.ROLLOUT and change.percent is not None:
        raise ValueError("A percent only goes with a rollout.")
    if flag is FlagName.AUTOMATED_REVIEW:
        bools, target, old, new = _apply(
            state.automated_review_enabled, parse_on_off, flag, scope, change
        )
        after = state.model_copy(update={"automated_review_enabled": bools})
    else:
        levels, target, old, new = _apply(
            state.review_strictness, parse_strictness, flag, scope, change
        )
        after = state.model_copy(update={"review_strictness": levels})
    return AppliedChange(
        state=after, flag=flag, cleared=change.value is None, target=target, old=old, new=new
    )


def _apply(
    settings: FlagSettings[V],
    parse: Callable[[str], V],
    flag: FlagName,
    scope: FlagScope,
    change: SetFlagInput,
) -> tuple[FlagSettings[V], str, str, str]:
    value = None if change.value is None else parse(change.value)
    # Edited as plain data and re-validated by the settings' own (parametrised) class, so the
    # result is a FlagSettings[bool] or FlagSettings[Strictness] again, never a bare generic.
    data = settings.model_dump()
    if scope is FlagScope.ROLLOUT:
        if change.key:
            raise ValueError("A rollout is a share of all users; it takes no user or department.")
        old_rollout = settings.rollout
        old = UNSET if old_rollout is None else render_rollout(old_rollout)
        if value is None:
            if old_rollout is None:
                raise ValueError(f"{flag} has no rollout to clear.")
            if change.percent is not None:
                raise ValueError("Clearing a rollout takes no percent.")
            data["rollout"] = None
            new = UNSET
        else:
            if change.percent is None:
                raise ValueError("A rollout needs a percent from 0 to 100.")
            if not 0 <= change.percent <= 100:
                raise ValueError(f"A rollout percent must be from 0 to 100, not {change.percent}.")
            data["rollout"] = {"percent": change.percent, "value": value}
            new = f"{change.percent}% {render_value(value)}"
        return type(settings).model_validate(data), "rollout", old, new
    if scope is FlagScope.GLOBAL:
        if change.key:
            raise ValueError("A global value takes no user or department.")
        if value is None and settings.global_value is None:
            raise ValueError(f"{flag} has no global value to clear.")
        old = render_value(settings.global_value)
        data["global_value"] = value
        return type(settings).model_validate(data), "global", old, render_value(value)
    if scope is FlagScope.USER:
        user = check_user_id(change.key) if change.key.strip() else ""
        if not user:
            raise ValueError("Say which user: a Slack user id such as U012AB3CD.")
        return _set_key(settings, data, "users", user, value, f"user {user}", flag)
    department = change.key.strip()
    if not department:
        raise ValueError("Say which department, e.g. IT.")
    if len(department) > MAX_DEPARTMENT_CHARS:
        raise ValueError(f"A department name is at most {MAX_DEPARTMENT_CHARS} characters.")
    # Reuse the spelling already stored so "it" and "IT" never become two entries.
    department = _department_key(settings.departments, department) or department
    return _set_key(
        settings, data, "departments", department, value, f"department {department}", flag
    )


def _set_key(
    settings: FlagSettings[V],
    data: dict[str, object],
    field: str,
    key: str,
    value: V | None,
    target: str,
    flag: FlagName,
) -> tuple[FlagSettings[V], str, str, str]:
    current: dict[str, V] = getattr(settings, field)
    entries = dict(current)
    old = render_value(entries.get(key))
    if value is None:
        if key not in entries:
            raise ValueError(f"{flag} has no value for {target} to clear.")
        del entries[key]
    else:
        entries[key] = value
    data[field] = entries
    return type(settings).model_validate(data), target, old, render_value(value)


def render_rollout(rollout: Rollout[V]) -> str:
    return f"{rollout.percent}% {render_value(rollout.value)}"


# --- the initial flags file ---------------------------------------------------------------------


UserId = Annotated[str, AfterValidator(check_user_id)]


class _FileRollout(BaseModel, Generic[V]):
    model_config = ConfigDict(extra="forbid")

    percent: int = Field(ge=0, le=100)
    value: V


class _FileFlag(BaseModel, Generic[V]):
    """One flag as written in flags.yaml: `global:` rather than `global_value:`, and unknown
    keys refused so a typo is not silently ignored."""

    model_config = ConfigDict(extra="forbid")

    global_value: V | None = Field(default=None, alias="global")
    rollout: _FileRollout[V] | None = None
    departments: dict[str, V] = Field(default_factory=dict)
    users: dict[UserId, V] = Field(default_factory=dict)


class FlagsFile(BaseModel):
    """flags.yaml: keyed by the flag names people type in `/flags`."""

    model_config = ConfigDict(extra="forbid")

    automated_review_enabled: _FileFlag[bool] = Field(
        default_factory=_FileFlag[bool], alias="automated-review-enabled"
    )
    review_strictness: _FileFlag[Strictness] = Field(
        default_factory=_FileFlag[Strictness], alias="review-strictness"
    )

    def to_state(self) -> FlagsState:
        return FlagsState.model_validate(self.model_dump())


def load_flags_file(path: Path) -> FlagsState:
    """The flags of a fresh installation. Raises ConfigFileError naming the field and reason."""
    return load_yaml_model(path, FlagsFile).value.to_state()
