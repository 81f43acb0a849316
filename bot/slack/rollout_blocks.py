"""Block Kit for rollouts: `/rollout status` and the replies to ops commands."""

from __future__ import annotations

from datetime import UTC, datetime

from bot.history_health import HistoryHealth
from bot.rollout_admin import RolloutStatus
from bot.slack.blocks import Block, context, header, text, when
from domain.build_health import describe_limits, describe_monitor, readings
from domain.mrkdwn import escape
from domain.rollout_models import BuildHealth


def health_line(health: BuildHealth) -> str:
    numbers = (
        f"{health.completed} completed, {health.failed} failed, {health.running} running "
        f"({health.stuck} stuck), {health.flagged}/{health.auto_approved} auto-approvals "
        f"flagged · {escape(readings(health))}"
    )
    verdict = {"pass": ":large_green_circle:", "fail": ":red_circle:"}.get(
        health.verdict.value, ":white_circle:"
    )
    problems = f"\n{escape('; '.join(health.problems))}" if health.problems else ""
    checked = f"{health.verdict.value}, {when(health.checked_at)}"
    window = f" since {when(health.window_since)}" if health.window_since else ""
    to_date = ""
    if health.to_date is not None:
        t = health.to_date
        to_date = (
            f"\n_Ramp to date (since {when(t.since)}):_ {t.completed} completed, "
            f"{t.failed} failed, {t.running} running"
        )
    return f"{verdict} *{health.build_id}* ({checked}{window}): {numbers}{problems}{to_date}"


def rollout_status_blocks(status: RolloutStatus, flags_problem: str | None = None) -> list[Block]:
    """`flags_problem`: why the feature flags cannot be read, if they cannot (reviews are off
    for everyone then, which must show here)."""
    d, c = status.deployment, status.controller
    routing = f"*Current:* `{d.current_build or 'none'}`"
    if d.ramping_build:
        routing += f" · *Ramping:* `{d.ramping_build}` at {d.ramp_percent:g}%"
    if c.department is not None:
        routing += (
            f" · *Department rollout:* `{c.department.build_id}` gets every new request of "
            f"{escape(c.department.department)} (since {when(c.department.since)})"
        )
    versions = "\n".join(f"• `{v.build_id}` — {v.status}" for v in d.versions) or "none yet"
    healthy = c.healthy_builds(datetime.now(UTC))
    blocks = [
        header(f"Deployment {d.name}"),
        text(routing),
        text(f"*Builds*\n{versions}"),
        context(
            "Healthy as current (a rollback goes to the first that is not current): "
            + (", ".join(f"`{b}`" for b in healthy) or "none recorded yet")
        ),
    ]
    blocks.append(
        text(f":rotating_light: *Feature flags unreadable:* {flags_problem}")
        if flags_problem
        else context("Feature flags: readable.")
    )
    if c.health:
        blocks.append(text("*Health*\n" + "\n".join(health_line(h) for h in c.health.values())))
    if c.watched_build:
        t = c.thresholds
        department = c.department
        scope = (
            f" on department {escape(department.department)}'s requests"
            if department is not None and department.build_id == c.watched_build
            else ""
        )
        blocks.append(
            context(
                f"Watching `{c.watched_build}`{scope} every {t.check_interval_seconds:g} s: "
                f"{c.consecutive_failures}/{t.failure_limit} failed checks in a row "
                + escape(f"(limits: {describe_limits(t)})")
            )
        )
    else:
        blocks.append(context("Monitor: " + escape(describe_monitor(c.thresholds))))
    if c.plan is not None:
        p = c.plan
        steps = " → ".join(f"*{s:g}%*" if i == p.step else f"{s:g}%" for i, s in enumerate(p.steps))
        blocks.append(
            text(
                f"*Plan* for `{p.build_id}` ({p.status.value}, "
                f"every {p.interval_seconds:g} s): {steps}"
            )
        )
    if c.events:
        recent = "\n".join(
            f"{when(e.at)} {escape(e.actor)}: {escape(e.action)} {escape(e.detail)}"
            for e in c.events[-5:]
        )
        blocks.append(context(recent[:2900]))
    return blocks


def history_health_block(health: HistoryHealth) -> Block:
    if health.readable:
        return text(f"*Requester history:* {health.detail}")
    return text(
        f":warning: *Requester history: cannot be read* ({health.detail}). Automated reviews "
        "are sending every request to a person, and requesters are told why."
    )
