"""Every recorded path of PurchaseApprovalWorkflow, driven on real servers by the current code.

The drift gate (tests/test_replay_drift.py) runs them all, concurrently on the session's one dev
server (and the time-skipping server for the 7-day timeout), and compares each history's
commands with the committed `tests/histories/current-<path>.json`; `make histories` records them.
A new path: add a `RecordedPath` to PATHS, then `make histories`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from contextlib import AsyncExitStack
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from temporalio.client import WorkflowHistory
from temporalio.testing import WorkflowEnvironment

from bot.purchase_service import Submitted, new_request_id
from bot.worker import PURCHASE_WORKFLOWS
from domain.delegation import DelegationsState, SetDelegationInput
from domain.feature_flags import SetFlagInput
from domain.flag_registry import AUTOMATED_REVIEW
from domain.models import ApprovalDecision, JourneyStep
from domain.refusal import Refused
from entities.client import update_entity
from entities.delegations import DelegationsWorkflow
from tests.corpus.commands import command_sequence
from tests.fixtures.broken_activities import (
    approval_requests_keep_failing,
    broken_review,
    carlos_unreachable,
    no_approver_reachable,
    store_says_no,
)
from tests.integration.world import World, poll_until, running_world
from workflows.purchase_approval import PurchaseApprovalWorkflow

INVALID_PRODUCT = "https://www.amazon.es/dp/B000000000"  # a valid link, not in the catalog
# Deadline of each wait (polled, so a quick step costs nothing): generous, because the gate
# runs late in `make test`, when a 2-core machine may be very busy.
WITHIN = 60.0


@dataclass(frozen=True)
class Recording:
    world: World
    env: WorkflowEnvironment


Drive = Callable[[Recording], Awaitable[str]]
"""Takes the request down its path; returns the id of the workflow whose history is recorded."""


@dataclass(frozen=True)
class RecordedPath:
    name: str
    drive: Drive
    time_skipping: bool = False
    replace_activities: tuple[Callable[..., Any], ...] = ()


def book(world: World) -> tuple[str, str]:
    product = world.product(lambda p: p.category == "books" and p.price < Decimal(100))
    return world.url(product), str(product.price)


async def commands_of(world: World, workflow_id: str) -> list[str]:
    history = await world.client.get_workflow_handle(workflow_id).fetch_history()
    return command_sequence(history)


async def waiting_for_manager(
    world: World, requester: str = "UNICO", request_id: str | None = None
) -> Submitted:
    """A request of `requester` waiting for the manager, its 7-day timer started. (Nico has no
    purchase history: the review sends him to his manager, Carlos.) Decisions wait for the
    timer: one arriving while the manager is being asked would change the commands."""
    url, amount = book(world)
    submitted = await world.service.submit(
        requester=requester, url=url, amount=amount, request_id=request_id
    )

    async def timer_started() -> bool:
        return "timer" in await commands_of(world, submitted.workflow_id)

    await poll_until(timer_started, WITHIN, f"{submitted.workflow_id} to wait for its manager")
    return submitted


async def finished(world: World, submitted: Submitted) -> str:
    assert await world.service.outcome(submitted.request.request_id, wait_seconds=WITHIN)
    return submitted.workflow_id


async def auto_approved(r: Recording) -> str:
    await r.world.import_sample_history()
    url, amount = book(r.world)
    return await finished(
        r.world, await r.world.service.submit(requester="UALICE", url=url, amount=amount)
    )


async def waiting_for_approval(r: Recording) -> str:
    return (await waiting_for_manager(r.world)).workflow_id


async def decided_by_update(r: Recording, approve: bool) -> str:
    submitted = await waiting_for_manager(r.world)
    await r.world.service.decide(
        submitted.request.request_id, user="UCARLOS", approve=approve, reason="reason"
    )
    return await finished(r.world, submitted)


async def manual_approved(r: Recording) -> str:
    return await decided_by_update(r, approve=True)


async def manual_rejected(r: Recording) -> str:
    return await decided_by_update(r, approve=False)


async def signal_approved(r: Recording) -> str:
    """The seed's `approval_decision` signal: a refused one (ignored, audited), then Carlos."""
    submitted = await waiting_for_manager(r.world)
    handle = r.world.client.get_workflow_handle(submitted.workflow_id)
    await handle.signal(
        PurchaseApprovalWorkflow.approval_decision,
        ApprovalDecision(approved=False, decided_by="UBOB"),
    )
    await handle.signal(
        PurchaseApprovalWorkflow.approval_decision,
        ApprovalDecision(approved=True, decided_by="UCARLOS"),
    )
    return await finished(r.world, submitted)


async def cancelled(r: Recording) -> str:
    submitted = await waiting_for_manager(r.world)
    await r.world.service.cancel(submitted.request.request_id, user="UNICO")
    return await finished(r.world, submitted)


async def invalid_product(r: Recording) -> str:
    submitted = await r.world.service.submit(requester="UNICO", url=INVALID_PRODUCT, amount="10")
    return await finished(r.world, submitted)


async def duplicate_start(r: Recording) -> str:
    """The same request filed twice while it waits and once after it finished: one workflow."""
    request_id = new_request_id()
    submitted = await waiting_for_manager(r.world, request_id=request_id)
    await waiting_for_manager(r.world, request_id=request_id)
    await r.world.service.decide(request_id, user="UCARLOS", approve=True)
    await finished(r.world, submitted)
    url, amount = book(r.world)
    await r.world.service.submit(requester="UNICO", url=url, amount=amount, request_id=request_id)
    return submitted.workflow_id


async def review_failed_manual(r: Recording) -> str:
    """The review fails every attempt (replaced by a broken one): the manager decides."""
    await r.world.import_sample_history()
    submitted = await waiting_for_manager(r.world, requester="UALICE")
    await r.world.service.decide(submitted.request.request_id, user="UCARLOS", approve=True)
    return await finished(r.world, submitted)


async def review_off_manual(r: Recording) -> str:
    """The `automated-review-enabled` flag is off for Alice: no review, her manager decides."""
    await r.world.import_sample_history()
    await r.world.flags.set(
        SetFlagInput(
            flag=AUTOMATED_REVIEW.name, scope="user", key="UALICE", value="off", actor="test"
        )
    )
    submitted = await waiting_for_manager(r.world, requester="UALICE")
    await r.world.service.decide(submitted.request.request_id, user="UCARLOS", approve=True)
    return await finished(r.world, submitted)


async def order_failed(r: Recording) -> str:
    """Auto-approved, then the store refuses the order (replaced by one that always says no)."""
    await r.world.import_sample_history()
    url, amount = book(r.world)
    submitted = await r.world.service.submit(requester="UALICE", url=url, amount=amount)
    try:
        await r.world.service.outcome(submitted.request.request_id, wait_seconds=WITHIN)
    except Refused:
        return submitted.workflow_id
    raise AssertionError("the order was expected to fail")


async def escalated_approved(r: Recording) -> str:
    """Slack can never reach Carlos: the request escalates to his manager Helen, who approves."""
    submitted = await waiting_for_manager(r.world)
    await r.world.service.decide(submitted.request.request_id, user="UHELEN", approve=True)
    return await finished(r.world, submitted)


async def reassigned_approved(r: Recording) -> str:
    """Ops hand Carlos's waiting request to Helen (reassign-v1), who approves."""
    submitted = await waiting_for_manager(r.world)
    await r.world.service.reassign(
        submitted.request.request_id, to="UHELEN", by="UOLIVIA", reason="Carlos is away"
    )
    await r.world.service.decide(submitted.request.request_id, user="UHELEN", approve=True)
    return await finished(r.world, submitted)


async def delegated_approved(r: Recording) -> str:
    """Carlos delegated to Diana before Nico filed (delegation-v1): Diana approves for him."""
    until = datetime.now(UTC) + timedelta(days=3)
    await r.world.delegations.set("UCARLOS", "UDIANA", until, actor="UCARLOS")
    submitted = await waiting_for_manager(r.world)
    await r.world.service.decide(submitted.request.request_id, user="UDIANA", approve=True)
    return await finished(r.world, submitted)


async def nobody_reachable(r: Recording) -> str:
    """No approver can be reached: the request ends, rejected with the reason."""
    url, amount = book(r.world)
    return await finished(
        r.world, await r.world.service.submit(requester="UNICO", url=url, amount=amount)
    )


async def cancelled_while_asking(r: Recording) -> str:
    """The approval request keeps failing; the requester cancels while it is being retried."""
    url, amount = book(r.world)
    submitted = await r.world.service.submit(requester="UNICO", url=url, amount=amount)
    handle = r.world.client.get_workflow_handle(submitted.workflow_id)

    async def retrying() -> bool:
        pending = (await handle.describe()).raw_description.pending_activities
        return any(a.attempt >= 2 for a in pending)

    await poll_until(retrying, 20, f"{submitted.workflow_id}'s approval request to be retried")
    await r.world.service.cancel(submitted.request.request_id, user="UNICO")
    return await finished(r.world, submitted)


async def shadow_reviewed(r: Recording) -> str:
    """Candidate rules in shadow would auto-approve Nico (no history needed); the rules in force
    still send him to his manager, who approves. The verdict is recorded, never acted on."""
    await r.world.rules.set_shadow_field(
        "IT",
        "user_history.min_previous_purchases",
        "0",
        author="test",
        reason="newcomers",
        people_departments=["IT"],
    )
    submitted = await waiting_for_manager(r.world)
    await r.world.service.decide(submitted.request.request_id, user="UCARLOS", approve=True)
    return await finished(r.world, submitted)


async def reminded(world: World, request_id: str, times: int = 1) -> str:
    """Wait until the approver got `times` reminders; the reference of the last one."""

    def reminders() -> list[dict[str, str]]:
        return [
            m for m in world.notifier.messages_for(request_id) if m["kind"] == "approval_reminder"
        ]

    async def sent() -> bool:
        status = await world.service.status(request_id)
        return sum(e.step is JourneyStep.REMINDED for e in status.journey) >= times

    await poll_until(sent, WITHIN, f"{request_id}'s approver to be reminded {times} time(s)")
    return f"notification:{reminders()[-1]['id']}"


async def reminded_approved(r: Recording) -> str:
    """A day passes without a decision: Carlos is reminded, and approves from the reminder."""
    submitted = await waiting_for_manager(r.world)
    await r.env.sleep(timedelta(days=1, minutes=1))
    request_id = submitted.request.request_id
    ref = await reminded(r.world, request_id)
    await r.world.service.decide(request_id, user="UCARLOS", approve=True, message_ref=ref)
    return await finished(r.world, submitted)


async def escalation_message(world: World, request_id: str, to: str) -> str:
    """Wait until the request escalated to `to`; the reference of their approval message."""

    async def escalated() -> bool:
        status = await world.service.status(request_id)
        return any(e.step is JourneyStep.ESCALATED and e.person == to for e in status.journey)

    await poll_until(escalated, WITHIN, f"{request_id} to escalate to {to}")
    [asked] = [
        m
        for m in world.notifier.messages_for(request_id)
        if m["kind"] == "approval_request" and m["recipient"] == to
    ]
    return f"notification:{asked['id']}"


async def escalated_by_time_approved(r: Recording) -> str:
    """Five days without Carlos's decision (two reminders): it moves to his manager Helen, who
    approves from her message."""
    submitted = await waiting_for_manager(r.world)
    await r.env.sleep(timedelta(days=5, minutes=1))
    request_id = submitted.request.request_id
    ref = await escalation_message(r.world, request_id, "UHELEN")
    await r.world.service.decide(request_id, user="UHELEN", approve=True, message_ref=ref)
    return await finished(r.world, submitted)


LAPTOP = "https://www.amazon.es/dp/B0CX23V2ZK"  # 1199 EUR: two need a second approval


async def two_levels(r: Recording, second_approves: bool) -> str:
    """Two laptops (above 2,000 EUR): Carlos approves, then the IT head Helen decides."""
    submitted = await r.world.service.submit(
        requester="UNICO", url=LAPTOP, amount="2398", quantity=2
    )
    request_id = submitted.request.request_id

    async def level(n: int) -> bool:
        status = await r.world.service.status(request_id)
        return status.level == n and "timer" in await commands_of(r.world, submitted.workflow_id)

    await poll_until(lambda: level(1), WITHIN, f"{request_id} to wait for Carlos")
    await r.world.service.decide(request_id, user="UCARLOS", approve=True)

    async def helen_asked() -> bool:
        status = await r.world.service.status(request_id)
        commands = await commands_of(r.world, submitted.workflow_id)
        return status.level == 2 and commands.count("timer") >= 2

    await poll_until(helen_asked, WITHIN, f"{request_id} to wait for the second approval")
    await r.world.service.decide(request_id, user="UHELEN", approve=second_approves)
    return await finished(r.world, submitted)


async def two_levels_approved(r: Recording) -> str:
    return await two_levels(r, second_approves=True)


async def two_levels_rejected(r: Recording) -> str:
    return await two_levels(r, second_approves=False)


async def away(world: World, delegator: str, delegate: str, days: int = 30) -> None:
    """`delegator` delegates to `delegate`, set in the entity only: `/purchase delegate`'s
    hand-over of requests already waiting reads visibility, which the time-skipping server
    lacks (and nothing waits yet)."""
    await update_entity(
        world.client,
        DelegationsWorkflow.set,
        SetDelegationInput(
            delegator=delegator,
            delegate=delegate,
            until=datetime.now(UTC) + timedelta(days=days),
            actor=delegator,
        ),
        run=DelegationsWorkflow.run,
        initial=DelegationsState(),
        workflow_id=world.delegations.workflow_id,
        task_queue=world.settings.control_task_queue,
    )


async def escalated_to_delegate_approved(r: Recording) -> str:
    """Helen is away (Diana decides for her): after five days without Carlos's decision the
    request escalates to Helen, so Diana is asked on her behalf, and approves."""
    await away(r.world, "UHELEN", "UDIANA")
    submitted = await waiting_for_manager(r.world)
    await r.env.sleep(timedelta(days=5, minutes=1))
    request_id = submitted.request.request_id

    async def delegated() -> bool:
        status = await r.world.service.status(request_id)
        return status.approver == "UDIANA"

    await poll_until(delegated, WITHIN, f"{request_id} to escalate to Diana for Helen")
    [asked] = [
        m
        for m in r.world.notifier.messages_for(request_id)
        if m["kind"] == "approval_request" and m["recipient"] == "UDIANA"
    ]
    ref = f"notification:{asked['id']}"
    await r.world.service.decide(request_id, user="UDIANA", approve=True, message_ref=ref)
    return await finished(r.world, submitted)


async def second_approval_impossible(r: Recording) -> str:
    """George is away and Helen approves his report Fiona's two laptops for him: Finance's second
    approvers are Helen, Fiona and George, so nobody may give the second approval. The request
    ends (rejected by the system), the requester and ops are told."""
    await away(r.world, "UGEORGE", "UHELEN")
    submitted = await r.world.service.submit(
        requester="UFIONA", url=LAPTOP, amount="2398", quantity=2
    )
    request_id = submitted.request.request_id

    async def helen_asked() -> bool:
        status = await r.world.service.status(request_id)
        return status.approver == "UHELEN" and "timer" in await commands_of(
            r.world, submitted.workflow_id
        )

    await poll_until(helen_asked, WITHIN, f"{request_id} to wait for Helen")
    await r.world.service.decide(request_id, user="UHELEN", approve=True)
    return await finished(r.world, submitted)


async def approval_timeout(r: Recording) -> str:
    submitted = await waiting_for_manager(r.world)
    await r.env.sleep(timedelta(days=7, seconds=1))
    return await finished(r.world, submitted)


PATHS: tuple[RecordedPath, ...] = (
    RecordedPath("auto-approved", auto_approved),
    RecordedPath("waiting-for-approval", waiting_for_approval),
    RecordedPath("manual-approved", manual_approved),
    RecordedPath("manual-rejected", manual_rejected),
    RecordedPath("signal-approved", signal_approved),
    RecordedPath("cancelled", cancelled),
    RecordedPath("invalid-product", invalid_product),
    RecordedPath("duplicate-start", duplicate_start),
    RecordedPath("review-failed-manual", review_failed_manual, replace_activities=(broken_review,)),
    RecordedPath("review-off-manual", review_off_manual),
    RecordedPath("order-failed", order_failed, replace_activities=(store_says_no,)),
    RecordedPath("approval-timeout", approval_timeout, time_skipping=True),
    RecordedPath("reminded-approved", reminded_approved, time_skipping=True),
    RecordedPath("escalated-by-time-approved", escalated_by_time_approved, time_skipping=True),
    RecordedPath("two-levels-approved", two_levels_approved),
    RecordedPath("two-levels-rejected", two_levels_rejected),
    RecordedPath("second-approval-impossible", second_approval_impossible),
    RecordedPath(
        "escalated-to-delegate-approved", escalated_to_delegate_approved, time_skipping=True
    ),
    RecordedPath(
        "escalated-approved", escalated_approved, replace_activities=(carlos_unreachable,)
    ),
    RecordedPath("reassigned-approved", reassigned_approved),
    RecordedPath("delegated-approved", delegated_approved),
    RecordedPath("nobody-reachable", nobody_reachable, replace_activities=(no_approver_reachable,)),
    RecordedPath(
        "cancelled-while-asking",
        cancelled_while_asking,
        replace_activities=(approval_requests_keep_failing,),
    ),
    RecordedPath("shadow-reviewed", shadow_reviewed),
)


STARTING_AT_ONCE = 3


async def record(
    paths: Sequence[RecordedPath],
    dev_env: WorkflowEnvironment,
    time_env: WorkflowEnvironment,
    tmp_path: Path,
    *,
    workflows: Sequence[type] = PURCHASE_WORKFLOWS,
) -> dict[str, WorkflowHistory]:
    """Drive every path at once (each in its own world) and return their histories by name.
    The dev-server worlds run a PINNED versioned worker as production does; the time-skipping
    server ignores deployments, so its world is unversioned.

    At most STARTING_AT_ONCE worlds start at a time: each creates a Worker Deployment and makes
    its build current, which the dev server does in a system workflow per deployment; a dozen
    at once on a busy server (late in `make test`, load ~19 on 2 cores) timed out, one at a time
    took 50 s there. The paths themselves run concurrently, except those on the time-skipping
    server: its clock is shared, so one path's `env.sleep` would move another's timers (a
    reminder path would see a later reminder too); they take turns."""
    starting = asyncio.Semaphore(STARTING_AT_ONCE)
    one_clock = asyncio.Lock()

    async def one(path: RecordedPath) -> tuple[str, WorkflowHistory]:
        env = time_env if path.time_skipping else dev_env
        async with AsyncExitStack() as stack:
            async with starting:
                world = await stack.enter_async_context(
                    running_world(
                        env.client,
                        tmp_path / path.name,
                        workflows=workflows,
                        replace_activities=path.replace_activities,
                        versioned=not path.time_skipping,
                    )
                )
            if path.time_skipping:
                async with one_clock:
                    workflow_id = await path.drive(Recording(world, env))
            else:
                workflow_id = await path.drive(Recording(world, env))
            history = await world.client.get_workflow_handle(workflow_id).fetch_history()
            return path.name, history

    return dict(await asyncio.gather(*(one(p) for p in paths)))
