"""`/purchase delegate`: setting and ending a delegation, and handing the delegator's requests
that already wait over (and back) through each request's `reassign` Update.

When a delegation ends:
- `/purchase delegate off` (also after its date passed): new requests go to the delegator again,
  and every request still waiting for the delegate (or the fallback manager) on the delegator's
  behalf is handed back to the delegator.
- its date passes without `off`: new requests go to the delegator again; requests already handed
  over stay with whoever has them (they hold the buttons, and nobody is asked twice) until they
  are decided, or the delegator says `/purchase delegate off`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TypeVar

from temporalio.client import Client
from temporalio.workflow import UpdateMethodMultiParam

from appconfig.files import ReloadingFile
from bot.purchase_service import PurchaseService
from domain.actors import mention
from domain.delegation import (
    Delegation,
    DelegationChange,
    DelegationsState,
    EndDelegationInput,
    SetDelegationInput,
    stand_in,
)
from domain.directory import Directory
from domain.refusal import Refused
from entities.client import query_entity, update_entity
from entities.delegations import DELEGATIONS_WORKFLOW_ID, DelegationsWorkflow

log = logging.getLogger(__name__)
P = TypeVar("P", SetDelegationInput, EndDelegationInput)


@dataclass(frozen=True)
class Handover:
    """What happened to the delegator's waiting requests: moved (id -> to whom), and the ones
    that could not move (id -> why)."""

    delegation: Delegation
    moved: dict[str, str] = field(default_factory=dict)
    not_moved: dict[str, str] = field(default_factory=dict)


class DelegationsAdmin:
    """`task_queue` is where the entity runs: settings.control_task_queue in production."""

    def __init__(
        self,
        client: Client,
        task_queue: str,
        service: PurchaseService,
        directory: ReloadingFile[Directory],
        workflow_id: str = DELEGATIONS_WORKFLOW_ID,
    ) -> None:
        self._client = client
        self._task_queue = task_queue
        self._service = service
        self._directory = directory
        self.workflow_id = workflow_id

    async def set(self, delegator: str, delegate: str, until: datetime, *, actor: str) -> Handover:
        """Set the delegation, then hand the delegator's waiting requests to the delegate (or,
        for the delegate's own requests, to the delegator's manager). Raises Refused."""
        if self._directory.get().value.person(delegate) is None:
            raise Refused(
                f"{mention(delegate)} is not in the company directory; pick someone who is."
            )
        change = await self._update(
            DelegationsWorkflow.set,
            SetDelegationInput(delegator=delegator, delegate=delegate, until=until, actor=actor),
        )
        handover = Handover(change.delegation)
        for request_id in await self._service.waiting_for([delegator]):
            status = await self._service.status(request_id)
            target = stand_in(
                delegator,
                status.request.requester,
                change.delegation,
                self._directory.get().value.manager_of,
            )
            if target.approver == delegator:
                handover.not_moved[request_id] = target.note
                continue
            reason = f"delegation until {until:%Y-%m-%d %H:%M} UTC"
            await self._move(handover, request_id, target.approver, delegator, reason, delegator)
        return handover

    async def end(self, delegator: str, *, actor: str) -> Handover:
        """End the delegation and hand back what still waits on the delegator's behalf."""
        change = await self._update(
            DelegationsWorkflow.end, EndDelegationInput(delegator=delegator, actor=actor)
        )
        handover = Handover(change.delegation)
        holders = [change.delegation.delegate, self._directory.get().value.manager_of(delegator)]
        for request_id in await self._service.waiting_for([h for h in holders if h]):
            status = await self._service.status(request_id)
            if status.on_behalf_of != delegator:
                continue
            await self._move(handover, request_id, delegator, actor, "delegation ended", "")
        return handover

    async def active_for(self, delegator: str) -> Delegation | None:
        state = await query_entity(
            self._client,
            self.workflow_id,
            DelegationsWorkflow.snapshot,
            missing=DelegationsState(),
        )
        return state.active_for(delegator, datetime.now(UTC))

    async def _move(
        self,
        handover: Handover,
        request_id: str,
        to: str,
        by: str,
        reason: str,
        on_behalf_of: str,
    ) -> None:
        try:
            await self._service.reassign(
                request_id, to=to, by=by, reason=reason, on_behalf_of=on_behalf_of
            )
        except Refused as refused:
            # Decided or cancelled meanwhile, or the approver unreachable: the rest still move.
            log.info("request %s not handed to %s: %s", request_id, to, refused)
            handover.not_moved[request_id] = str(refused)
        else:
            handover.moved[request_id] = to

    async def _update(
        self, update: UpdateMethodMultiParam[[DelegationsWorkflow, P], DelegationChange], arg: P
    ) -> DelegationChange:
        return await update_entity(
            self._client,
            update,
            arg,
            run=DelegationsWorkflow.run,
            initial=DelegationsState(),
            workflow_id=self.workflow_id,
            task_queue=self._task_queue,
        )
