"""The live review rules, as every worker reads them: from the ReviewRulesWorkflow entity.

Every review checks them afresh, while the requester's history is being read: a change is in
force for the very next review on every worker, and nothing has to be told. The check is a
`describe` of the entity (~2 ms, answered by the server alone), not the query (which travels to
a control worker and back: ~10 ms, and a p99 near 100 ms when that worker is busy): an entity's
state is a function of its history, and its history only grows, so while the run and its length
are what they were when the rules were last queried, the rules are too. Any event (a change, a
refused-then-applied Update, the run continuing as new) makes the next review query again. If
the entity cannot be read for a moment, the last rules read decide (their version is recorded
in the review)."""

from __future__ import annotations

import logging
from datetime import timedelta

from temporalio.client import Client, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode

from domain.rules_shadow import ReviewRulesSnapshot
from domain.rules_versions import RulesVersion
from entities.client import entity_version
from entities.review_rules import RULES_WORKFLOW_ID, ReviewRulesWorkflow

log = logging.getLogger(__name__)

QUERY_TIMEOUT = timedelta(seconds=5)


class RulesUnavailable(Exception):
    """The rules cannot be read and none were read before: the review fails, a person decides."""


class LiveRules:
    def __init__(self, client: Client, workflow_id: str = RULES_WORKFLOW_ID) -> None:
        self._client = client
        self._workflow_id = workflow_id
        self._last: ReviewRulesSnapshot | None = None
        # (run id, history length) of the entity when `_last` was queried.
        self._read_at: tuple[str, int] | None = None  # `entity_version`

    async def current(self) -> RulesVersion:
        return (await self.for_review()).active

    async def for_review(self) -> ReviewRulesSnapshot:
        """The rules in force and the shadow candidate, if any: the last ones read while the
        entity has not changed since, else one query."""
        handle = self._client.get_workflow_handle_for(ReviewRulesWorkflow.run, self._workflow_id)
        try:
            read_at = await entity_version(
                self._client, self._workflow_id, rpc_timeout=QUERY_TIMEOUT
            )
            if read_at == self._read_at and self._last is not None:
                return self._last
            try:
                snapshot = await handle.query(
                    ReviewRulesWorkflow.for_review, rpc_timeout=QUERY_TIMEOUT
                )
            except WorkflowQueryFailedError:
                # A control worker of a build from before shadow review knows only `current`
                # (for the minutes of a deploy): no candidate can exist there anyway.
                active = await handle.query(ReviewRulesWorkflow.current, rpc_timeout=QUERY_TIMEOUT)
                snapshot = ReviewRulesSnapshot(active=active)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise RulesUnavailable(
                    f"the rules entity {self._workflow_id} does not exist (restart a "
                    "`purchasebot worker` or `bot`: they create it from the rules file)"
                ) from err
            if self._last is None:
                raise RulesUnavailable(f"the rules cannot be read: {err.message}") from err
            # A hiccup of the control worker must not stop reviews: the last rules read still
            # say which version decided (recorded in the review), and the outage is logged.
            log.warning("rules unreadable, reviewing with %s: %s", self._last.active.label, err)
            return self._last
        self._last, self._read_at = snapshot, read_at
        return snapshot
