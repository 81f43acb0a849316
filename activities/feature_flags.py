"""Evaluating the feature flags for one requester, from the FeatureFlagsWorkflow entity.

Read by query, so every worker on every machine sees the same flags without a deploy.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta

from temporalio import activity
from temporalio.client import Client, WorkflowQueryFailedError, WorkflowQueryRejectedError
from temporalio.exceptions import ApplicationError
from temporalio.service import RPCError, RPCStatusCode

from domain.feature_flags import EvaluateFlagsInput, FlagsEvaluation, FlagsState, evaluate_all
from entities.feature_flags import FLAGS_WORKFLOW_ID, FeatureFlagsWorkflow

log = logging.getLogger(__name__)

# Every request evaluates the flags; a short cache spares the entity a query per request while
# a flag flip still reaches every worker within seconds.
SNAPSHOT_CACHE_SECONDS = 2.0
QUERY_TIMEOUT = timedelta(seconds=5)
# Unreadable flags alert the ops channel at most this often per worker (every request fails
# the same way: one alert says it).
ALERT_EVERY_SECONDS = 600.0


class FlagsUnreadable(Exception):
    """The flags entity cannot be read; the message says why and what to do."""


UNREADABLE = (FlagsUnreadable, RPCError, WorkflowQueryFailedError, WorkflowQueryRejectedError)


class FeatureFlagActivities:
    def __init__(
        self,
        client: Client,
        workflow_id: str = FLAGS_WORKFLOW_ID,
        *,
        cache_seconds: float = SNAPSHOT_CACHE_SECONDS,
        query_timeout: timedelta = QUERY_TIMEOUT,
        alert_ops: Callable[[str], Awaitable[None]] | None = None,
    ) -> None:
        self._client = client
        self._workflow_id = workflow_id
        self._cache_seconds = cache_seconds
        self._query_timeout = query_timeout
        self._cached: FlagsState | None = None
        self._cached_until = 0.0
        self._alert_ops = alert_ops
        self._alerted_at: float | None = None

    @activity.defn
    async def evaluate_flags(self, input: EvaluateFlagsInput) -> FlagsEvaluation:
        """Unreadable flags fail the activity (the workflow then records `flags_unavailable`
        in the audit trail and a person decides) and alert ops: never a silent "off"."""
        try:
            flags = await self._flags()
        except (
            FlagsUnreadable,
            RPCError,
            WorkflowQueryFailedError,
            WorkflowQueryRejectedError,
        ) as err:
            problem = f"feature flags unreadable: {err}"
            await self._alert(problem)
            raise ApplicationError(problem, type="FlagsUnreadable") from err
        return evaluate_all(flags, input.user, input.department)

    async def _alert(self, problem: str) -> None:
        now = time.monotonic()
        if self._alert_ops is None or (
            self._alerted_at is not None and now - self._alerted_at < ALERT_EVERY_SECONDS
        ):
            return
        self._alerted_at = now
        try:
            await self._alert_ops(
                f":rotating_light: {problem}. Requests go to managers until this is fixed."
            )
        except Exception:  # the alert is best effort; the audit trail has every request
            log.exception("could not alert ops about unreadable feature flags")

    async def _flags(self) -> FlagsState:
        if self._cached is not None and time.monotonic() < self._cached_until:
            return self._cached
        handle = self._client.get_workflow_handle_for(FeatureFlagsWorkflow.run, self._workflow_id)
        try:
            flags = (
                await handle.query(FeatureFlagsWorkflow.snapshot, rpc_timeout=self._query_timeout)
            ).flags
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                # Every process creates the entity at start-up: missing means something removed
                # it. Deciding with the defaults would switch the review off unnoticed.
                raise FlagsUnreadable(
                    f"the flags entity {self._workflow_id} does not exist (restart a "
                    "`purchasebot worker` or `bot`: they create it from the flags file)"
                ) from err
            if self._cached is not None:
                # A hiccup of the control worker must not stop reviews: keep deciding with the
                # last flags read (logged, so a long outage is seen) rather than fail every one.
                log.warning("feature flags unreadable, using the last ones read: %s", err)
                self._cached_until = time.monotonic() + self._cache_seconds
                return self._cached
            else:
                raise
        self._cached = flags
        self._cached_until = time.monotonic() + self._cache_seconds
        return flags
