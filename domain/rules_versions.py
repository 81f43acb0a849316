"""The live rule set's versions: what a change is, its diff, and `/rules set`'s edit of one field.

Pure code: the entity (entities/review_rules.py) applies these in its Updates and validators,
the bot and the API use them to preview and explain. Every version is validated with the same
schema as rules.yaml (`RulesFile`), so a refusal names the field path and the reason.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from domain.review_rules import RuleOverride, RuleSet, RulesFile

# Full rule sets kept in the entity's state (and carried through continue-as-new). A rules file
# is a few KB, so this stays far below Temporal's 2 MB payload limit; older versions keep their
# summary (who, when, why, diff) and their full text is in the closed runs' histories.
KEEP_FULL_VERSIONS = 100
KEEP_SUMMARIES = 1000
# `/rules set defaults <field> <value>` edits the defaults every department falls back to.
DEFAULTS = "defaults"
# Fields whose value is a list, written comma-separated in `/rules set`.
LIST_FIELDS = frozenset({"trusted_categories", "vendor_whitelist"})
# Written instead of a value, it removes a department's override (the default applies again).
UNSET_WORDS = frozenset({"default", "unset", "none", "-"})


class RulesInvalid(ValueError):
    """A change refused by the rules file's schema: the field path and the reason."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


class RuleChange(BaseModel):
    """One field that differs between two versions, by its path in the rules file."""

    model_config = ConfigDict(frozen=True)

    path: str
    old: Any = None
    new: Any = None

    def __str__(self) -> str:
        return f"{self.path}: {_shown(self.old)} -> {_shown(self.new)}"


def _shown(value: Any) -> str:
    if value is None:
        return "(unset)"
    if isinstance(value, list):
        return "[" + ", ".join(str(v) for v in value) + "]"
    return str(value)


class RulesVersionSummary(BaseModel):
    number: int = Field(ge=1)
    author: str
    at: datetime
    reason: str
    diff: list[RuleChange] = Field(default_factory=list)
    content_hash: str

    @property
    def label(self) -> str:
        return f"v{self.number}"


class RulesVersion(RulesVersionSummary):
    rules: RulesFile

    def summary(self) -> RulesVersionSummary:
        return RulesVersionSummary.model_validate(self.model_dump(exclude={"rules"}))

    @property
    def reference(self) -> str:
        """What a review records: the version and its content hash (the file's hash before)."""
        return f"{self.label} ({self.content_hash})"


class ShadowCandidate(BaseModel):
    """A candidate rule set running in shadow (domain/rules_shadow.py): every review also
    evaluates it and records its verdict; it decides nothing until promoted."""

    number: int = Field(ge=1, description="c<n>: every candidate put in shadow gets the next")
    rules: RulesFile
    content_hash: str
    author: str
    at: datetime
    reason: str = ""
    based_on: int = Field(
        description="the active version when it was set: promote refuses if "
        "the rules changed since (it would silently undo that change)"
    )
    source: str = Field(default="", description="how it was made, e.g. `v2` or a field change")

    @property
    def label(self) -> str:
        return f"c{self.number}"

    @property
    def reference(self) -> str:
        """What a shadow verdict records, as a review records `v<n> (<hash>)`."""
        return f"{self.label} ({self.content_hash})"


class RulesEntityState(BaseModel):
    """What ReviewRulesWorkflow starts from and carries across continue-as-new."""

    versions: list[RulesVersion] = Field(description="the last full versions, oldest first")
    older: list[RulesVersionSummary] = Field(default_factory=list, description="oldest first")
    shadow: ShadowCandidate | None = None
    shadows_started: int = Field(default=0, description="how many candidates were ever set")


class ChangeRulesInput(BaseModel):
    rules: RulesFile
    author: str
    reason: str = ""
    based_on: int | None = Field(
        default=None,
        description="the version the change was made from: refused if another change landed "
        "since (two people editing at once must not silently undo each other)",
    )


class RevertRulesInput(BaseModel):
    version: int
    author: str
    reason: str = ""


class RulesChangeResult(BaseModel):
    version: RulesVersionSummary


class RulesHistory(BaseModel):
    versions: list[RulesVersionSummary] = Field(description="newest first")


class VersionInput(BaseModel):
    number: int


def content_hash(rules: RulesFile) -> str:
    canonical = json.dumps(rules.model_dump(mode="json"), sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()[:12]


def diff_rules(old: RulesFile, new: RulesFile) -> list[RuleChange]:
    """Every leaf that differs, by dotted path; lists compare whole (a list is one rule)."""
    changes: list[RuleChange] = []
    _diff(old.model_dump(mode="json"), new.model_dump(mode="json"), "", changes)
    return changes


def _diff(old: Any, new: Any, path: str, out: list[RuleChange]) -> None:
    if isinstance(old, dict) and isinstance(new, dict):
        for key in sorted(set(old) | set(new), key=str):
            _diff(old.get(key), new.get(key), f"{path}.{key}" if path else str(key), out)
        return
    if old != new:
        if isinstance(old, dict) or isinstance(new, dict):
            # A whole section appeared or went: list its leaves against nothing.
            _diff(old or {}, new or {}, path, out)
            return
        out.append(RuleChange(path=path, old=old, new=new))


def first_version(rules: RulesFile, *, author: str, at: datetime, reason: str) -> RulesVersion:
    return RulesVersion(
        number=1,
        author=author,
        at=at,
        reason=reason,
        diff=diff_rules(rules, rules),
        content_hash=content_hash(rules),
        rules=rules,
    )


def next_version(
    state: RulesEntityState, rules: RulesFile, *, author: str, at: datetime, reason: str
) -> RulesVersion:
    """The version `rules` would become. Raises ValueError when it changes nothing."""
    current = state.versions[-1]
    diff = diff_rules(current.rules, rules)
    if not diff:
        raise ValueError(f"This is what the rules already are ({current.label}): nothing changed.")
    return RulesVersion(
        number=current.number + 1,
        author=author,
        at=at,
        reason=reason,
        diff=diff,
        content_hash=content_hash(rules),
        rules=rules,
    )


def with_version(state: RulesEntityState, version: RulesVersion) -> RulesEntityState:
    """`state` plus `version`, bounded: the oldest full versions become summaries."""
    versions = [*state.versions, version]
    dropped, kept = versions[:-KEEP_FULL_VERSIONS], versions[-KEEP_FULL_VERSIONS:]
    older = [*state.older, *(v.summary() for v in dropped)][-KEEP_SUMMARIES:]
    # Copied, not rebuilt: whatever else the state holds (the shadow candidate) stays.
    return state.model_copy(update={"versions": kept, "older": older})


def find_version(state: RulesEntityState, number: int) -> RulesVersion:
    for version in state.versions:
        if version.number == number:
            return version
    latest = state.versions[-1].number
    if 1 <= number <= latest:
        oldest = state.versions[0].number
        raise ValueError(
            f"v{number} is older than the {KEEP_FULL_VERSIONS} versions kept whole (v{oldest} "
            f"to v{latest}); its summary is in `/rules history`."
        )
    raise ValueError(f"There is no v{number}: versions go from v1 to v{latest}.")


def history(state: RulesEntityState) -> RulesHistory:
    summaries = [*state.older, *(v.summary() for v in state.versions)]
    return RulesHistory(versions=list(reversed(summaries)))


# --- editing one field (`/rules set <department> <field> <value>`) -------------------------


def rules_with(rules: RulesFile, department: str, field: str, value: str) -> RulesFile:
    """`rules` with one field of `department` (or `defaults`) set to `value`, validated with the
    rules file's schema. Raises ValueError naming the field path and the reason."""
    data = rules.model_dump(mode="json")
    if department == DEFAULTS:
        section: dict[str, Any] = data["defaults"]
        prefix = "defaults"
    else:
        section = data["departments"].setdefault(department, {})
        prefix = f"departments.{department}"
    keys = field.split(".")
    path = f"{prefix}.{field}"
    allowed = _fields(department)
    if not all(keys) or keys[0] not in allowed:
        raise RulesInvalid(
            path, f"there is no such rule; the rules are {', '.join(sorted(allowed))}"
        )
    target = section
    for key in keys[:-1]:
        child = target.get(key)
        if child is None:
            child = target[key] = {}
        if not isinstance(child, dict):
            raise RulesInvalid(path, f"`{key}` holds a value, not fields")
        target = child
    written = value.strip()
    if written.lower() in UNSET_WORDS:
        if department == DEFAULTS:
            raise RulesInvalid(path, "the defaults cannot be unset, only changed")
        target.pop(keys[-1], None)
    elif keys[-1] in LIST_FIELDS:
        target[keys[-1]] = [item.strip() for item in written.split(",") if item.strip()]
    else:
        target[keys[-1]] = written
    return validated(data)


def _fields(department: str) -> set[str]:
    model: type[BaseModel] = RuleSet if department == DEFAULTS else RuleOverride
    return set(model.model_fields)


def with_department(rules: RulesFile, department: str, override: RuleOverride) -> RulesFile:
    """`rules` with `department`'s overrides replaced by `override` (the API's PUT)."""
    data = rules.model_dump(mode="json")
    data["departments"][department] = override.model_dump(mode="json", exclude_none=True)
    return validated(data)


def validated(data: Any) -> RulesFile:
    """A rules file from JSON-like data, or RulesInvalid with the first problem's field path."""
    try:
        return RulesFile.model_validate(data)
    except ValidationError as err:
        first = err.errors(include_url=False)[0]
        path = ".".join(str(p) for p in first["loc"]) or "(rules)"
        raise RulesInvalid(path, str(first["msg"])) from None


def known_departments(rules: RulesFile, directory_departments: Iterable[str]) -> list[str]:
    """Departments a change may name: those with rules, those people belong to, `defaults`."""
    return [DEFAULTS, *sorted(set(rules.departments) | set(directory_departments))]


def department_named(written: str, known: list[str]) -> str:
    """The department as the rules spell it, matched case-insensitively; RulesInvalid if none."""
    for name in known:
        if name.lower() == written.strip().lower():
            return name
    raise RulesInvalid(
        "department", f"`{written[:40]}` is not a department; known: {', '.join(known)}"
    )
