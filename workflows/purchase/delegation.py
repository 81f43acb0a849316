"""Who stands in for an approver who is away (since DELEGATION_PATCH; for escalation targets
and second-level approvers too since JOURNEY_PATCH), and the `Approver` search attribute
through which a new delegation finds the requests already waiting (with `Deciders` since
DECIDERS_PATCH: everyone who may decide, for their App Home).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError

with workflow.unsafe.imports_passed_through():
    from activities.delegations import DelegationActivities
    from domain.actors import SYSTEM
    from domain.models import (
        DelegateLookupInput,
        DelegateLookupResult,
        JourneyStep,
    )
    from workflows.names import APPROVER, DECIDERS

from workflows.purchase.activity_options import (
    LOOKUP_RETRY,
    MESSAGE_TIMEOUT,
)
from workflows.purchase.messages import Messages
from workflows.purchase.wording import why


class DelegationSteps(Messages):
    """Delegate lookups, each audited; a lookup that fails never holds a request up."""

    async def _delegate_lookup(
        self, approver: str, excluded: Sequence[str] = ()
    ) -> DelegateLookupResult | None:
        """Who stands in for `approver` (never the requester nor anyone `excluded`); None when
        the delegations cannot be read (audited): the approver is then asked, a request never
        waits on the lookup."""
        try:
            return await workflow.execute_activity_method(
                DelegationActivities.delegate_for,
                DelegateLookupInput(
                    approver=approver,
                    requester=self._request.requester,
                    excluded=[e for e in excluded if e],
                ),
                start_to_close_timeout=MESSAGE_TIMEOUT,
                retry_policy=LOOKUP_RETRY,
            )
        except ActivityError as err:
            self._record(SYSTEM, "delegations_unavailable", f"asking {approver}: {why(err)}")
            return None

    async def _stand_in(self, approver: str, excluded: Sequence[str]) -> DelegateLookupResult:
        """Since JOURNEY_PATCH, for an escalation target or a second-level approver: whom to ask
        instead of `approver`, audited as "delegated to X on behalf of `approver`"."""
        found = await self._delegate_lookup(approver, excluded)
        if found is None:
            return DelegateLookupResult(approver=approver)
        if found.approver != approver:
            self._record(
                SYSTEM,
                "delegated",
                f"delegated to {found.approver} on behalf of {approver}: {found.note}",
            )
        elif found.note:
            self._record(SYSTEM, "delegation_not_followed", found.note)
        return found

    async def _look_up_delegate(self) -> None:
        """A delegate stands in for an approver who is away (never the requester)."""
        found = await self._delegate_lookup(self._approver)
        if found is None:
            return
        if found.note:
            self._record(SYSTEM, "delegated", found.note)
        if found.approver != self._approver:
            self._step(JourneyStep.DELEGATED, found.approver)
        self._approver, self._on_behalf_of = found.approver, found.on_behalf_of

    def _publish_approver(self) -> None:
        """Visibility knows whom each waiting request waits for: a new delegation finds them.
        Since DECIDERS_PATCH it also knows everyone who may decide it (the second level's
        pool): each of them finds it in their App Home."""
        updates: list[SearchAttributeUpdate[Any]] = [APPROVER.value_set(self._approver)]
        if self._deciders_listed:
            updates.append(DECIDERS.value_set(self._deciders()))
        workflow.upsert_search_attributes(updates)
