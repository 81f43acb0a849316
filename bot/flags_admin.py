"""Changing and reading the feature flags from outside Temporal (`/flags`, start-up)."""

from __future__ import annotations

from datetime import timedelta

from temporalio.client import Client
from temporalio.service import RPCError, RPCStatusCode

from domain.feature_flags import FlagsEntityState, FlagsState, SetFlagInput, SetFlagResult
from entities.client import start_entity, update_entity
from entities.feature_flags import FLAGS_WORKFLOW_ID, FeatureFlagsWorkflow

QUERY_TIMEOUT = timedelta(seconds=5)


class FlagsUnreadable(Exception):
    """The flags entity cannot be read; the message says what it means and what to do."""


class FlagsAdmin:
    """`task_queue` is where the entity runs: settings.control_task_queue in production.
    `initial` is used only if `set` is the first thing ever to touch the entity; normally
    `ensure(load_flags_file(...))` created it at start-up."""

    def __init__(
        self,
        client: Client,
        task_queue: str,
        workflow_id: str = FLAGS_WORKFLOW_ID,
        *,
        initial: FlagsState | None = None,
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._workflow_id = workflow_id
        self._initial = initial or FlagsState()

    async def ensure(self, initial: FlagsState) -> bool:
        """Create the entity with `initial` unless it is already running. True if created.

        Never overwrites: the flags people changed since installation are the truth, not the
        file."""
        return await start_entity(
            self._client,
            FeatureFlagsWorkflow.run,
            FlagsEntityState(flags=initial),
            workflow_id=self._workflow_id,
            task_queue=self._task_queue,
        )

    async def set(self, change: SetFlagInput) -> SetFlagResult:
        """Raises Refused with the validator's reason when the change is refused."""
        return await update_entity(
            self._client,
            FeatureFlagsWorkflow.set_flag,
            change,
            run=FeatureFlagsWorkflow.run,
            initial=FlagsEntityState(flags=self._initial),
            workflow_id=self._workflow_id,
            task_queue=self._task_queue,
        )

    async def snapshot(self) -> FlagsEntityState:
        """The flags and recent changes. Raises FlagsUnreadable when the entity cannot be read
        (workers then send every request to a manager: ops must see it, not a quiet "off")."""
        handle = self._client.get_workflow_handle_for(FeatureFlagsWorkflow.run, self._workflow_id)
        try:
            return await handle.query(FeatureFlagsWorkflow.snapshot, rpc_timeout=QUERY_TIMEOUT)
        except RPCError as err:
            if err.status == RPCStatusCode.NOT_FOUND:
                raise FlagsUnreadable(
                    f"The feature flags entity {self._workflow_id} does not exist: every request "
                    "goes to a manager. Restart a `purchasebot worker` or `bot` (they create it "
                    "from the flags file)."
                ) from err
            raise FlagsUnreadable(
                f"The feature flags cannot be read ({err.message}): every request goes to a "
                "manager until they can."
            ) from err

    async def unreadable_reason(self) -> str | None:
        """Why the flags cannot be read, or None when they can (shown by every rollout status)."""
        try:
            await self.snapshot()
        except FlagsUnreadable as err:
            return str(err)
        return None
