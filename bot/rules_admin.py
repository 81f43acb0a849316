"""Reading and changing the live review rules from outside Temporal (`/rules`, the API, start-up).

The rules entity (entities/review_rules.py) validates every change; a refusal arrives here as
`Refused` with the field path and the reason, and nothing changed."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TypeVar

from pydantic import BaseModel
from temporalio.client import Client, WorkflowHandle, WorkflowQueryFailedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from appconfig.files import load_yaml_model
from domain.refusal import NotFound, Refused
from domain.review_rules import RulesFile
from domain.rules_shadow import (
    NOTHING_IN_SHADOW,
    PromoteShadowInput,
    SetShadowInput,
    ShadowChangeResult,
    ShadowView,
    StopShadowInput,
)
from domain.rules_versions import (
    ChangeRulesInput,
    RevertRulesInput,
    RuleChange,
    RulesChangeResult,
    RulesEntityState,
    RulesHistory,
    RulesVersion,
    VersionInput,
    department_named,
    diff_rules,
    first_version,
    known_departments,
    rules_with,
)
from entities.client import start_entity, update_entity
from entities.review_rules import RULES_WORKFLOW_ID, ReviewRulesWorkflow

QUERY_TIMEOUT = timedelta(seconds=5)
P = TypeVar("P", bound=BaseModel)
R = TypeVar("R", bound=BaseModel)
INSTALLER = "installation"


@dataclass(frozen=True)
class FieldProposal:
    current: RulesVersion
    department: str  # as the rules spell it, or `defaults`
    proposed: RulesFile

    @property
    def diff(self) -> list[RuleChange]:
        return diff_rules(self.current.rules, self.proposed)


class RulesUnreadable(Exception):
    """The rules entity cannot be read; the message says what it means and what to do."""


def initial_state(rules: RulesFile, source: str) -> RulesEntityState:
    version = first_version(
        rules, author=INSTALLER, at=datetime.now(UTC), reason=f"initialised from {source}"
    )
    return RulesEntityState(versions=[version])


def load_initial_rules(path: Path) -> RulesEntityState:
    """Raises ConfigFileError (file, field path, reason) when the file is invalid."""
    return initial_state(load_yaml_model(path, RulesFile).value, path.name)


class RulesAdmin:
    """`task_queue`: where the entity runs (settings.control_task_queue). `initial`: used only if
    a change is the first thing ever to touch the entity; normally `ensure` created it."""

    def __init__(
        self,
        client: Client,
        task_queue: str,
        workflow_id: str = RULES_WORKFLOW_ID,
        *,
        initial: RulesEntityState,
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._workflow_id = workflow_id
        self._initial = initial

    @property
    def workflow_id(self) -> str:
        return self._workflow_id

    async def ensure(self) -> bool:
        """Create the entity from the initial rules unless it runs. Never overwrites: the rules
        people changed since installation are the truth, not the file."""
        return await start_entity(
            self._client,
            ReviewRulesWorkflow.run,
            self._initial,
            workflow_id=self._workflow_id,
            task_queue=self._task_queue,
        )

    async def change(
        self, rules: RulesFile, *, author: str, reason: str, based_on: int | None = None
    ) -> RulesChangeResult:
        return await self._update(
            ReviewRulesWorkflow.change,
            ChangeRulesInput(rules=rules, author=author, reason=reason, based_on=based_on),
        )

    async def propose_field(
        self, department: str, field: str, value: str, *, people_departments: Sequence[str]
    ) -> FieldProposal:
        """`/rules set`'s change, validated but not made. Raises RulesInvalid (an unknown
        department, or the field path and reason the schema gives)."""
        await self.ensure()  # a no-op once it runs: a change needs rules to change
        current = await self.current()
        name = department_named(department, known_departments(current.rules, people_departments))
        return FieldProposal(current, name, rules_with(current.rules, name, field, value))

    async def set_field(
        self,
        department: str,
        field: str,
        value: str,
        *,
        author: str,
        reason: str,
        people_departments: Sequence[str],
        based_on: int | None = None,
    ) -> RulesChangeResult:
        """`/rules set`: one field of one department (or `defaults`). Raises RulesInvalid, or
        Refused (the entity's reason: nothing changed, or the rules changed since `based_on`,
        the version the person saw; by default the one this call reads)."""
        proposal = await self.propose_field(
            department, field, value, people_departments=people_departments
        )
        return await self.change(
            proposal.proposed,
            author=author,
            reason=reason,
            based_on=proposal.current.number if based_on is None else based_on,
        )

    async def revert(self, version: int, *, author: str, reason: str) -> RulesChangeResult:
        return await self._update(
            ReviewRulesWorkflow.revert,
            RevertRulesInput(version=version, author=author, reason=reason),
        )

    # --- shadow review ---------------------------------------------------------------------

    async def shadow(self) -> ShadowView:
        """The candidate in shadow (if any) and its diff from the rules in force."""
        try:
            return await self._handle().query(ReviewRulesWorkflow.shadow, rpc_timeout=QUERY_TIMEOUT)
        except WorkflowQueryFailedError as err:
            # A control worker of a build from before shadow review (for the minutes of a deploy).
            raise RulesUnreadable(
                f"The rules entity's worker cannot show the shadow review yet ({err.message}); "
                "try again once every worker runs the new build."
            ) from err
        except RPCError as err:
            raise self._unreadable(err) from err

    async def set_shadow(
        self,
        rules: RulesFile,
        *,
        author: str,
        reason: str,
        source: str,
        based_on_candidate: int | None = None,
    ) -> ShadowChangeResult:
        return await self._update(
            ReviewRulesWorkflow.set_shadow,
            SetShadowInput(
                rules=rules,
                author=author,
                reason=reason,
                source=source,
                based_on_candidate=based_on_candidate,
            ),
        )

    async def set_shadow_field(
        self,
        department: str,
        field: str,
        value: str,
        *,
        author: str,
        reason: str,
        people_departments: Sequence[str],
    ) -> ShadowChangeResult:
        """`/rules shadow set`: one field changed in the candidate (the rules in force when there
        is none yet). Refusals as `set_field`'s."""
        await self.ensure()
        view = await self.shadow()
        base = view.candidate.rules if view.candidate is not None else (await self.current()).rules
        name = department_named(department, known_departments(base, people_departments))
        rules = rules_with(base, name, field, value)
        start = view.candidate.label if view.candidate is not None else view.active
        return await self.set_shadow(
            rules,
            author=author,
            reason=reason,
            source=f"{start} with {name}.{field} = {value}",
            based_on_candidate=view.candidate.number if view.candidate is not None else 0,
        )

    async def shadow_version(self, number: int, *, author: str, reason: str) -> ShadowChangeResult:
        """`/rules shadow start <version>`: a kept version's exact rules as the candidate."""
        version = await self.version(number)
        return await self.set_shadow(
            version.rules, author=author, reason=reason, source=version.label
        )

    async def stop_shadow(self, *, author: str, reason: str) -> ShadowChangeResult:
        await self._candidate_exists()
        return await self._update(
            ReviewRulesWorkflow.stop_shadow, StopShadowInput(author=author, reason=reason)
        )

    async def promote_shadow(
        self, *, author: str, reason: str, candidate: int | None = None
    ) -> ShadowChangeResult:
        await self._candidate_exists()
        return await self._update(
            ReviewRulesWorkflow.promote_shadow,
            PromoteShadowInput(author=author, reason=reason, candidate=candidate),
        )

    async def _candidate_exists(self) -> None:
        """NotFound when nothing is in shadow (the entity refuses it too, as a conflict; this
        names it as absent, for the API's 404). Unreadable: the entity's Update decides."""
        try:
            view = await self.shadow()
        except RulesUnreadable:
            return
        if view.candidate is None:
            raise NotFound(NOTHING_IN_SHADOW)

    async def _update(
        self, update: UpdateMethodMultiParam[[ReviewRulesWorkflow, P], R], input: P
    ) -> R:
        """One Update of the rules entity (created first if need be); a refusal is Refused."""
        return await update_entity(
            self._client,
            update,
            input,
            run=ReviewRulesWorkflow.run,
            initial=self._initial,
            workflow_id=self._workflow_id,
            task_queue=self._task_queue,
        )

    async def current(self) -> RulesVersion:
        """Raises RulesUnreadable when the entity cannot be read."""
        try:
            return await self._handle().query(
                ReviewRulesWorkflow.current, rpc_timeout=QUERY_TIMEOUT
            )
        except RPCError as err:
            raise self._unreadable(err) from err

    async def history(self) -> RulesHistory:
        try:
            return await self._handle().query(
                ReviewRulesWorkflow.history, rpc_timeout=QUERY_TIMEOUT
            )
        except RPCError as err:
            raise self._unreadable(err) from err

    async def version(self, number: int) -> RulesVersion:
        """Raises Refused for a version that does not exist (or is no longer kept whole)."""
        try:
            return await self._handle().query(
                ReviewRulesWorkflow.version, VersionInput(number=number), rpc_timeout=QUERY_TIMEOUT
            )
        except WorkflowQueryFailedError as err:
            latest = (await self.current()).number
            if not 1 <= number <= latest:  # absent, not merely no longer kept whole
                raise NotFound(err.message) from err
            raise Refused(err.message) from err
        except RPCError as err:
            raise self._unreadable(err) from err

    def _handle(self) -> WorkflowHandle[ReviewRulesWorkflow, None]:
        return self._client.get_workflow_handle_for(ReviewRulesWorkflow.run, self._workflow_id)

    def _unreadable(self, err: RPCError) -> RulesUnreadable:
        if err.status == RPCStatusCode.NOT_FOUND:
            return RulesUnreadable(
                f"The review rules entity {self._workflow_id} does not exist: restart a "
                "`purchasebot worker` or `bot` (they create it from the rules file)."
            )
        return RulesUnreadable(f"The review rules cannot be read now ({err.message}).")
