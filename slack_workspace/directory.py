"""The people of the local workspace, read from the company directory.yaml.

Only the fields the workspace needs are modelled, and unknown keys are ignored, so the
directory can grow (or be owned by another package) without breaking the fake Slack.
"""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from slack_workspace.yaml_files import read_yaml


class DirectoryError(Exception):
    """The directory file cannot be used; the message names the file and the problem."""


class Person(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)

    slack_id: str = Field(min_length=1)
    employee_id: str = ""
    name: str = Field(min_length=1)
    department: str = ""
    manager: str = ""

    @property
    def username(self) -> str:
        """Slack's legacy `name`/`user_name`: lower case, no spaces (e.g. "alice.smith")."""
        return ".".join(self.name.lower().split())


class Directory(BaseModel):
    model_config = ConfigDict(extra="ignore")

    people: list[Person] = Field(default_factory=list)


def load_directory(path: Path) -> list[Person]:
    data = read_yaml(path, DirectoryError)
    try:
        directory = Directory.model_validate(data if data is not None else {})
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in err.errors()
        )
        raise DirectoryError(f"{path}: {problems}") from err
    seen: set[str] = set()
    for person in directory.people:
        if person.slack_id in seen:
            raise DirectoryError(f"{path}: slack_id {person.slack_id} appears twice")
        seen.add(person.slack_id)
    return directory.people
