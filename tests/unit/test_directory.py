from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from appconfig.files import ConfigFileError, load_yaml_model
from domain.directory import Directory, Person

REPO = Path(__file__).resolve().parents[2]


def _person(slack_id: str, manager: str, **overrides: str) -> dict[str, Any]:
    base = {
        "slack_id": slack_id,
        "employee_id": f"E-{slack_id}",
        "name": f"Name of {slack_id}",
        "department": "IT",
        "manager": manager,
    }
    base.update(overrides)
    return base


def _directory(people: list[dict[str, Any]], ops: list[str] | None = None) -> Directory:
    data: dict[str, Any] = {"people": people}
    if ops is not None:
        data["ops_users"] = ops
    return Directory.model_validate(data)


def _problem(people: list[dict[str, Any]], ops: list[str] | None = None) -> tuple[Any, str]:
    with pytest.raises(ValidationError) as caught:
        _directory(people, ops)
    (error,) = caught.value.errors()
    return error["loc"], error["msg"]


PAIR = [_person("UA", "UB"), _person("UB", "UA")]


def test_lookup_and_ops() -> None:
    directory = _directory(PAIR, ops=["UB"])
    person = directory.person("UA")
    assert person is not None
    assert person.manager == "UB"
    assert directory.person("UNOBODY") is None
    assert directory.is_ops("UB")
    assert not directory.is_ops("UA")
    assert not directory.is_ops("UNOBODY")


def test_ops_users_default_to_none() -> None:
    assert not _directory(PAIR).is_ops("UA")


def test_text_fields_are_stripped() -> None:
    person = Person.model_validate(_person("UA", "UB", name="  Ana  "))
    assert person.name == "Ana"


def test_enterprise_grid_ids_are_accepted() -> None:
    directory = _directory([_person("W012A3CDE", "UB"), _person("UB", "W012A3CDE")])
    assert directory.person("W012A3CDE") is not None


@pytest.mark.parametrize(
    ("overrides", "field", "fragment"),
    [
        ({"slack_id": "ualice"}, "slack_id", "is not a Slack user id"),
        ({"slack_id": "XALICE"}, "slack_id", "is not a Slack user id"),
        ({"manager": "@carlos"}, "manager", "is not a Slack user id"),
        ({"name": "  "}, "name", "must not be blank"),
        ({"department": ""}, "department", "must not be blank"),
        ({"employee_id": " "}, "employee_id", "must not be blank"),
        ({"email": "a@example.com"}, "email", "Extra inputs"),
    ],
)
def test_person_refusals(overrides: dict[str, str], field: str, fragment: str) -> None:
    with pytest.raises(ValidationError) as caught:
        Person.model_validate({**_person("UA", "UB"), **overrides})
    (error,) = caught.value.errors()
    assert error["loc"] == (field,)
    assert fragment in error["msg"]


def test_manager_must_be_in_the_file() -> None:
    loc, msg = _problem([_person("UA", "UB"), _person("UB", "UZED")])
    assert loc == ("people",)
    assert "the manager of UB (Name of UB, entry 1) is UZED, who is not in people" in msg


def test_nobody_is_their_own_manager() -> None:
    loc, msg = _problem([_person("UA", "UA")])
    assert loc == ("people",)
    assert "UA (Name of UA, entry 0) is their own manager" in msg


def test_slack_ids_are_unique() -> None:
    _, msg = _problem([*PAIR, _person("UA", "UB", employee_id="E-other")])
    assert "slack_id UA is used by more than one person" in msg


def test_employee_ids_are_unique() -> None:
    _, msg = _problem(
        [_person("UA", "UB", employee_id="E1"), _person("UB", "UA", employee_id="E1")]
    )
    assert "employee_id E1 is used by more than one person" in msg


def test_all_problems_are_reported_together() -> None:
    _, msg = _problem([_person("UA", "UA"), _person("UB", "UZ")])
    assert "own manager" in msg
    assert "UZ, who is not in people" in msg


def test_ops_users_must_be_people() -> None:
    loc, msg = _problem(PAIR, ops=["UA", "UGHOST"])
    assert loc == ("ops_users",)
    assert "UGHOST listed in ops_users but not in people" in msg


def test_ops_users_are_not_rechecked_when_people_is_invalid() -> None:
    with pytest.raises(ValidationError) as caught:
        _directory([_person("UA", "UA")], ops=["UGHOST"])
    assert [e["loc"] for e in caught.value.errors()] == [("people",)]


# --- files ------------------------------------------------------------------------------------


def test_shipped_directory_loads() -> None:
    directory = load_yaml_model(REPO / "directory.yaml", Directory).value
    rows = {(p.slack_id, p.name, p.employee_id, p.department, p.manager) for p in directory.people}
    assert rows == {
        ("UALICE", "Alice Martín", "E1001", "IT", "UCARLOS"),
        ("UBOB", "Bob Smith", "E1002", "Marketing", "UDIANA"),
        ("UFIONA", "Fiona García", "E1003", "Finance", "UGEORGE"),
        ("UNICO", "Nico Navarro", "E1004", "IT", "UCARLOS"),
        ("UCARLOS", "Carlos Ruiz", "E2001", "IT", "UHELEN"),
        ("UDIANA", "Diana López", "E2002", "Marketing", "UHELEN"),
        ("UGEORGE", "George Brown", "E2003", "Finance", "UHELEN"),
        ("UHELEN", "Helen Park", "E3001", "Operations", "UOLIVIA"),
        ("UOLIVIA", "Olivia Stone", "E4001", "Operations", "UHELEN"),
    }
    assert directory.ops_users == ("UOLIVIA", "UHELEN")


def test_invalid_directory_file_names_the_field_path(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    path.write_text(
        "people:\n"
        "  - {slack_id: UA, employee_id: E1, name: Ann, department: IT, manager: UB}\n"
        "  - {slack_id: UB, employee_id: E2, name: Ben, department: IT}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigFileError) as caught:
        load_yaml_model(path, Directory)
    assert caught.value.problems == ["people.1.manager: Field required"]


def test_unknown_manager_in_file_is_reported(tmp_path: Path) -> None:
    path = tmp_path / "directory.yaml"
    path.write_text(
        "people:\n  - {slack_id: UA, employee_id: E1, name: Ann, department: IT, manager: UNOPE}\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigFileError) as caught:
        load_yaml_model(path, Directory)
    (problem,) = caught.value.problems
    assert problem.startswith("people: ")
    assert "UNOPE" in problem


def test_reports_of_walks_down_the_chain_and_survives_a_loop_at_the_top() -> None:
    directory = _directory(
        [
            _person("UA", "UC"),
            _person("UB", "UC"),
            _person("UC", "UH"),
            _person("UD", "UH"),
            _person("UH", "UO"),
            _person("UO", "UH"),  # two people managing each other
        ]
    )
    assert {p.slack_id for p in directory.reports_of("UC")} == {"UA", "UB"}
    assert {p.slack_id for p in directory.reports_of("UH")} == {"UA", "UB", "UC", "UD", "UO"}
    assert {p.slack_id for p in directory.reports_of("UO")} == {"UA", "UB", "UC", "UD", "UH"}
    assert directory.reports_of("UA") == []


def test_finance_users_must_be_people() -> None:
    with pytest.raises(ValidationError) as caught:
        Directory.model_validate(
            {"people": [_person("UA", "UB"), _person("UB", "UA")], "finance_users": ["UGHOST"]}
        )
    (error,) = caught.value.errors()
    assert error["loc"] == ("finance_users",)
    assert "UGHOST listed in finance_users but not in people" in error["msg"]


def test_the_shipped_directory_names_finance_users() -> None:
    directory = load_yaml_model(REPO / "directory.yaml", Directory).value
    assert directory.finance_users == ("UFIONA", "UGEORGE")
    assert directory.is_finance("UFIONA") and not directory.is_finance("UOLIVIA")
