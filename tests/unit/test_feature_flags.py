"""Feature flags: precedence user > department > global > rollout > default, clearing, sticky
percentage rollouts, refused changes, and the initial flags file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from appconfig.files import ConfigFileError
from domain.feature_flags import (
    FlagsState,
    SetFlagInput,
    apply_change,
    evaluate,
    evaluate_all,
    load_flags_file,
    rollout_bucket,
)
from domain.flag_registry import AUTOMATED_REVIEW, REVIEW_STRICTNESS, Flag
from domain.review_rules import Strictness

REPO = Path(__file__).resolve().parents[2]
AUTO = AUTOMATED_REVIEW
STRICTNESS = REVIEW_STRICTNESS
A, S = AUTO.name, STRICTNESS.name  # as typed in /flags
user_ids = st.from_regex(r"U[A-Z0-9]{8}", fullmatch=True)


def change(
    state: FlagsState,
    flag: Flag[Any],
    scope: str,
    value: str | None,
    key: str = "",
    percent: int | None = None,
) -> FlagsState:
    return apply_change(
        state,
        SetFlagInput(
            flag=flag.name, scope=scope, key=key, value=value, percent=percent, actor="UOPS"
        ),
    ).state


def all_levels() -> FlagsState:
    """Review on globally, off for IT, on again for one IT user; strictness likewise."""
    state = FlagsState()
    state = change(state, AUTO, "rollout", "off", percent=100)
    state = change(state, AUTO, "global", "on")
    state = change(state, AUTO, "department", "off", key="IT")
    state = change(state, AUTO, "user", "on", key="UALICE")
    state = change(state, STRICTNESS, "rollout", "standard", percent=100)
    state = change(state, STRICTNESS, "global", "strict")
    state = change(state, STRICTNESS, "department", "standard", key="IT")
    return change(state, STRICTNESS, "user", "strict", key="UALICE")


def test_nothing_set_gives_the_defaults() -> None:
    result = evaluate_all(FlagsState(), "UALICE", "IT")
    assert result.value(AUTO) is False
    assert result.value(STRICTNESS) == "standard"
    assert result.decided_by == {AUTO.name: "default", STRICTNESS.name: "default"}


def test_each_level_beats_the_ones_below_it() -> None:
    state = all_levels()
    alice = evaluate(state, AUTO, user="UALICE", department="IT")
    nico = evaluate(state, AUTO, user="UNICO", department="IT")
    bob = evaluate(state, AUTO, user="UBOB", department="Marketing")
    assert (alice.value, alice.decided_by) == (True, "user UALICE")
    assert (nico.value, nico.decided_by) == (False, "department IT")
    assert (bob.value, bob.decided_by) == (True, "global")
    strict = evaluate_all(state, "UALICE", "IT")
    assert (strict.value(STRICTNESS), strict.decided_by[STRICTNESS.name]) == (
        "strict",
        "user UALICE",
    )
    assert evaluate_all(state, "UNICO", "IT").value(STRICTNESS) == "standard"
    assert evaluate_all(state, "UBOB", "Marketing").value(STRICTNESS) == "strict"


def test_clearing_a_level_hands_the_decision_to_the_next_one() -> None:
    state = all_levels()
    state = change(state, AUTO, "user", None, key="UALICE")
    assert evaluate(state, AUTO, user="UALICE", department="IT").decided_by == "department IT"
    state = change(state, AUTO, "department", None, key="IT")
    assert evaluate(state, AUTO, user="UALICE", department="IT").decided_by == "global"
    state = change(state, AUTO, "global", None)
    decided = evaluate(state, AUTO, user="UALICE", department="IT")
    assert decided.value is False and decided.decided_by.startswith("rollout 100% (bucket ")
    state = change(state, AUTO, "rollout", None)
    assert evaluate(state, AUTO, user="UALICE", department="IT").decided_by == "default"
    assert state.settings(AUTO).model_dump() == {
        "users": {},
        "departments": {},
        "global_value": None,
        "rollout": None,
    }


def test_departments_match_whatever_the_case_and_keep_one_spelling() -> None:
    state = change(FlagsState(), STRICTNESS, "department", "strict", key="IT")
    state = change(state, STRICTNESS, "department", "standard", key="it")
    assert state.settings(STRICTNESS).departments == {"IT": Strictness.STANDARD}
    assert evaluate(state, STRICTNESS, user="U1", department="iT").decided_by == "department IT"


def test_a_rollout_decides_only_for_the_users_in_it() -> None:
    state = change(FlagsState(), AUTO, "rollout", "on", percent=30)
    for n in range(200):
        user = f"U{n:08d}"
        bucket = rollout_bucket(AUTO, user)
        decided = evaluate(state, AUTO, user=user, department="IT")
        if bucket < 30:
            assert decided.value is True
            assert decided.decided_by == f"rollout 30% (bucket {bucket})"
        else:
            assert (decided.value, decided.decided_by) == (False, "default")


@given(user_ids, st.integers(0, 100))
def test_the_same_user_always_gets_the_same_answer(user: str, percent: int) -> None:
    state = change(FlagsState(), AUTO, "rollout", "on", percent=percent)
    first = evaluate(state, AUTO, user=user, department="IT")
    # Whatever else changes around them (other people's values, another department, a trip
    # through Temporal's JSON), a user in the rollout stays in it and one outside stays out.
    busier = change(state, AUTO, "user", "off", key="UOTHER1")
    busier = change(busier, AUTO, "department", "off", key="Finance")
    decoded = FlagsState.model_validate_json(busier.model_dump_json())
    again = evaluate(decoded, AUTO, user=user, department="Marketing")
    assert again == first


def test_buckets_are_stable_across_processes() -> None:
    # Pinned values: if these move, every rollout reshuffles its users on the next deploy.
    assert rollout_bucket(AUTO, "UALICE") == 29
    assert rollout_bucket(STRICTNESS, "UALICE") == 64


@given(user_ids, st.integers(0, 100), st.integers(0, 100))
def test_raising_the_percent_only_adds_users(user: str, low: int, high: int) -> None:
    low, high = min(low, high), max(low, high)
    at_low = evaluate(
        change(FlagsState(), AUTO, "rollout", "on", percent=low), AUTO, user=user, department="X"
    )
    at_high = evaluate(
        change(FlagsState(), AUTO, "rollout", "on", percent=high), AUTO, user=user, department="X"
    )
    if at_low.value:
        assert at_high.value


def test_thirty_percent_of_two_thousand_users_is_about_thirty_percent() -> None:
    state = change(FlagsState(), STRICTNESS, "rollout", "strict", percent=30)
    strict = sum(
        evaluate_all(state, f"U{n:07d}", "IT").value(STRICTNESS) == "strict" for n in range(2000)
    )
    assert 500 <= strict <= 700


def test_zero_and_hundred_percent_are_nobody_and_everybody() -> None:
    users = [f"U{n:05d}" for n in range(300)]
    nobody = change(FlagsState(), AUTO, "rollout", "on", percent=0)
    everybody = change(FlagsState(), AUTO, "rollout", "on", percent=100)
    assert not any(evaluate(nobody, AUTO, user=u, department="IT").value for u in users)
    assert all(evaluate(everybody, AUTO, user=u, department="IT").value for u in users)


def test_a_global_value_beats_a_rollout() -> None:
    state = change(FlagsState(), AUTO, "rollout", "on", percent=100)
    state = change(state, AUTO, "global", "off")
    assert evaluate(state, AUTO, user="UALICE", department="IT").decided_by == "global"


@pytest.mark.parametrize(
    ("flag", "text", "value"),
    [
        (AUTO, "on", True),
        (AUTO, "TRUE", True),
        (AUTO, "off", False),
        (AUTO, "false", False),
        (STRICTNESS, "Strict", Strictness.STRICT),
        (STRICTNESS, "standard", Strictness.STANDARD),
    ],
)
def test_values_people_type(flag: Flag[Any], text: str, value: bool | Strictness) -> None:
    assert flag.parse(text) == value


def test_bad_values_say_what_is_accepted() -> None:
    with pytest.raises(ValueError, match="review-strictness takes standard/strict"):
        STRICTNESS.parse("lenient")
    with pytest.raises(ValueError, match="automated-review-enabled takes on/off/true/false"):
        AUTO.parse("yes please")


@pytest.mark.parametrize(
    ("change_", "reason"),
    [
        (SetFlagInput(flag="auto-review", value="on", actor="U1"), "Unknown flag 'auto-review'"),
        (SetFlagInput(flag=A, value="maybe", actor="U1"), "takes on/off/true/false"),
        (SetFlagInput(flag=S, value="lax", actor="U1"), "takes standard/strict"),
        (
            SetFlagInput(flag=A, scope="team", value="on", actor="U1"),
            "Unknown scope 'team'",
        ),
        (SetFlagInput(flag=A, scope="user", value="on", actor="U1"), "Say which user"),
        (
            SetFlagInput(flag=A, scope="user", key="alice", value="on", actor="U1"),
            "not a Slack user id",
        ),
        (
            SetFlagInput(flag=A, scope="department", value="on", actor="U1"),
            "which department",
        ),
        (SetFlagInput(flag=A, key="IT", value="on", actor="U1"), "global value takes no"),
        (
            SetFlagInput(flag=A, value="on", percent=5, actor="U1"),
            "only goes with a rollout",
        ),
        (SetFlagInput(flag=A, scope="rollout", value="on", actor="U1"), "needs a percent"),
        (
            SetFlagInput(flag=A, scope="rollout", value="on", percent=101, actor="U1"),
            "from 0 to 100, not 101",
        ),
        (
            SetFlagInput(flag=A, scope="rollout", value="on", percent=-1, actor="U1"),
            "from 0 to 100, not -1",
        ),
        (SetFlagInput(flag=A, value=None, actor="U1"), "no global value to clear"),
        (SetFlagInput(flag=A, scope="rollout", actor="U1"), "no rollout to clear"),
        (
            SetFlagInput(flag=A, scope="user", key="UBOB", actor="U1"),
            "no value for user UBOB to clear",
        ),
        (SetFlagInput(flag=A, value="on", actor=" "), "actor is empty"),
    ],
)
def test_refused_changes_give_a_reason(change_: SetFlagInput, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        apply_change(FlagsState(), change_)


def test_a_change_describes_old_and_new_and_leaves_the_input_state_alone() -> None:
    before = change(FlagsState(), STRICTNESS, "user", "standard", key="ualice")
    applied = apply_change(
        before,
        SetFlagInput(flag=S, scope="user", key="UALICE", value="strict", actor="UOPS"),
    )
    assert (applied.action, applied.detail) == (
        "set review-strictness",
        "user UALICE: standard -> strict",
    )
    assert before.settings(STRICTNESS).users == {"UALICE": Strictness.STANDARD}
    rollout = apply_change(
        FlagsState(),
        SetFlagInput(flag=A, scope="rollout", value="on", percent=30, actor="UOPS"),
    )
    assert rollout.detail == "rollout: (unset) -> 30% on"
    cleared = apply_change(rollout.state, SetFlagInput(flag=A, scope="rollout", actor="UOPS"))
    assert (cleared.action, cleared.detail) == (
        "clear automated-review-enabled",
        "rollout: 30% on -> (unset)",
    )


def test_the_state_survives_the_trip_through_temporal_json() -> None:
    state = all_levels()
    decoded = FlagsState.model_validate_json(state.model_dump_json())
    assert decoded == state
    assert evaluate_all(decoded, "UALICE", "IT") == evaluate_all(state, "UALICE", "IT")


def test_the_shipped_flags_file_turns_the_review_on_for_everybody() -> None:
    state = load_flags_file(REPO / "flags.yaml")
    result = evaluate_all(state, "UANYONE", "Marketing")
    assert result.value(AUTO) is True
    assert result.value(STRICTNESS) == "standard"
    assert result.decided_by == {AUTO.name: "global", STRICTNESS.name: "global"}


def test_a_flags_file_with_every_level(tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text(
        "automated-review-enabled:\n"
        "  rollout: {percent: 25, value: on}\n"
        "  departments: {Finance: off}\n"
        "  users: {ufiona: on}\n"
        "review-strictness:\n"
        "  global: strict\n"
    )
    state = load_flags_file(path)
    assert evaluate(state, AUTO, user="UFIONA", department="Finance").decided_by == "user UFIONA"
    assert evaluate(state, AUTO, user="UGEORGE", department="Finance").value is False
    rollout = state.settings(AUTO).rollout
    assert rollout is not None and rollout.percent == 25
    assert evaluate_all(state, "UX", "IT").value(STRICTNESS) == "strict"


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("automated-review:\n  global: on\n", "automated-review"),
        ("review-strictness:\n  global: lenient\n", "review-strictness.global"),
        ("automated-review-enabled:\n  globl: on\n", "automated-review-enabled.globl"),
        ("automated-review-enabled:\n  rollout: {percent: 130, value: on}\n", "percent"),
        ("automated-review-enabled:\n  users: {alice: on}\n", "not a Slack user id"),
    ],
)
def test_a_broken_flags_file_is_refused_with_the_field(
    tmp_path: Path, text: str, problem: str
) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text(text)
    with pytest.raises(ConfigFileError, match=problem):
        load_flags_file(path)
