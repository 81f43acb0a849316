"""What `/rollout <text>` and `/rollback <text>` ask for. Pure: the ops listener acts on it."""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

from bot.slack.command_parsing import Unparseable

ROLLOUT_USAGE = (
    "*How to use /rollout* (ops only)\n"
    "• `/rollout <build> <percent>` — send that share of new requests to a build (0 clears)\n"
    "• `/rollout promote <build>` — make a build current\n"
    "• `/rollout plan <build> 10,25,50,100 every 10m` — ramp in steps, each after a passing "
    "health check\n"
    "• `/rollout pause` · `/rollout resume` · `/rollout abort` — control the plan\n"
    "• `/rollout status` — builds, routing, health, plan\n"
    "• `/rollback [reason]` — back to the previous build, at once\n"
    "A build that was rolled back gets traffic again only with `override` at the end "
    "(`/rollout <build> 10 override`, `/rollout promote <build> override`)."
)


@dataclass(frozen=True)
class Ramp:
    build_id: str
    percent: float
    override: bool = False


@dataclass(frozen=True)
class Promote:
    build_id: str
    override: bool = False


@dataclass(frozen=True)
class StartPlan:
    build_id: str
    steps: list[float]
    interval_seconds: float
    override: bool = False


@dataclass(frozen=True)
class PlanControl:
    action: str  # pause / resume / abort


@dataclass(frozen=True)
class ShowRollout:
    pass


RolloutCommand = Ramp | Promote | StartPlan | PlanControl | ShowRollout | Unparseable

_INTERVAL = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)?$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, None: 1}


def parse_rollout_command(text: str) -> RolloutCommand:
    words = text.split()
    override = len(words) > 1 and words[-1].lower() == "override"
    if override:
        return _with_override(parse_rollout_command(" ".join(words[:-1])))
    if not words or words[0].lower() == "status":
        return ShowRollout()
    head = words[0].lower()
    if head in {"pause", "resume", "abort"} and len(words) == 1:
        return PlanControl(head)
    if head == "promote":
        if len(words) != 2:
            return Unparseable("Say which build to promote: `/rollout promote <build>`.")
        return Promote(words[1])
    if head == "plan":
        return _plan(words[1:])
    if len(words) == 2:
        percent = _percent(words[1])
        if percent is None:
            return Unparseable(f"`{words[1]}` is not a percentage: use 0 to 100.")
        return Ramp(words[0], percent)
    return Unparseable("That is not a /rollout command I know.")


def _with_override(parsed: RolloutCommand) -> RolloutCommand:
    if isinstance(parsed, Ramp | Promote | StartPlan):
        return replace(parsed, override=True)
    if isinstance(parsed, Unparseable):
        return parsed
    return Unparseable("`override` goes after a ramp, a promote or a plan.")


def _percent(word: str) -> float | None:
    try:
        value = float(word.rstrip("%"))
    except ValueError:
        return None
    return value if 0 <= value <= 100 else None


def _plan(words: list[str]) -> RolloutCommand:
    example = "`/rollout plan <build> 10,25,50,100 every 10m`"
    if len(words) != 4 or words[2].lower() != "every":
        return Unparseable(f"Write the plan like {example}.")
    steps = [_percent(w) for w in words[1].split(",")]
    if not steps or any(s is None or s <= 0 for s in steps):
        return Unparseable(f"Plan steps are percentages above 0, like {example}.")
    valid = [s for s in steps if s is not None]
    if valid != sorted(valid) or valid[-1] != 100:
        return Unparseable("Plan steps must go up and end at 100, e.g. 10,25,50,100.")
    match = _INTERVAL.match(words[3].lower())
    if match is None:
        return Unparseable("The interval is a number with s, m or h, e.g. `every 10m`.")
    seconds = float(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    return StartPlan(words[0], valid, seconds)
