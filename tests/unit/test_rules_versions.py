"""The live rule set's versions: editing one field with the file's schema, diffs, bounded
history, and `/rules` parsing."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from appconfig.files import load_yaml_model
from bot.slack.command_parsing import Unparseable
from bot.slack.rules_command import (
    DiffVersions,
    RevertRules,
    SetRule,
    ShowHistory,
    ShowRules,
    parse_rules_command,
)
from domain.review_rules import RuleOverride, RulesFile
from domain.rules_versions import (
    KEEP_FULL_VERSIONS,
    RuleChange,
    RulesEntityState,
    RulesInvalid,
    department_named,
    diff_rules,
    find_version,
    first_version,
    history,
    known_departments,
    next_version,
    rules_with,
    with_department,
    with_version,
)

SHIPPED = load_yaml_model(Path(__file__).resolve().parents[2] / "rules.yaml", RulesFile).value
AT = datetime(2026, 12, 1, 12, tzinfo=UTC)


def test_setting_one_field_changes_exactly_that_field() -> None:
    changed = rules_with(SHIPPED, "IT", "max_amount", "800")
    assert changed.for_department("IT").max_amount == Decimal(800)
    assert diff_rules(SHIPPED, changed) == [
        RuleChange(path="departments.IT.max_amount", old="1000", new="800")
    ]


def test_nested_list_unset_and_defaults_fields() -> None:
    changed = rules_with(SHIPPED, "Finance", "user_history.min_previous_purchases", "5")
    assert changed.for_department("Finance").user_history.min_previous_purchases == 5
    listed = rules_with(SHIPPED, "IT", "trusted_categories", "books, software")
    assert listed.for_department("IT").trusted_categories == ("books", "software")
    unset = rules_with(SHIPPED, "IT", "max_amount", "default")
    assert unset.for_department("IT").max_amount == SHIPPED.defaults.max_amount
    defaults = rules_with(SHIPPED, "defaults", "max_amount", "450")
    assert defaults.defaults.max_amount == Decimal(450)
    new_department = rules_with(SHIPPED, "Operations", "max_amount", "50")
    assert new_department.for_department("Operations").max_amount == Decimal(50)


@pytest.mark.parametrize(
    ("department", "field", "value", "path", "reason"),
    [
        ("IT", "max_ammount", "5", "departments.IT.max_ammount", "there is no such rule"),
        ("IT", "max_amount", "-5", "departments.IT.max_amount", "greater than 0"),
        ("IT", "max_amount", "100000000", "departments.IT.max_amount", "less than or equal"),
        ("IT", "max_amount", "lots", "departments.IT.max_amount", "valid decimal"),
        (
            "IT",
            "user_history.min_previous_purchases",
            "2.5",
            "departments.IT.user_history.min_previous_purchases",
            "valid integer",
        ),
        (
            "IT",
            "user_history.max_rejected_in_last_30_days",
            "-1",
            "departments.IT.user_history.max_rejected_in_last_30_days",
            "greater than or equal to 0",
        ),
        ("IT", "max_amount.x", "5", "departments.IT.max_amount.x", "holds a value"),
        ("defaults", "currency", "euros", "defaults.currency", "three-letter currency"),
        ("defaults", "max_amount", "default", "defaults.max_amount", "cannot be unset"),
    ],
)
def test_bad_values_are_refused_with_the_field_path_and_reason(
    department: str, field: str, value: str, path: str, reason: str
) -> None:
    with pytest.raises(RulesInvalid) as refused:
        rules_with(SHIPPED, department, field, value)
    assert refused.value.field == path
    assert reason in refused.value.reason


def test_departments_are_the_rules_and_the_directory_ones_matched_case_insensitively() -> None:
    known = known_departments(SHIPPED, ["Operations", "IT"])
    assert known == ["defaults", "Finance", "IT", "Marketing", "Operations"]
    assert department_named("it", known) == "IT"
    with pytest.raises(RulesInvalid, match="`Sales` is not a department; known: defaults"):
        department_named("Sales", known)


def test_put_replaces_one_departments_overrides() -> None:
    changed = with_department(SHIPPED, "IT", RuleOverride(max_amount=Decimal(700)))
    assert changed.departments["IT"] == RuleOverride(max_amount=Decimal(700))
    assert changed.departments["Finance"] == SHIPPED.departments["Finance"]


def test_versions_count_up_refuse_no_change_and_stay_bounded() -> None:
    state = RulesEntityState(versions=[first_version(SHIPPED, author="i", at=AT, reason="seed")])
    with pytest.raises(ValueError, match="nothing changed"):
        next_version(state, SHIPPED, author="U1", at=AT, reason="")
    rules = SHIPPED
    for n in range(KEEP_FULL_VERSIONS + 5):
        rules = rules_with(rules, "IT", "max_amount", str(100 + n))
        state = with_version(state, next_version(state, rules, author="U1", at=AT, reason=""))
    assert len(state.versions) == KEEP_FULL_VERSIONS
    assert state.versions[-1].number == KEEP_FULL_VERSIONS + 6
    assert [v.number for v in history(state).versions][:2] == [106, 105]
    assert len(history(state).versions) == KEEP_FULL_VERSIONS + 6
    with pytest.raises(ValueError, match="older than the 100 versions kept whole"):
        find_version(state, 1)
    with pytest.raises(ValueError, match="There is no v999"):
        find_version(state, 999)
    assert find_version(state, 50).rules.for_department("IT").max_amount == Decimal(
        148
    )  # v2 set 100, v50 set 148


@pytest.mark.parametrize(
    ("typed", "parsed"),
    [
        ("", ShowRules()),
        ("history", ShowHistory()),
        ("set IT max_amount 800 budget cut", SetRule("IT", "max_amount", "800", "budget cut")),
        ("diff v1 3", DiffVersions(1, 3)),
        ("revert v2 too strict", RevertRules(2, "too strict")),
    ],
)
def test_rules_command_parsing(typed: str, parsed: object) -> None:
    assert parse_rules_command(typed) == parsed


@pytest.mark.parametrize("typed", ["set IT max_amount", "diff v1", "revert", "explode", "help"])
def test_unreadable_rules_commands_say_why(typed: str) -> None:
    assert isinstance(parse_rules_command(typed), Unparseable)
