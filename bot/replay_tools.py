"""Deploy-time replay gate and patch report (`purchasebot replay`, `purchasebot patches`).

Before a new build of the workflow code takes over, the histories of the workflows it will
have to continue (and answer queries for) must replay on it without nondeterminism.
`replay_matching` downloads those histories from the server and replays them offline; it
changes nothing on the server.

`patch_report` tells, per patch id, whether the `workflow.patched(...)` call is ready to be
turned into `workflow.deprecate_patch(...)`, using the `TemporalChangeVersion` search
attribute the server keeps for every workflow that took a patched branch.
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from functools import cache

from temporalio.client import Client, WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import (
    LogForwardingConfig,
    LoggingConfig,
    Runtime,
    TelemetryConfig,
    TelemetryFilter,
)
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Replayer

from domain.workflow_ids import PURCHASE_WORKFLOW_TYPE
from workflows.patches import Patch
from workflows.purchase_approval import PATCHES, PurchaseApprovalWorkflow
from workflows.rollout_controller import CONTROLLER_PATCHES, RolloutControllerWorkflow


class ReplayToolError(Exception):
    """A person's mistake (bad query, bad filter, bad patch id): one clear line, no trace."""


def workflow_type_name(cls: type) -> str:
    defn = getattr(cls, "__temporal_workflow_definition", None)
    if defn is None:
        raise ReplayToolError(f"{cls.__name__} is not a workflow class (no @workflow.defn).")
    return str(defn.name)


@dataclass(frozen=True)
class PatchedWorkflow:
    """A workflow whose command changes go behind patches, with its list of them."""

    cls: type
    patches: tuple[Patch, ...]

    @property
    def type_name(self) -> str:
        return workflow_type_name(self.cls)


# Every workflow that patches its commands, each with its one list of patches (kept with the
# workflow): what `purchasebot patches` reports on and `purchasebot replay` replays.
PATCHED_WORKFLOWS = (
    PatchedWorkflow(PurchaseApprovalWorkflow, PATCHES),
    PatchedWorkflow(RolloutControllerWorkflow, CONTROLLER_PATCHES),
)
REPLAYED_WORKFLOWS = tuple(patched.cls for patched in PATCHED_WORKFLOWS)
DEFAULT_REPLAY_QUERY = " OR ".join(
    f"WorkflowType='{patched.type_name}'" for patched in PATCHED_WORKFLOWS
)
# Every patch id PurchaseApprovalWorkflow checks: what `patch_report` reports on by default.
WORKFLOW_PATCHES = tuple(patch.id for patch in PATCHES)
# System search attribute (a KeywordList) the server fills with the ids of the patches a
# workflow took the patched branch of (`patched()` returned True, or `deprecate_patch`).
CHANGE_VERSION = "TemporalChangeVersion"
# Core's failure text is a Rust debug dump; the human part is its first `message: "..."`.
CORE_MESSAGE = re.compile(r'message: "((?:[^"\\]|\\.)*)"')

log = logging.getLogger("purchasebot.replay")


@dataclass(frozen=True)
class ReplayFailure:
    workflow_id: str
    run_id: str
    error: str


@dataclass
class ReplaySummary:
    total: int = 0
    """Histories replayed (the workflows of the given types that matched the query)."""
    replayed_ok: int = 0
    failures: list[ReplayFailure] = field(default_factory=list)
    skipped: dict[str, int] = field(default_factory=dict)
    """Workflows of other types that matched the query, by type: not replayed, not failed."""
    unavailable: list[str] = field(default_factory=list)
    """Workflow ids whose history was gone by the time it was fetched (deleted meanwhile)."""

    @property
    def ok(self) -> bool:
        return not self.failures


@dataclass(frozen=True)
class PatchStatus:
    patch_id: str
    open_without: int
    """Running workflows started by code that did not take the patched branch."""
    open_with: int
    """Running workflows whose history holds the patch marker."""

    @property
    def deprecate_safe(self) -> bool:
        return self.open_without == 0


def first_line(err: BaseException) -> str:
    """One readable line for a replay failure, e.g. "[TMPRL1100] Nondeterminism error: ..."."""
    text = str(err).strip() or type(err).__name__
    found = CORE_MESSAGE.search(text)
    if found:
        text = found.group(1).replace('\\"', '"')
    return text.splitlines()[0]


@cache
def _replay_runtime() -> Runtime:
    # Core logs every failed replay as a WARN on the console by default: for a command whose
    # output a person (or a deploy script) reads, they go to the Python log instead.
    return Runtime(
        telemetry=TelemetryConfig(
            logging=LoggingConfig(
                filter=TelemetryFilter(core_level="WARN", other_level="ERROR"),
                forwarding=LogForwardingConfig(logger=log),
            )
        )
    )


def _visibility_error(err: RPCError, what: str) -> ReplayToolError:
    if err.status is RPCStatusCode.INVALID_ARGUMENT:
        return ReplayToolError(f"Invalid visibility query {what!r}: {err.message}")
    return ReplayToolError(f"Visibility query {what!r} failed: {err.message}")


async def replay_matching(
    client: Client,
    query: str,
    *,
    workflows: Sequence[type] = REPLAYED_WORKFLOWS,
    limit: int | None = None,
) -> ReplaySummary:
    """Replay, on `workflows`, the history of every workflow the visibility `query` matches.

    Each history is replayed on the class of its workflow type; workflows of other types are
    counted in `skipped`, not replayed: no code is given for them.
    `limit` caps the number of histories replayed, in the order visibility lists them.
    Raises ReplayToolError for an invalid query.
    """
    if limit is not None and limit < 1:
        raise ReplayToolError(f"--limit must be at least 1, not {limit}.")
    names = {workflow_type_name(cls) for cls in workflows}
    summary = ReplaySummary()
    # Failures come back keyed by run id only; this gives them their workflow id back.
    workflow_ids: dict[str, str] = {}

    async def histories() -> AsyncIterator[WorkflowHistory]:
        # Streamed: one history in memory at a time, whatever the query matches.
        listing = client.list_workflows(query)
        try:
            async for execution in listing:
                if execution.workflow_type not in names:
                    skipped = summary.skipped
                    skipped[execution.workflow_type] = skipped.get(execution.workflow_type, 0) + 1
                    continue
                if limit is not None and len(workflow_ids) >= limit:
                    break
                handle = client.get_workflow_handle(execution.id, run_id=execution.run_id)
                try:
                    history = await handle.fetch_history()
                except RPCError as err:
                    # Deleted (retention, or by hand) between the listing and now: nothing to
                    # replay, and not a reason to fail the gate.
                    if err.status is RPCStatusCode.NOT_FOUND:
                        summary.unavailable.append(execution.id)
                        continue
                    raise
                workflow_ids[execution.run_id] = execution.id
                yield history
        except RPCError as err:
            if err.status is RPCStatusCode.INVALID_ARGUMENT:
                raise _visibility_error(err, query) from err
            raise

    replayer = Replayer(
        workflows=list(workflows),
        data_converter=pydantic_data_converter,
        runtime=_replay_runtime(),
    )
    results = await replayer.replay_workflows(histories(), raise_on_replay_failure=False)
    summary.total = len(workflow_ids)
    summary.failures = [
        ReplayFailure(workflow_id=workflow_ids[run_id], run_id=run_id, error=first_line(error))
        for run_id, error in results.replay_failures.items()
    ]
    summary.replayed_ok = summary.total - len(summary.failures)
    return summary


def _literal(patch_id: str) -> str:
    # Patch ids are code constants; a quote in one would only break (or bend) the query.
    if not patch_id or "'" in patch_id or "\\" in patch_id:
        raise ReplayToolError(f"Invalid patch id {patch_id!r}.")
    return f"'{patch_id}'"


async def _count(client: Client, query: str) -> int:
    try:
        return (await client.count_workflows(query)).count
    except RPCError as err:
        raise _visibility_error(err, query) from err


async def patch_report(
    client: Client,
    patch_ids: Sequence[str] = WORKFLOW_PATCHES,
    *,
    workflow_type: str = PURCHASE_WORKFLOW_TYPE,
    extra_filter: str | None = None,
) -> list[PatchStatus]:
    """For each patch id: Running workflows of `workflow_type` started without it / with it.

    Across the whole namespace unless `extra_filter` (a visibility query, e.g.
    `TaskQueue='x'`) narrows it. Counts come from visibility, which lags the workflows by tens
    of milliseconds.

    The lifecycle of a `workflow.patched(ID)` call:

    1. `patched(ID)` while workflows started by the old code may still be running: they
       replay the old branch, new ones take the new branch and record the marker.
    2. `deprecate_safe` (no Running workflow started without the patch): replace the call with
       `workflow.deprecate_patch(ID)` and keep only the new branch. Old histories no longer
       replay on that code, so also wait until closed workflows started without the patch are
       past the namespace retention if anyone still queries them (a query on a closed workflow
       replays it). A workflow not yet past its first workflow task counts as "without": it
       errs on the safe side.
    3. Remove the `deprecate_patch(ID)` call entirely once no workflow whose history holds a
       NON-deprecated marker can be replayed any more: every workflow started while step 1's
       `patched(ID)` code was deployed is closed (and past retention, for the same reason).
       Workflows started on step 2's code hold a deprecated marker, which replays fine with
       no call at all. `open_with == 0` is enough but stricter than needed, because
       `deprecate_patch` sets `TemporalChangeVersion` too, so visibility cannot tell the two
       markers apart: narrow with e.g. `StartTime < '<step 2 deploy time>'`, or simply run
       `purchasebot replay` against the code without the call.
    """
    base = f"WorkflowType='{workflow_type}' AND ExecutionStatus='Running'"
    if extra_filter is not None and extra_filter.strip():
        # Checked alone first, so that an error (and its position) is about what was typed.
        await _count(client, extra_filter)
        base += f" AND ({extra_filter})"
    report = []
    for patch_id in patch_ids:
        value = _literal(patch_id)
        # Verified on the dev server (Temporal 1.32, SQLite): on this KeywordList `=` means
        # "contains" and `!=` means "does not contain" and already includes workflows that
        # never set the attribute. The explicit IS NULL keeps that true on visibility stores
        # where a comparison with a missing value is not true.
        without = f"{base} AND ({CHANGE_VERSION} IS NULL OR {CHANGE_VERSION} != {value})"
        with_patch = f"{base} AND {CHANGE_VERSION} = {value}"
        report.append(
            PatchStatus(
                patch_id=patch_id,
                open_without=await _count(client, without),
                open_with=await _count(client, with_patch),
            )
        )
    return report


async def patched_workflows_report(
    client: Client, *, extra_filter: str | None = None
) -> list[tuple[PatchedWorkflow, list[PatchStatus]]]:
    """`patch_report` for every patched workflow, each on its own type and its own patches."""
    return [
        (
            patched,
            await patch_report(
                client,
                [patch.id for patch in patched.patches],
                workflow_type=patched.type_name,
                extra_filter=extra_filter,
            ),
        )
        for patched in PATCHED_WORKFLOWS
    ]
