"""What `/flags <text>` is understood to ask for, and the flags shown as Block Kit data."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.slack.command_parsing import Unparseable
from bot.slack.flags_command import (
    MAX_LISTED,
    SetFlag,
    ShowFlags,
    flags_blocks,
    flags_usage,
    parse_flags_command,
)
from domain.feature_flags import (
    FlagsEntityState,
    FlagsState,
    SetFlagInput,
    apply_change,
)
from domain.flag_registry import AUTOMATED_REVIEW, REVIEW_STRICTNESS
from domain.models import AuditEntry

AUTO_FLAG, STRICTNESS_FLAG = AUTOMATED_REVIEW, REVIEW_STRICTNESS
AUTO, STRICTNESS = AUTO_FLAG.name, STRICTNESS_FLAG.name


def setting(
    flag: str, value: str | None, scope: str = "global", key: str = "", percent: int | None = None
) -> SetFlag:
    return SetFlag(SetFlagInput(flag=flag, scope=scope, key=key, value=value, percent=percent))


@pytest.mark.parametrize("text", ["", "   ", "show", "LIST"])
def test_no_arguments_shows_the_flags(text: str) -> None:
    assert parse_flags_command(text) == ShowFlags()


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"{AUTO} on", setting(AUTO, "on")),
        (f"{AUTO} TRUE global", setting(AUTO, "on")),
        (f"{AUTO.upper()} false", setting(AUTO, "off")),
        (f"{STRICTNESS} Strict", setting(STRICTNESS, "strict")),
        (f"{AUTO} off user <@UALICE|alice>", setting(AUTO, "off", "user", "UALICE")),
        (f"{AUTO} off user <@UALICE>", setting(AUTO, "off", "user", "UALICE")),
        (f"{AUTO} off user <@UALICE|Alice Martín>", setting(AUTO, "off", "user", "UALICE")),
        (f"{AUTO} off <@UALICE|alice>", setting(AUTO, "off", "user", "UALICE")),
        (f"{AUTO} on user ualice", setting(AUTO, "on", "user", "UALICE")),
        (f"{STRICTNESS} strict department IT", setting(STRICTNESS, "strict", "department", "IT")),
        (
            f"{STRICTNESS} strict department Research &amp; Development",
            setting(STRICTNESS, "strict", "department", "Research & Development"),
        ),
        (f"{AUTO} clear user <@UBOB|bob>", setting(AUTO, None, "user", "UBOB")),
        (f"{AUTO} clear department Finance", setting(AUTO, None, "department", "Finance")),
        (f"{AUTO} clear global", setting(AUTO, None)),
        (f"{AUTO} clear rollout", setting(AUTO, None, "rollout")),
        (f"{AUTO} rollout 30", setting(AUTO, "on", "rollout", percent=30)),
        (f"{AUTO} rollout 30% off", setting(AUTO, "off", "rollout", percent=30)),
        (f"{STRICTNESS} rollout 10", setting(STRICTNESS, "strict", "rollout", percent=10)),
        (f"{STRICTNESS} rollout 0 standard", setting(STRICTNESS, "standard", "rollout", percent=0)),
        (f"{AUTO} rollout 100", setting(AUTO, "on", "rollout", percent=100)),
    ],
)
def test_changes_are_understood(text: str, expected: SetFlag) -> None:
    parsed = parse_flags_command(text)
    assert parsed == expected
    assert isinstance(parsed, SetFlag) and parsed.change.actor == ""


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("help", "how `/flags` works"),
        ("auto on", "Unknown flag 'auto'"),
        (AUTO, "Say what to do"),
        (f"{AUTO} maybe", "takes on/off/true/false"),
        (f"{STRICTNESS} on", "takes standard/strict"),
        (f"{AUTO} on user", "Say which user"),
        (f"{AUTO} on user alice", "not a Slack user id"),
        (f"{AUTO} on user @alice", "not a Slack mention"),
        (f"{AUTO} on department", "Say which department"),
        (f"{AUTO} on team IT", "not a target"),
        (f"{AUTO} on global now", "takes nothing after it"),
        (f"{AUTO} on rollout", "rollout <percent>"),
        (f"{AUTO} clear", "Say what to clear"),
        (f"{AUTO} rollout", "rollout <percent>"),
        (f"{AUTO} rollout 101", "from 0 to 100, not `101`"),
        (f"{AUTO} rollout -5", "from 0 to 100"),
        (f"{AUTO} rollout half", "from 0 to 100"),
        (f"{AUTO} rollout 30 strict", "takes on/off/true/false"),
        (f"{AUTO} rollout 30 on now", "rollout <percent>"),
    ],
)
def test_mistakes_say_what_is_wrong(text: str, problem: str) -> None:
    parsed = parse_flags_command(text)
    assert isinstance(parsed, Unparseable)
    assert problem in parsed.problem


@given(st.text())
def test_any_text_gives_a_command_never_an_exception(text: str) -> None:
    assert isinstance(parse_flags_command(text), ShowFlags | SetFlag | Unparseable)


def test_every_parsed_change_is_one_the_entity_accepts() -> None:
    # The parser and the entity's validator must agree, or people get refusals for commands
    # the help text promises.
    state = FlagsState()
    for text in [
        f"{AUTO} on",
        f"{AUTO} off user <@UALICE|alice>",
        f"{STRICTNESS} strict department IT",
        f"{AUTO} rollout 30",
        f"{STRICTNESS} rollout 10",
        f"{AUTO} clear rollout",
        f"{AUTO} clear user UALICE",
        f"{STRICTNESS} clear department it",
        f"{AUTO} clear global",
    ]:
        parsed = parse_flags_command(text)
        assert isinstance(parsed, SetFlag), text
        state = apply_change(state, parsed.change.model_copy(update={"actor": "UOPS"})).state
    assert state.settings(AUTO_FLAG).model_dump() == {
        "users": {},
        "departments": {},
        "global_value": None,
        "rollout": None,
    }
    assert state.settings(STRICTNESS_FLAG).rollout is not None


def entity_state(changes: int = 0) -> FlagsEntityState:
    state = FlagsState()
    for command in [
        SetFlagInput(flag=AUTO, value="on", actor="flags.yaml"),
        SetFlagInput(flag=AUTO, scope="rollout", value="on", percent=30, actor="UOPS"),
        SetFlagInput(flag=AUTO, scope="department", key="R&D", value="off", actor="UOPS"),
        SetFlagInput(flag=AUTO, scope="user", key="UALICE", value="on", actor="UOPS"),
        SetFlagInput(flag=STRICTNESS, scope="rollout", value="strict", percent=10, actor="UOPS"),
    ]:
        state = apply_change(state, command).state
    log = [
        AuditEntry(
            at=datetime(2026, 11, 28, 9, n, tzinfo=UTC),
            actor="UOPS" if n % 2 else "flags.yaml",
            action=f"set {AUTO}",
            detail=f"change <{n}>",
        )
        for n in range(changes)
    ]
    return FlagsEntityState(flags=state, changes=log)


def texts(blocks: list[dict[str, Any]]) -> list[str]:
    out = []
    for block in blocks:
        if block["type"] == "section":
            out.append(block["text"]["text"])
        else:
            assert block["type"] == "context"
            out.extend(e["text"] for e in block["elements"])
    return out


def test_blocks_list_every_level_of_every_flag() -> None:
    blocks = flags_blocks(entity_state())
    assert all(b["type"] in {"section", "context"} for b in blocks)
    auto, strictness = (t for t in texts(blocks) if t.startswith(("*automated", "*review")))
    assert auto.splitlines() == [
        "*automated-review-enabled* (default off)",
        "• Global: on",
        "• Rollout: 30% on _(no effect while a global value is set)_",
        "• Departments: R&amp;D off",
        "• Users: <@UALICE> on",
    ]
    assert strictness.splitlines() == [
        "*review-strictness* (default standard)",
        "• Global: (unset)",
        "• Rollout: 10% strict",
        "• Departments: —",
        "• Users: —",
    ]
    assert texts(blocks)[-1] == "No changes yet."


def test_blocks_show_the_last_five_changes_newest_first() -> None:
    changes = texts(flags_blocks(entity_state(changes=8)))[-5:]
    assert changes[0] == (f"2026-11-28 09:07 UTC · <@UOPS> · set {AUTO} · change &lt;7&gt;")
    # Not a Slack user: named as code (domain.actors.mention), never a broken mention.
    assert changes[1].startswith("2026-11-28 09:06 UTC · `flags.yaml` · ")
    assert [c.split(" · ")[0].removesuffix(" UTC")[-5:] for c in changes] == [
        "09:07",
        "09:06",
        "09:05",
        "09:04",
        "09:03",
    ]


def test_long_lists_are_cut_to_stay_within_slacks_limits() -> None:
    state = FlagsState()
    for n in range(MAX_LISTED + 7):
        command = SetFlagInput(flag=AUTO, scope="user", key=f"U{n:04d}", value="on", actor="U1")
        state = apply_change(state, command).state
    (auto,) = (t for t in texts(flags_blocks(FlagsEntityState(flags=state))) if "*automated" in t)
    assert auto.count("<@U") == MAX_LISTED
    assert auto.endswith("and 7 more")
    assert all(len(t) < 3000 for t in texts(flags_blocks(FlagsEntityState(flags=state))))


def test_usage_names_both_flags_and_every_form() -> None:
    for words in [AUTO, STRICTNESS, "rollout <percent>", "clear", "department", "user @someone"]:
        assert words in flags_usage()
