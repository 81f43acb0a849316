"""The company directory (`directory.yaml`): who may ask for purchases, who approves them,
and who operates the bot.

Load it with `appconfig.files.load_yaml_model(path, Directory)`; a broken reference (a manager
or ops user who is not in the file) is refused when the file is loaded rather than when a
request gets stuck waiting for an approver who does not exist.
"""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationInfo, field_validator

# Slack user ids: U... for ordinary workspaces, W... for Enterprise Grid.
_SLACK_ID = re.compile(r"[UW][A-Z0-9]+")


def is_slack_id(value: str) -> bool:
    return _SLACK_ID.fullmatch(value) is not None


def _slack_id(value: str) -> str:
    if not _SLACK_ID.fullmatch(value):
        raise ValueError(
            f"'{value}' is not a Slack user id (upper case, starting with U or W, like U024BE7LH)"
        )
    return value


def _not_blank(value: str) -> str:
    text = value.strip()
    if not text:
        raise ValueError("must not be blank")
    return text


class Person(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    slack_id: str
    employee_id: str
    name: str
    department: str
    manager: str  # Slack id of the person who approves this person's purchases

    @field_validator("slack_id", "manager")
    @classmethod
    def _ids(cls, value: str) -> str:
        return _slack_id(value)

    @field_validator("employee_id", "name", "department")
    @classmethod
    def _text(cls, value: str) -> str:
        return _not_blank(value)


class Directory(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    people: tuple[Person, ...]
    ops_users: tuple[str, ...] = ()
    # May see the money views (the dashboard in the App Home and on the web), like ops.
    finance_users: tuple[str, ...] = ()
    # Department -> its head, who may give the second approval of large purchases (as may
    # finance_users); see `second_approval_above` in rules.yaml.
    department_heads: dict[str, str] = Field(default_factory=dict)

    _by_slack_id: dict[str, Person] = PrivateAttr(default_factory=dict)

    @field_validator("people")
    @classmethod
    def _consistent(cls, people: tuple[Person, ...]) -> tuple[Person, ...]:
        problems: list[str] = []
        for field in ("slack_id", "employee_id"):
            seen: set[str] = set()
            for person in people:
                value = getattr(person, field)
                if value in seen:
                    problems.append(f"{field} {value} is used by more than one person")
                seen.add(value)
        ids = {p.slack_id for p in people}
        for index, person in enumerate(people):
            if person.manager == person.slack_id:
                problems.append(
                    f"{person.slack_id} ({person.name}, entry {index}) is their own manager; "
                    "nobody may approve their own purchases"
                )
            elif person.manager not in ids:
                problems.append(
                    f"the manager of {person.slack_id} ({person.name}, entry {index}) is "
                    f"{person.manager}, who is not in people"
                )
        if problems:
            raise ValueError("; ".join(problems))
        return people

    @field_validator("ops_users", "finance_users")
    @classmethod
    def _listed_are_people(cls, listed: tuple[str, ...], info: ValidationInfo) -> tuple[str, ...]:
        people: tuple[Person, ...] | None = info.data.get("people")
        if people is None:
            return listed  # people is invalid and already reported; nothing to check against
        ids = {p.slack_id for p in people}
        unknown = [o for o in listed if o not in ids]
        if unknown:
            raise ValueError(f"{', '.join(unknown)} listed in {info.field_name} but not in people")
        return listed

    @field_validator("department_heads")
    @classmethod
    def _heads_are_people(cls, heads: dict[str, str], info: ValidationInfo) -> dict[str, str]:
        people: tuple[Person, ...] | None = info.data.get("people")
        if people is None:
            return heads
        ids = {p.slack_id for p in people}
        unknown = [f"{dept}: {head}" for dept, head in heads.items() if head not in ids]
        if unknown:
            raise ValueError(f"{', '.join(unknown)} in department_heads but not in people")
        return heads

    def second_approvers(self, department: str) -> list[str]:
        """Who may give a large purchase's second approval: the head, then finance."""
        head = self.department_heads.get(department)
        return list(dict.fromkeys([*([head] if head else []), *self.finance_users]))

    def model_post_init(self, context: Any, /) -> None:
        self._by_slack_id = {p.slack_id: p for p in self.people}

    def person(self, slack_id: str) -> Person | None:
        return self._by_slack_id.get(slack_id)

    def manager_of(self, slack_id: str) -> str | None:
        person = self._by_slack_id.get(slack_id)
        return person.manager if person is not None else None

    def is_ops(self, slack_id: str) -> bool:
        return slack_id in self.ops_users

    @property
    def departments(self) -> set[str]:
        return {person.department for person in self.people}

    def is_finance(self, slack_id: str) -> bool:
        return slack_id in self.finance_users

    def reports_of(self, slack_id: str) -> list[Person]:
        """Everyone below `slack_id` in the management chain (direct reports, theirs, ...):
        the people whose requests can wait for this person, escalations included."""
        found: dict[str, Person] = {}
        frontier = [slack_id]
        while frontier:
            boss = frontier.pop()
            for person in self.people:
                # The chain may loop at the top (two people managing each other).
                if person.manager == boss and person.slack_id not in found:
                    found[person.slack_id] = person
                    frontier.append(person.slack_id)
        found.pop(slack_id, None)
        return list(found.values())
