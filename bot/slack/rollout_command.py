"""What `/rollout <text>` and `/rollback <text>` ask for. Pure: the ops listener acts on it.

`/rollout <word> ...` where <word> is a subcommand is parsed by that subcommand's entry in
SUBCOMMANDS (a new subcommand is one entry and its usage line); any other first word is a build.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, replace

from bot.slack.command_parsing import Unparseable

ROLLOUT_USAGE = (
    "*How to use /rollout* (ops only)\n"
    "• `/rollout <build> <percent>` — send that share of new requests to a build (0 clears)\n"
    "• `/rollout <build> department <name>` — send every new request of one department to a "
    "build; everyone else stays on the current build\n"
    "• `/rollout promote <build>` — make a build current\n"
    "• `/rollout plan <build> 10,25,50,100 every 10m` — ramp in steps, each after a passing "
    "health check\n"
    "• `/rollout pause` · `/rollout resume` · `/rollout abort` — control the plan\n"
    "• `/rollout status` — builds, routing, health, plan\n"
    "• `/rollout history [page]` — the ops audit trail, newest first\n"
    "• `/rollback [reason]` — back to the last build that was healthy as current, at once\n"
    "• `/rollback to <build> [reason]` — back to the build you name\n"
    "A build that was rolled back gets traffic again only with `override` at the end "
    "(`/rollout <build> 10 override`, `/rollout promote <build> override`, "
    "`/rollback to <build> override`)."
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
class TargetDepartment:
    build_id: str
    department: str
    override: bool = False


@dataclass(frozen=True)
class PlanControl:
    action: str  # pause / resume / abort


@dataclass(frozen=True)
class ShowRollout:
    pass


@dataclass(frozen=True)
class ShowHistory:
    page: int = 1


RolloutCommand = (
    Ramp
    | Promote
    | StartPlan
    | TargetDepartment
    | PlanControl
    | ShowRollout
    | ShowHistory
    | Unparseable
)
# Parses the words after the subcommand's own word.
SubcommandParser = Callable[[list[str]], RolloutCommand]

_INTERVAL = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h)?$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, None: 1}


def parse_rollout_command(text: str) -> RolloutCommand:
    words = text.split()
    override = len(words) > 1 and words[-1].lower() == "override"
    if override:
        return _with_override(parse_rollout_command(" ".join(words[:-1])))
    if not words:
        return ShowRollout()
    subcommand = SUBCOMMANDS.get(words[0].lower())
    if subcommand is not None:
        return subcommand(words[1:])
    return _build_command(words[0], words[1:])


def _build_command(build: str, words: list[str]) -> RolloutCommand:
    """`/rollout <build> <percent>` or `/rollout <build> department <name>`."""
    if words and words[0].lower() == "department":
        if len(words) == 1:
            return Unparseable("Say which department: `/rollout <build> department <name>`.")
        return TargetDepartment(build, " ".join(words[1:]))
    if len(words) == 1:
        percent = _percent(words[0])
        if percent is None:
            return Unparseable(f"`{words[0]}` is not a percentage: use 0 to 100.")
        return Ramp(build, percent)
    return Unparseable("That is not a /rollout command I know.")


def _promote(words: list[str]) -> RolloutCommand:
    if len(words) != 1:
        return Unparseable("Say which build to promote: `/rollout promote <build>`.")
    return Promote(words[0])


def _plan_control(action: str) -> SubcommandParser:
    def parse(words: list[str]) -> RolloutCommand:
        if words:
            return Unparseable(f"`/rollout {action}` takes nothing after it.")
        return PlanControl(action)

    return parse


def _with_override(parsed: RolloutCommand) -> RolloutCommand:
    if isinstance(parsed, Ramp | Promote | StartPlan | TargetDepartment):
        return replace(parsed, override=True)
    if isinstance(parsed, Unparseable):
        return parsed
    return Unparseable("`override` goes after a ramp, a department rollout, a promote or a plan.")


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


def _history(words: list[str]) -> RolloutCommand:
    if not words:
        return ShowHistory()
    if len(words) == 1 and words[0].isdigit() and int(words[0]) >= 1:
        return ShowHistory(int(words[0]))
    return Unparseable("Say which page of the history: `/rollout history 2` (1 is the newest).")


SUBCOMMANDS: dict[str, SubcommandParser] = {
    "status": lambda words: ShowRollout(),
    "history": _history,
    "promote": _promote,
    "plan": _plan,
    **{action: _plan_control(action) for action in ("pause", "resume", "abort")},
}


@dataclass(frozen=True)
class Rollback:
    reason: str = ""
    to_build: str | None = None  # None: the last build that was healthy as current
    override: bool = False  # `to_build` may be a build that was itself rolled back


def parse_rollback_command(text: str) -> Rollback | Unparseable:
    """`/rollback [reason]` or `/rollback to <build> [override] [reason]`."""
    words = text.split()
    if not words or words[0].lower() != "to":
        return Rollback(text.strip())
    if len(words) < 2:
        return Unparseable("Say which build to go back to: `/rollback to <build> [reason]`.")
    override = len(words) > 2 and words[2].lower() == "override"
    return Rollback(" ".join(words[3 if override else 2 :]), words[1], override)
