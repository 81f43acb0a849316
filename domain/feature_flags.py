"""Feature flags: the state the entity holds, evaluating it for one requester, checking and
applying a change, and the initial flags file. Pure, except `load_flags_file`. Which flags exist,
their values and defaults come from `domain.flag_registry`; nothing here names a flag.

Precedence, most specific first: user > department > global > rollout > default. A global value
is a decision someone made for everybody, so it beats a rollout; a rollout only decides for the
users nobody decided for.

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
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Generic, Self, TypeVar, cast

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    RootModel,
    create_model,
    model_validator,
)

from appconfig.files import load_yaml_model
from domain import flag_registry
from domain.flag_registry import UNSET, Flag
from domain.models import AuditEntry

V = TypeVar("V")


class FlagScope(StrEnum):
    USER = "user"
    DEPARTMENT = "department"
    GLOBAL = "global"
    ROLLOUT = "rollout"


# The entity keeps only the recent changes through continue-as-new; older ones stay readable in
# the closed runs' histories.
KEEP_CHANGES = 500
MAX_DEPARTMENT_CHARS = 80
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


def settings_model(flag: Flag[V]) -> type[FlagSettings[V]]:
    # Parametrised at run time from the registry's type; `cast(Any, ...)` because a variable
    # is not a type to mypy.
    return cast(type[FlagSettings[V]], cast(Any, FlagSettings)[flag.values.python_type])


class FlagsState(RootModel[dict[str, FlagSettings[Any]]]):
    """All flags, keyed by `Flag.key`: the JSON is {"automated_review_enabled": {...}, ...}, the
    shape states have always been stored in. Every registered flag is present (empty settings
    until set); entries of flags this code does not know (written by a newer build) are kept
    as they are, so an older worker passing the state on loses nothing."""

    root: dict[str, FlagSettings[Any]] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _typed_by_the_registry(self) -> Self:
        for flag in flag_registry.FLAGS:
            stored = self.root.get(flag.key)
            self.root[flag.key] = settings_model(flag).model_validate(
                stored.model_dump() if stored is not None else {}
            )
        return self

    def settings(self, flag: Flag[V]) -> FlagSettings[V]:
        return cast(FlagSettings[V], self.root[flag.key])

    def with_settings(self, flag: Flag[V], settings: FlagSettings[V]) -> FlagsState:
        return FlagsState({**self.root, flag.key: settings})


@dataclass(frozen=True)
class FlagValue(Generic[V]):
    value: V
    decided_by: str  # e.g. "user UALICE", "rollout 30% (bucket 17)"


class FlagsEvaluation(BaseModel):
    """Result of the evaluate_flags activity: every flag for one requester.

    One field per flag, named by its `key` (`{"automated_review_enabled": true, ...}`), plus
    `decided_by` by flag name: the shape recorded in histories since the flags came. Read a value
    with `value(FLAG)`; a flag missing from an older result reads as its default."""

    model_config = ConfigDict(extra="allow")

    decided_by: dict[str, str] = Field(default_factory=dict, description="by flag name")

    @classmethod
    def of(cls, values: Mapping[Flag[Any], FlagValue[Any]]) -> FlagsEvaluation:
        return cls.model_validate(
            {
                **{flag.key: flag.values.encode(v.value) for flag, v in values.items()},
                "decided_by": {flag.name: v.decided_by for flag, v in values.items()},
            }
        )

    @classmethod
    def defaults(cls) -> FlagsEvaluation:
        return cls.of({flag: FlagValue(flag.default, "default") for flag in flag_registry.FLAGS})

    def value(self, flag: Flag[V]) -> V:
        raw = (self.model_extra or {}).get(flag.key)
        return flag.default if raw is None else flag.values.decode(raw)


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


def parse_flag_name(text: str) -> Flag[Any]:
    wanted = text.strip().lower()
    flag = next((f for f in flag_registry.FLAGS if f.name == wanted), None)
    if flag is None:
        known = ", ".join(f.name for f in flag_registry.FLAGS)
        raise ValueError(f"Unknown flag '{text}'; the flags are {known}.")
    return flag


def parse_scope(text: str) -> FlagScope:
    try:
        return FlagScope(text.strip().lower())
    except ValueError:
        raise ValueError(
            f"Unknown scope '{text}'; use user, department, global or rollout."
        ) from None


def check_user_id(text: str) -> str:
    user = text.strip().upper()
    if not _SLACK_USER_ID.match(user):
        raise ValueError(f"'{text}' is not a Slack user id such as U012AB3CD.")
    return user


def render_rollout(flag: Flag[V], rollout: Rollout[V]) -> str:
    return f"{rollout.percent}% {flag.show(rollout.value)}"


# --- evaluation -------------------------------------------------------------------------------


def rollout_bucket(flag: Flag[Any], user: str) -> int:
    digest = hashlib.sha256(f"{flag.name}:{user}".encode()).hexdigest()
    return int(digest, 16) % 100


def _department_key(departments: Mapping[str, object], department: str) -> str | None:
    """Department names are matched ignoring case: `/flags … department it` means IT."""
    wanted = department.strip().casefold()
    if not wanted:
        return None
    return next((key for key in departments if key.casefold() == wanted), None)


def evaluate(state: FlagsState, flag: Flag[V], *, user: str, department: str) -> FlagValue[V]:
    settings = state.settings(flag)
    if user in settings.users:
        return FlagValue(settings.users[user], f"user {user}")
    key = _department_key(settings.departments, department)
    if key is not None:
        return FlagValue(settings.departments[key], f"department {key}")
    if settings.global_value is not None:
        return FlagValue(settings.global_value, "global")
    if settings.rollout is not None:
        bucket = rollout_bucket(flag, user)
        if bucket < settings.rollout.percent:
            return FlagValue(
                settings.rollout.value, f"rollout {settings.rollout.percent}% (bucket {bucket})"
            )
    return FlagValue(flag.default, "default")


def evaluate_all(state: FlagsState, user: str, department: str) -> FlagsEvaluation:
    return FlagsEvaluation.of(
        {
            flag: evaluate(state, flag, user=user, department=department)
            for flag in flag_registry.FLAGS
        }
    )


# --- changes ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class AppliedChange:
    """A checked change: the state after it and what it changed, for the audit trail."""

    state: FlagsState
    flag: Flag[Any]
    cleared: bool
    target: str  # "user UALICE", "department IT", "global" or "rollout"
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
    settings, target, old, new = _apply(state.settings(flag), flag, scope, change)
    return AppliedChange(
        state=state.with_settings(flag, settings),
        flag=flag,
        cleared=change.value is None,
        target=target,
        old=old,
        new=new,
    )


def _apply(
    settings: FlagSettings[V], flag: Flag[V], scope: FlagScope, change: SetFlagInput
) -> tuple[FlagSettings[V], str, str, str]:
    value = None if change.value is None else flag.parse(change.value)
    # Edited as plain data and re-validated by the settings' own (parametrised) class, so the
    # result is a FlagSettings of the flag's type again, never a bare generic.
    data = settings.model_dump()
    if scope is FlagScope.ROLLOUT:
        if change.key:
            raise ValueError("A rollout is a share of all users; it takes no user or department.")
        old_rollout = settings.rollout
        old = UNSET if old_rollout is None else render_rollout(flag, old_rollout)
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
            new = f"{change.percent}% {flag.show(value)}"
        return type(settings).model_validate(data), "rollout", old, new
    if scope is FlagScope.GLOBAL:
        if change.key:
            raise ValueError("A global value takes no user or department.")
        if value is None and settings.global_value is None:
            raise ValueError(f"{flag} has no global value to clear.")
        old = flag.show(settings.global_value)
        data["global_value"] = value
        return type(settings).model_validate(data), "global", old, flag.show(value)
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
    flag: Flag[V],
) -> tuple[FlagSettings[V], str, str, str]:
    current: dict[str, V] = getattr(settings, field)
    entries = dict(current)
    old = flag.show(entries.get(key))
    if value is None:
        if key not in entries:
            raise ValueError(f"{flag} has no value for {target} to clear.")
        del entries[key]
    else:
        entries[key] = value
    data[field] = entries
    return type(settings).model_validate(data), target, old, flag.show(value)


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


def flags_file_model() -> type[BaseModel]:
    """flags.yaml: one optional section per registered flag, keyed by the name people type in
    `/flags`; unknown sections are refused."""
    sections: dict[str, Any] = {
        flag.key: (
            cast(Any, _FileFlag)[flag.values.python_type],
            Field(default=None, alias=flag.name),
        )
        for flag in flag_registry.FLAGS
    }
    model: type[BaseModel] = create_model(
        "FlagsFile", __config__=ConfigDict(extra="forbid"), **sections
    )
    return model


def load_flags_file(path: Path) -> FlagsState:
    """The flags of a fresh installation. Raises ConfigFileError naming the field and reason."""
    sections = load_yaml_model(path, flags_file_model()).value.model_dump(exclude_none=True)
    return FlagsState.model_validate(sections)
