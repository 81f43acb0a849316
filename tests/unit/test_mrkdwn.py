"""People's text is text: escaped for mrkdwn wherever it is shown, by one helper."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from activities.worker_deployments import DeploymentView
from bot.rollout_admin import RolloutStatus
from bot.slack import blocks
from bot.slack.command_parsing import NewRequest, parse_purchase_command
from bot.slack.rollout_blocks import rollout_status_blocks
from domain.models import ApprovalResult
from domain.mrkdwn import escape, unescape_slack
from domain.rollout_models import RolloutState
from tests.unit.test_blocks import NOW, PRODUCT, REQUEST

INJECTION = "<https://evil.example/approve|the approved quote> <!channel> *APPROVED BY CFO*"


def slack_escaped(typed: str) -> str:
    """What Slack sends for what a person typed."""
    return typed.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@given(st.text())
def test_escape_leaves_no_markup_and_unescape_restores_the_typed_text(typed: str) -> None:
    escaped = escape(typed)
    assert "<" not in escaped and ">" not in escaped
    assert unescape_slack(escaped) == typed
    assert unescape_slack(slack_escaped(typed)) == typed


def test_unescape_undoes_only_slacks_three_escapes() -> None:
    # html.unescape would turn these into other characters than the person typed.
    assert unescape_slack("&amp;copy; &quot; &#60;") == "&copy; &quot; &#60;"


def test_markup_in_a_justification_reaches_the_approver_as_plain_text() -> None:
    parsed = parse_purchase_command(
        f"https://www.amazon.es/dp/1449373321 39.90 1 {slack_escaped(INJECTION)}"
    )
    assert isinstance(parsed, NewRequest) and parsed.justification == INJECTION
    request = REQUEST.model_copy(update={"justification": parsed.justification})
    payload = blocks.approval_request_blocks(
        request, PRODUCT, None, code_path="patched", build_id="b1"
    )
    [shown] = [b for b in payload if b.get("fields") and b["fields"][0]["type"] == "plain_text"]
    assert shown["fields"][0]["text"] == INJECTION
    # Nowhere in mrkdwn does the typed markup appear unescaped.
    for block in payload:
        for part in [block.get("text"), *block.get("fields", []), *block.get("elements", [])]:
            if isinstance(part, dict) and part.get("type") == "mrkdwn":
                assert "<!channel>" not in part["text"] and "evil.example" not in part["text"]


def test_decision_reasons_and_refusals_are_escaped() -> None:
    approval = ApprovalResult(
        approved=False, decided_by="UCARLOS", decided_at=NOW, comments=INJECTION
    )
    line = blocks.decision_line(approval)
    assert "<!channel>" not in line and "&lt;!channel&gt;" in line
    assert blocks.warning("no <!here> & <@U1>") == ":warning: no &lt;!here&gt; &amp; &lt;@U1&gt;"


def test_rollout_status_shows_its_own_comparison_signs_literally() -> None:
    status = RolloutStatus(
        deployment=DeploymentView(name="d", current_build="b1", ramping_build=None, ramp_percent=0),
        controller=RolloutState(deployment_name="d", watched_build="b2"),
    )
    shown = str(rollout_status_blocks(status))
    assert "&lt;= 5%" in shown and "&gt;= 95%" in shown
    assert "<=" not in shown and ">=" not in shown
