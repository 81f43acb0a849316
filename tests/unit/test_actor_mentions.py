"""Every actor the bot names in Slack text goes through `domain.actors.mention`: a Slack user is
a mention, anyone else (an API token, the CLI, the monitor) is named, never a broken
`<@api:ops-1>` mention."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path

from bot.slack.blocks import flagged_blocks
from bot.slack.flags_command import flags_blocks
from bot.slack.ops_history import ops_history_blocks
from bot.slack.rules_command import change_announcement
from domain.feature_flags import FlagsEntityState
from domain.models import AuditEntry
from domain.rules_versions import RulesVersionSummary

ROOT = Path(__file__).resolve().parents[2]
AT = datetime(2026, 12, 1, 9, 30, tzinfo=UTC)
# A hand-written mention in code: `<@{...}>` inside a string (Slack's own syntax in comments,
# regexes and docstrings is not one).
HAND_WRITTEN = re.compile(r"<@\{")


def shown(blocks: object) -> str:
    return json.dumps(blocks)


def test_the_slack_layer_writes_no_mention_by_hand() -> None:
    places = [
        f"{path.relative_to(ROOT)}:{number}"
        for package in ("bot", "domain")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ROOT / "domain" / "actors.py"
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if HAND_WRITTEN.search(line)
    ]
    assert places == [], "render actors with domain.actors.mention"


def test_the_check_sees_a_hand_written_mention() -> None:
    assert HAND_WRITTEN.search('f"by <@{who}>"')
    assert not HAND_WRITTEN.search("# Slack sends mentions as <@U123>")


def test_flag_changes_name_an_api_caller_and_mention_a_person() -> None:
    state = FlagsEntityState(
        changes=[
            AuditEntry(at=AT, actor="api:ops-1", action="set", detail="x"),
            AuditEntry(at=AT, actor="UOLIVIA", action="set", detail="y"),
        ]
    )
    text = shown(flags_blocks(state))
    assert "`api:ops-1` (API)" in text and "<@UOLIVIA>" in text
    assert "<@api" not in text


def test_a_rules_change_by_the_cli_is_named_not_mentioned() -> None:
    summary = RulesVersionSummary(number=2, author="cli:deploy", at=AT, reason="", content_hash="h")
    line = change_announcement(summary)
    assert "by `cli:deploy` (CLI)." in line and "<@" not in line
    by_person = change_announcement(summary.model_copy(update={"author": "UHELEN"}))
    assert "by <@UHELEN>." in by_person


def test_ops_history_names_the_monitor_and_mentions_a_person() -> None:
    entries = [
        AuditEntry(at=AT, actor="monitor", action="rollback"),
        AuditEntry(at=AT, actor="UOLIVIA", action="ramp"),
    ]
    text = shown(ops_history_blocks(entries, 1))
    assert "The monitor" in text and "<@UOLIVIA>" in text
    assert "<@monitor>" not in text


def test_a_flagged_auto_approval_mentions_who_flagged_it() -> None:
    assert "by <@UCARLOS>" in shown(flagged_blocks([], "UCARLOS"))
