"""The product's endpoint groups, built from the bot's dependencies: one list, so a new group is
one line here."""

from __future__ import annotations

from bot.api.framework import Endpoint
from bot.api.requests import request_endpoints
from bot.api.review import review_endpoints
from bot.api.rollouts import rollout_endpoints
from bot.api.rules import rules_endpoints
from bot.api.rules_shadow import shadow_endpoints
from bot.insight.api import dashboard_endpoint
from bot.slack.deps import BotDeps


def api_endpoints(deps: BotDeps) -> list[Endpoint]:
    """The groups (rules, rollouts, ...) take what they need from `deps`."""

    def departments() -> set[str]:
        return deps.directory.get().value.departments

    return [
        *shadow_endpoints(deps),  # before rules: `/api/rules/{department}` matches `shadow`
        *rules_endpoints(deps),
        *review_endpoints(deps),
        *request_endpoints(deps),
        *rollout_endpoints(deps.rollout, deps.announcer, deps.flags),
        dashboard_endpoint(deps.dashboard_source(), departments),
    ]
