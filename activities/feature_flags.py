"""Evaluating the feature flags for one requester, from the FeatureFlagsWorkflow entity.

Read by query, so every worker on every machine sees the same flags without a deploy.
"""

from __future__ import annotations

import logging
import time
from datetime import timedelta

from temporalio import activity
from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from domain.feature_flags import EvaluateFlagsInput, FlagsEvaluation, FlagsState, evaluate_all
from entities.feature_flags import FLAGS_WORKFLOW_ID, FeatureFlagsWorkflow

log = logging.getLogger(__name__)

# Every request evaluates the flags; a short cache spares the entity a query per request while
# a flag flip still reaches every worker within seconds.
SNAPSHOT_CACHE_SECONDS = 2.0
QUERY_TIMEOUT = timedelta(seconds=5)


class FeatureFlagActivities:
    def __init__(
        self,
        client: Client,
        workflow_id: str = FLAGS_WORKFLOW_ID,
        *,
        cache_seconds: float = SNAPSHOT_CACHE_SECONDS,
        query_timeout: timedelta = QUERY_TIMEOUT,
    ) -> None:
        self._client = client
        self._workflow_id = workflow_id
        self._cache_seconds = cache_seconds
        self._query_timeout = query_timeout
        self._cached: FlagsState | None = None
        self._cached_until = 0.0

    @activity.defn
    async def evaluate_flags(self, input: EvaluateFlagsInput) -> FlagsEvaluation:
        return evaluate_all(await self._flags(), input.user, input.department)

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
                flags = FlagsState()  # nobody ever set a flag: every flag at its default
            elif self._cached is not None:
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
