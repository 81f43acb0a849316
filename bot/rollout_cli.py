"""`purchasebot rollout ...`: the rollout controller driven from a deploy pipeline, with the same
rules as `/rollout` and `/rollback` (it calls the same `RolloutAdmin`).

Exit codes a pipeline can branch on:
  0  done (for `status`: printed)
  1  Temporal unreachable, or an unexpected error (details in the log file)
  2  refused: bad input, a build no worker of polls, an unknown department, nothing to roll
     back, no plan to control
  3  `--wait` timed out: no worker of the build polled in time; nothing was changed
Every change is recorded in the ops audit trail as `cli:<actor>`, and in the controller's events.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import sys
import time
from datetime import UTC, datetime
from typing import Any

from appconfig.settings import Settings
from bot.installation import rollout_admin_for
from bot.ops_audit import OpsAuditLog
from bot.rollout_admin import RolloutAdmin, RolloutStatus
from bot.temporal_client import connect
from domain.build_health import describe_monitor
from domain.refusal import Refused
from domain.rollout_models import BuildHealth

EXIT_WAIT_TIMED_OUT = 3
WAIT_POLL_SECONDS = 0.5


class WaitTimedOut(Exception):
    """`--wait` ran out: the exit code says so (3), distinct from a refusal (2)."""


def add_rollout_parser(sub: Any) -> None:
    """`sub`: the `purchasebot` subparsers."""
    ro = sub.add_parser(
        "rollout",
        help="drive rollouts from a pipeline (exit 0 done, 2 refused, 3 --wait timed out)",
    )
    ro.add_argument("--actor", default=None, help="who to record as (default: cli:<user name>)")
    cmds = ro.add_subparsers(dest="rollout_command", required=True)

    ramp = cmds.add_parser("ramp", help="send a share of NEW requests to a build (0 clears)")
    ramp.add_argument("build")
    ramp.add_argument("percentage", type=float)
    dept = cmds.add_parser(
        "department",
        help="send every NEW request of one department to a build; everyone else stays",
    )
    dept.add_argument("build")
    dept.add_argument("department", help="as in directory.yaml (any case)")
    plan = cmds.add_parser("plan", help="ramp in steps, each after a passing health check")
    plan.add_argument("build")
    plan.add_argument("steps", help="comma-separated percentages ending at 100: 10,25,50,100")
    plan.add_argument("--interval", type=float, default=600, help="seconds between steps")
    promote = cmds.add_parser("promote", help="make a build current")
    promote.add_argument("build")
    for waits in (ramp, dept, plan, promote):
        waits.add_argument(
            "--wait",
            type=float,
            default=None,
            metavar="SECONDS",
            help="wait up to this long for the build's workers to poll, instead of refusing",
        )
    for moves in (ramp, dept, plan, promote):
        moves.add_argument(
            "--override", action="store_true", help="send traffic to a build that was rolled back"
        )
    for action in ("pause", "resume", "abort"):
        control = cmds.add_parser(action, help=f"{action} the rollout plan")
        control.add_argument("--reason", default="")
    back = cmds.add_parser(
        "rollback", help="new requests back to the last build healthy as current, at once"
    )
    back.add_argument("--reason", default="")
    back.add_argument(
        "--to", default=None, metavar="BUILD", help="the build new requests go to instead"
    )
    back.add_argument(
        "--override", action="store_true", help="--to may name a build that was rolled back"
    )
    status = cmds.add_parser("status", help="routing, builds, health, plan")
    status.add_argument("--json", action="store_true", help="as JSON (what GET /api/rollout gives)")


async def cmd_rollout(args: argparse.Namespace, settings: Settings) -> None:
    client = await connect()
    admin = rollout_admin_for(client, settings)
    command: str = args.rollout_command
    if command == "status":
        print(await _status(admin, as_json=args.json))
        return
    actor = args.actor or f"cli:{getpass.getuser()}"
    audit = OpsAuditLog(client, settings.control_task_queue)
    detail = " ".join(f"{k}={v}" for k, v in sorted(vars(args).items()) if v is not None)
    try:
        if getattr(args, "wait", None) is not None:
            await wait_for_build(admin, args.build, args.wait)
        message = await _change(admin, args, actor)
    except (Refused, WaitTimedOut) as err:
        await audit.record(actor, "cli_change_refused", f"rollout {detail}: {err}")
        raise
    await audit.record(actor, "cli_change", f"rollout {detail}")
    print(message)


async def _change(admin: RolloutAdmin, args: argparse.Namespace, actor: str) -> str:
    command: str = args.rollout_command
    if command == "ramp":
        return (
            await admin.ramp(args.build, args.percentage, actor, override=args.override)
        ).message
    if command == "plan":
        steps = _steps(args.steps)
        return (
            await admin.plan(args.build, steps, args.interval, actor, override=args.override)
        ).message
    if command == "department":
        return (
            await admin.target_department(
                args.build, args.department, actor, override=args.override
            )
        ).message
    if command == "promote":
        return (await admin.promote(args.build, actor, override=args.override)).message
    if command == "rollback":
        result = await admin.rollback(actor, args.reason, to_build=args.to, override=args.override)
        return (
            f"Rolled back: new requests now run on `{result.to_build}` instead of "
            f"`{result.from_build}` ({result.pinned_workflows} auto-upgrade requests pinned)."
        )
    return (await admin.plan_control(command, actor)).message


def _steps(text: str) -> list[float]:
    try:
        return [float(step.strip().rstrip("%")) for step in text.split(",")]
    except ValueError:
        raise Refused(f"`{text}` is not a list of percentages like 10,25,50,100.") from None


async def wait_for_build(admin: RolloutAdmin, build_id: str, seconds: float) -> None:
    """Until a worker of `build_id` has polled (the server then knows the version)."""
    deadline = time.monotonic() + seconds
    said = False
    while not (await admin.deployments.describe()).knows(build_id):
        if not said:  # a pipeline's log shows why the step is taking its time
            print(
                f"Waiting up to {seconds:g} s for a worker of build '{build_id}' to poll…",
                file=sys.stderr,
                flush=True,
            )
            said = True
        if time.monotonic() >= deadline:
            raise WaitTimedOut(
                f"No worker of build '{build_id}' polled within {seconds:g} s; nothing changed."
            )
        await asyncio.sleep(WAIT_POLL_SECONDS)


async def _status(admin: RolloutAdmin, *, as_json: bool) -> str:
    shown = await admin.status()
    d, c = shown.deployment, shown.controller
    if as_json:
        return json.dumps(
            {
                "deployment": {
                    "name": d.name,
                    "current_build": d.current_build,
                    "ramping_build": d.ramping_build,
                    "ramp_percent": d.ramp_percent,
                    "versions": {v.build_id: v.status for v in d.versions},
                },
                "controller": c.model_dump(mode="json"),
                "healthy_builds": c.healthy_builds(datetime.now(UTC)),
            },
            indent=2,
        )
    return status_text(shown)


def status_text(shown: RolloutStatus) -> str:
    """`rollout status` for a person reading a pipeline's log."""
    d, c = shown.deployment, shown.controller
    lines = [f"Deployment {d.name}: current {d.current_build or 'none'}"]
    if d.ramping_build:
        lines.append(f"Ramping {d.ramping_build} at {d.ramp_percent:g}%")
    if c.department is not None:
        lines.append(
            f"Department rollout: {c.department.build_id} for {c.department.department} "
            f"(since {c.department.since:%Y-%m-%d %H:%M:%S} UTC)"
        )
    lines += [f"  {v.build_id}: {v.status}" for v in d.versions]
    for health in c.health.values():
        lines += health_lines(health)
    lines.append(f"Monitor: {describe_monitor(c.thresholds)}")
    if c.plan is not None:
        steps = ",".join(f"{s:g}" for s in c.plan.steps)
        lines.append(f"Plan for {c.plan.build_id}: {c.plan.status.value}, steps {steps}")
    return "\n".join(lines)


def health_lines(health: BuildHealth) -> list[str]:
    """The verdict on the window's requests, and the ramp-to-date counts beside it (a late
    regression fails the window while the to-date numbers still look healthy)."""
    problems = f" ({'; '.join(health.problems)})" if health.problems else ""
    window = f" since {health.window_since:%H:%M:%S} UTC" if health.window_since else ""
    lines = [
        f"Health of {health.build_id}: {health.verdict.value}{problems}",
        f"    window{window}: {health.completed} completed, {health.failed} failed, "
        f"{health.running} running ({health.stuck} stuck), "
        f"{health.flagged}/{health.auto_approved} auto-approvals flagged",
    ]
    if health.to_date is not None:
        t = health.to_date
        lines.append(
            f"    ramp to date since {t.since:%Y-%m-%d %H:%M:%S} UTC: {t.completed} completed, "
            f"{t.failed} failed, {t.running} running"
        )
    return lines
