"""Moving an existing installation's imported history from the old single entity
(`ImportedHistoryWorkflow`) into the shards.

The records are read from the old entity's event history, not by querying it: the current
run's start input (the state carried over by continue-as-new) plus every accepted import
Update since. That works even for an entity stuck in the failure that made us replace it (a
continue-as-new input over 2 MB fails every workflow task, so the entity answers no query).
Once the records are in the shards the old entity is terminated, which also marks the
migration done: later calls find nothing running and return at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from domain.history import HistoryRecord, record_key
from domain.history_shards import ShardRecord
from domain.imported_history_models import ImportedHistoryState, ImportHistoryInput
from domain.refusal import Refused
from entities.history_batches import ImportTotals, batches_by_shard, send_batches
from entities.history_store import HistoryStore
from entities.imported_history import IMPORTED_HISTORY_WORKFLOW_ID


@dataclass(frozen=True)
class LegacyHistory:
    workflow_id: str
    records: list[HistoryRecord]


async def read_legacy_history(
    client: Client, workflow_id: str = IMPORTED_HISTORY_WORKFLOW_ID
) -> LegacyHistory | None:
    """The old entity's records, or None when there is no running old entity (never created,
    or already migrated)."""
    handle = client.get_workflow_handle(workflow_id)
    try:
        described = await handle.describe()
    except RPCError as err:
        if err.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    if described.status != WorkflowExecutionStatus.RUNNING:
        return None
    converter = client.data_converter
    records: dict[str, HistoryRecord] = {}
    async for event in handle.fetch_history_events():
        if event.HasField("workflow_execution_started_event_attributes"):
            payloads = event.workflow_execution_started_event_attributes.input.payloads
            [state] = await converter.decode(payloads, [ImportedHistoryState])
            records.update(state.records)
        elif event.HasField("workflow_execution_update_accepted_event_attributes"):
            request = event.workflow_execution_update_accepted_event_attributes.accepted_request
            [batch] = await converter.decode(request.input.args.payloads, [ImportHistoryInput])
            records.update((record_key(r), r) for r in batch.records)
    return LegacyHistory(workflow_id=workflow_id, records=list(records.values()))


class MigrationIncomplete(Refused):
    """Some records were refused by the shards; the old entity keeps running."""


async def migrate_legacy_history(
    client: Client, store: HistoryStore, workflow_id: str = IMPORTED_HISTORY_WORKFLOW_ID
) -> ImportTotals | None:
    """Copy the old entity's records into the shards, then retire the old entity. Returns
    what was copied, or None when there was nothing to migrate. Safe to repeat and to run from
    several processes at once: the shards de-duplicate, and a failed or partial copy leaves the
    old entity running for the next attempt."""
    legacy = await read_legacy_history(client, workflow_id)
    if legacy is None:
        return None
    totals = ImportTotals()
    batches = batches_by_shard(ShardRecord.of(r) for r in legacy.records)
    await send_batches(store, batches, imported_by="migration", on_outcome=totals.count)
    if totals.refused:
        raise MigrationIncomplete(
            f"{totals.refused} of {len(legacy.records)} records of {workflow_id} were refused "
            "by the history shards; the old entity keeps them and stays running"
        )
    try:
        await client.get_workflow_handle(workflow_id).terminate(
            reason=f"imported history migrated to the history shards ({totals.added} new records)"
        )
    except RPCError as err:
        if err.status != RPCStatusCode.NOT_FOUND:
            raise  # someone else retired it first: fine
    return totals
