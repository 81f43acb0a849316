"""What `/rollout <text>` is understood to ask for."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slack.command_parsing import Unparseable
from bot.slack.rollout_command import (
    ROLLOUT_USAGE,
    SUBCOMMANDS,
    PlanControl,
    Promote,
    Ramp,
    Rollback,
    ShowRollout,
    StartPlan,
    TargetDepartment,
    parse_rollback_command,
    parse_rollout_command,
)


def test_status_is_the_default() -> None:
    assert parse_rollout_command("") == ShowRollout()
    assert parse_rollout_command("status") == ShowRollout()


def test_ramp_promote_and_plan_control() -> None:
    assert parse_rollout_command("v2 30") == Ramp("v2", 30.0)
    assert parse_rollout_command("v2 30%") == Ramp("v2", 30.0)
    assert parse_rollout_command("promote v2") == Promote("v2")
    assert parse_rollout_command("pause") == PlanControl("pause")
    assert parse_rollout_command("abort") == PlanControl("abort")


def test_plan_with_interval_units() -> None:
    assert parse_rollout_command("plan v2 10,25,50,100 every 10m") == StartPlan(
        "v2", [10.0, 25.0, 50.0, 100.0], 600.0
    )
    assert parse_rollout_command("plan v2 50,100 every 30s").interval_seconds == 30.0  # type: ignore[union-attr]
    assert parse_rollout_command("plan v2 100 every 1h").interval_seconds == 3600.0  # type: ignore[union-attr]


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("v2 130", "not a percentage"),
        ("v2 lots", "not a percentage"),
        ("promote", "which build"),
        ("plan v2 10,5 every 1m", "go up and end at 100"),
        ("plan v2 10,50 every 1m", "go up and end at 100"),
        ("plan v2 0,100 every 1m", "above 0"),
        ("plan v2 10,100 every soon", "interval"),
        ("plan v2 10,100", "Write the plan like"),
        ("one two three", "not a /rollout command"),
    ],
)
def test_bad_commands_say_what_is_wrong(text: str, problem: str) -> None:
    parsed = parse_rollout_command(text)
    assert isinstance(parsed, Unparseable) and problem in parsed.problem


@given(st.text())
def test_any_text_gives_a_command_never_an_exception(text: str) -> None:
    parse_rollout_command(text)


def test_override_sends_traffic_to_a_rolled_back_build_only_when_said() -> None:
    assert parse_rollout_command("B 10 override") == Ramp("B", 10, override=True)
    assert parse_rollout_command("B 10") == Ramp("B", 10)
    assert parse_rollout_command("promote B override") == Promote("B", override=True)
    plan = parse_rollout_command("plan B 50,100 every 1m override")
    assert plan == StartPlan("B", [50, 100], 60, override=True)
    assert isinstance(parse_rollout_command("pause override"), Unparseable)


def test_department_rollout_and_rollback_targets() -> None:
    assert parse_rollout_command("v2 department IT") == TargetDepartment("v2", "IT")
    assert parse_rollout_command("v2 department Finance Ops override") == TargetDepartment(
        "v2", "Finance Ops", override=True
    )
    parsed = parse_rollout_command("v2 department")
    assert isinstance(parsed, Unparseable) and "which department" in parsed.problem
    assert parse_rollback_command("") == Rollback()
    assert parse_rollback_command("p99 is bad") == Rollback("p99 is bad")
    assert parse_rollback_command("to v1 p99 is bad") == Rollback("p99 is bad", "v1")
    assert parse_rollback_command("to v1 override") == Rollback("", "v1", override=True)
    parsed_back = parse_rollback_command("to")
    assert isinstance(parsed_back, Unparseable) and "which build" in parsed_back.problem


def test_every_subcommand_is_one_entry_and_a_usage_line() -> None:
    for word in SUBCOMMANDS:
        assert f"/rollout {word}" in ROLLOUT_USAGE
    assert parse_rollout_command("pause now") == Unparseable(
        "`/rollout pause` takes nothing after it."
    )
