"""Block Kit of the App Home's own sections: the approvals waiting for a manager (with the
approval message's own buttons) and the dashboard's figures for ops and finance."""

from __future__ import annotations

from collections.abc import Sequence

from bot.insight.dashboard import Dashboard
from bot.slack import blocks
from bot.slack.blocks import Block
from domain.models import StatusResult
from domain.mrkdwn import escape

NOTHING_WAITING = "Nothing is waiting for your decision."
DASHBOARD_SLOW = (
    "The figures are taking long to compute right now; `/purchase dashboard` opens the web "
    "dashboard."
)
DASHBOARD_FAILED = "The figures could not be read right now; try again in a minute."
# Slack refuses a Home view of more than 100 blocks: each approval takes 5.
MAX_APPROVALS_SHOWN = 12
# Slack refuses a section whose text is longer than 3000 characters.
SECTION_LIMIT = 3000


def waiting_approval_blocks(waiting: Sequence[StatusResult]) -> list[Block]:
    if not waiting:
        return [blocks.text(f"*Waiting for your decision*\n{NOTHING_WAITING}")]
    shown = waiting[:MAX_APPROVALS_SHOWN]
    found: list[Block] = [blocks.text(f"*Waiting for your decision* ({len(waiting)})")]
    for status in shown:
        if status.product is None:  # waiting implies validated; never shown half-known
            continue
        found += [
            {"type": "divider"},
            blocks.request_fields(status.request, status.product),
            blocks.justification_block(status.request),
            blocks.context(_filed(status) + blocks.review_line(status.review)),
            # One block id per request: Slack refuses a view whose block ids repeat.
            blocks.decision_buttons(
                status.request.request_id, f"home-decision-{status.request_id}"
            ),
        ]
    if len(waiting) > len(shown):
        found.append(
            blocks.context(f"…and {len(waiting) - len(shown)} more: see your DMs with the app.")
        )
    return found


def _filed(status: StatusResult) -> str:
    at = status.request.requested_at
    return f"Filed {blocks.when(at)} · " if at is not None else ""


def _rate(value: float | None) -> str:
    return "—" if value is None else f"{value * 100:.0f}%"


def _seconds(value: float | None) -> str:
    return "—" if value is None else f"{value:,.1f} s"


def dashboard_blocks(dashboard: Dashboard) -> list[Block]:
    """The API's figures in a few lines; the web dashboard has them all, with charts."""
    c = dashboard.counts
    review = dashboard.automated_review_metrics
    deploy = dashboard.deployment_metrics
    kpis = dashboard.kpis
    departments = " · ".join(
        f"{escape(name)} {_rate(d.auto_approval)} auto ({d.requests} filed, avg "
        f"{escape(d.avg_amount or '—')} {escape(d.currency or '')})".replace(" )", ")")
        for name, d in dashboard.department_breakdown.items()
    )
    days = (dashboard.period.until - dashboard.period.since).days
    lines = [
        f"*Dashboard* (requests filed in the last {days} days)",
        f"{c.filed} filed · {c.reviewed} reviewed · {c.auto_approved} auto-approved · "
        f"{c.manually_approved} approved by a person · {c.rejected} rejected · "
        f"{c.timed_out} timed out · {c.cancelled} cancelled · {c.invalid} invalid · "
        f"{c.failed} failed · {c.flagged_wrong} flagged wrong",
        f"Auto-approval rate {_rate(review.auto_approval_rate)} · review "
        f"{_seconds(review.avg_review_time)} · confidence "
        f"{'—' if review.confidence_score_avg is None else f'{review.confidence_score_avg:.2f}'}"
        f" · false positives {_rate(review.false_positive_rate)} · precision "
        f"{_rate(kpis.precision)}",
        f"Decision median: auto {_seconds(kpis.median_time_to_decision_auto_s)}, by a person "
        f"{_seconds(kpis.median_time_to_decision_manual_s)} · approval time reduction "
        f"{_rate(kpis.approval_time_reduction)}",
        f"Build `{escape(deploy.current_build_id or '—')}` · rollout "
        f"{deploy.rollout_percentage:.0f}% · error rate {_rate(deploy.error_rate)} · p99 "
        f"{_seconds(deploy.avg_latency_p99)} · rollbacks {kpis.rollbacks} (median "
        f"{_seconds(kpis.median_rollback_s)})",
    ]
    if departments:
        lines.append(f"Departments: {departments}")
    text = "\n".join(lines)
    if len(text) > SECTION_LIMIT:  # many departments: the web dashboard has every one
        text = text[: SECTION_LIMIT - 1] + "…"
    return [
        blocks.text(text),
        blocks.context("Charts and other periods: `/purchase dashboard` sends you a login link."),
    ]
