"""Importing past purchases into ImportedHistoryWorkflow (`purchasebot history import`)."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client, WorkflowUpdateFailedError
from temporalio.common import WorkflowIDConflictPolicy
from temporalio.exceptions import ApplicationError

from appconfig.settings import Settings
from domain.history import HistoryImportError, HistoryRecord, parse_history_csv
from domain.imported_history_models import (
    ImportedHistoryState,
    ImportHistoryInput,
    ImportHistoryResult,
)
from entities.imported_history import IMPORTED_HISTORY_WORKFLOW_ID, ImportedHistoryWorkflow


class ImportRefused(Exception):
    """The file cannot be imported; nothing was imported."""


def read_history_file(path: Path) -> list[HistoryRecord]:
    try:
        return parse_history_csv(path.read_text(encoding="utf-8-sig"))
    except OSError as err:
        raise ImportRefused(f"Cannot read {path}: {err.strerror}") from err
    except HistoryImportError as err:
        raise ImportRefused(f"{path}: {err}") from err


async def import_history_records(
    client: Client,
    settings: Settings,
    records: list[HistoryRecord],
    *,
    imported_by: str,
    workflow_id: str = IMPORTED_HISTORY_WORKFLOW_ID,
) -> ImportHistoryResult:
    """Idempotent: records already imported are counted, not added again."""
    handle = await client.start_workflow(
        ImportedHistoryWorkflow.run,
        ImportedHistoryState(),
        id=workflow_id,
        task_queue=settings.control_task_queue,
        id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
    )
    try:
        return await handle.execute_update(
            ImportedHistoryWorkflow.import_records,
            ImportHistoryInput(records=records, imported_by=imported_by),
        )
    except WorkflowUpdateFailedError as err:
        cause = err.cause
        message = cause.message if isinstance(cause, ApplicationError) else str(err)
        raise ImportRefused(message) from err
