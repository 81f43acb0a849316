"""The flag registry is the one source: a flag added there alone is evaluated, validated, set and
shown by `/flags`, listed in its help and read from flags.yaml; and states and evaluations
stored by earlier code still decode."""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path

import pytest

from bot.slack.flags_command import SetFlag, flags_blocks, flags_usage, parse_flags_command
from domain import flag_registry
from domain.feature_flags import (
    FlagsEntityState,
    FlagsEvaluation,
    FlagsState,
    SetFlagInput,
    apply_change,
    evaluate,
    evaluate_all,
    load_flags_file,
)
from domain.flag_registry import (
    AUTOMATED_REVIEW,
    FLAGS,
    REVIEW_STRICTNESS,
    Flag,
    choice,
)
from domain.review_rules import Strictness


class Tone(StrEnum):
    FORMAL = "formal"
    CASUAL = "casual"


NEW_FLAG: Flag[Tone] = Flag(
    name="message-tone",
    description="how the bot words its messages",
    values=choice(Tone),
    default=Tone.FORMAL,
    rollout_value=Tone.CASUAL,
)

# Exactly what the code before the registry stored and recorded (captured from it): the
# entity's continue-as-new input / snapshot, and an evaluate_flags result in a history.
STORED_ENTITY_STATE = (
    '{"flags":{"automated_review_enabled":{"users":{},"departments":{"IT":false},'
    '"global_value":true,"rollout":null},"review_strictness":{"users":{"UALICE":"strict"},'
    '"departments":{},"global_value":null,"rollout":{"percent":30,"value":"strict"}}},'
    '"changes":[{"at":"2026-11-28T09:00:00Z","actor":"U1","action":"set review-strictness",'
    '"detail":"rollout: (unset) -> 30% strict","code_path":null,"rules_version":""}]}'
)
RECORDED_EVALUATION = (
    '{"automated_review_enabled":false,"review_strictness":"strict","decided_by":'
    '{"automated-review-enabled":"department IT","review-strictness":"user UALICE"}}'
)


@pytest.fixture
def with_new_flag(monkeypatch: pytest.MonkeyPatch) -> Flag[Tone]:
    monkeypatch.setattr(flag_registry, "FLAGS", (*FLAGS, NEW_FLAG))
    return NEW_FLAG


def test_a_stored_entity_state_decodes_and_is_written_back_the_same() -> None:
    stored = FlagsEntityState.model_validate_json(STORED_ENTITY_STATE)
    flags = stored.flags
    assert flags.settings(AUTOMATED_REVIEW).departments == {"IT": False}
    assert flags.settings(REVIEW_STRICTNESS).users == {"UALICE": Strictness.STRICT}
    assert evaluate(flags, REVIEW_STRICTNESS, user="UALICE", department="IT").value == "strict"
    # Written back byte for byte: workers of an older build still read what this code writes.
    assert stored.model_dump_json() == STORED_ENTITY_STATE


def test_a_recorded_evaluation_decodes_and_is_recorded_in_the_same_shape() -> None:
    recorded = FlagsEvaluation.model_validate_json(RECORDED_EVALUATION)
    assert recorded.value(AUTOMATED_REVIEW) is False
    assert recorded.value(REVIEW_STRICTNESS) is Strictness.STRICT
    state = FlagsEntityState.model_validate_json(STORED_ENTITY_STATE).flags
    now = evaluate_all(state, "UALICE", "IT")
    assert now.model_dump(mode="json") == FlagsEvaluation.model_validate_json(
        RECORDED_EVALUATION
    ).model_dump(mode="json")


def test_a_new_flag_is_evaluated_with_its_default_and_then_as_set(
    with_new_flag: Flag[Tone],
) -> None:
    state = FlagsState()
    evaluation = evaluate_all(state, "UALICE", "IT")
    assert evaluation.value(with_new_flag) is Tone.FORMAL
    assert evaluation.decided_by["message-tone"] == "default"
    change = SetFlagInput(flag="message-tone", scope="department", key="IT", value="casual")
    applied = apply_change(state, change.model_copy(update={"actor": "UOPS"}))
    assert (applied.action, applied.detail) == (
        "set message-tone",
        "department IT: (unset) -> casual",
    )
    again = evaluate_all(applied.state, "UALICE", "IT")
    assert again.value(with_new_flag) is Tone.CASUAL
    assert again.decided_by["message-tone"] == "department IT"
    with pytest.raises(ValueError, match="message-tone takes formal/casual, not 'loud'"):
        apply_change(state, SetFlagInput(flag="message-tone", value="loud", actor="UOPS"))


def test_a_state_stored_before_a_flag_existed_decodes_with_it_unset(
    with_new_flag: Flag[Tone],
) -> None:
    stored = FlagsEntityState.model_validate_json(STORED_ENTITY_STATE)
    assert stored.flags.settings(with_new_flag).model_dump() == {
        "users": {},
        "departments": {},
        "global_value": None,
        "rollout": None,
    }
    assert FlagsEvaluation.model_validate_json(RECORDED_EVALUATION).value(with_new_flag) is (
        Tone.FORMAL
    )


def test_an_older_build_keeps_a_flag_it_does_not_know(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(flag_registry, "FLAGS", (*FLAGS, NEW_FLAG))
    newer = apply_change(
        FlagsState(), SetFlagInput(flag="message-tone", value="casual", actor="UOPS")
    ).state.model_dump_json()
    monkeypatch.setattr(flag_registry, "FLAGS", FLAGS)
    assert FlagsState.model_validate_json(newer).model_dump_json() == newer


def test_slash_flags_sets_and_shows_a_new_flag(with_new_flag: Flag[Tone]) -> None:
    parsed = parse_flags_command("message-tone rollout 20")
    assert isinstance(parsed, SetFlag)
    assert (parsed.change.flag, parsed.change.value, parsed.change.percent) == (
        "message-tone",
        "casual",
        20,
    )
    state = apply_change(FlagsState(), parsed.change.model_copy(update={"actor": "UOPS"})).state
    shown = str(flags_blocks(FlagsEntityState(flags=state)))
    assert "*message-tone* (default formal)" in shown and "Rollout: 20% casual" in shown
    usage = flags_usage()
    assert "`message-tone` (formal/casual, default formal): how the bot words" in usage
    assert "on|off|standard|strict|formal|casual" in usage


def test_flags_yaml_reads_a_new_flag(with_new_flag: Flag[Tone], tmp_path: Path) -> None:
    path = tmp_path / "flags.yaml"
    path.write_text(
        "message-tone:\n  users: {ualice: casual}\nreview-strictness:\n  global: strict\n"
    )
    state = load_flags_file(path)
    assert evaluate(state, with_new_flag, user="UALICE", department="IT").value is Tone.CASUAL
    assert evaluate(state, REVIEW_STRICTNESS, user="UBOB", department="IT").value == "strict"


def test_every_registered_flag_has_a_name_people_can_type() -> None:
    names = [flag.name for flag in FLAGS]
    assert len(set(names)) == len(names)
    for flag in FLAGS:
        assert flag.name == flag.name.strip().lower() and " " not in flag.name
        assert flag.parse(flag.show(flag.default)) == flag.default
        assert flag.parse(flag.show(flag.rollout_value)) == flag.rollout_value
