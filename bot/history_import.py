"""Importing past purchases into ImportedHistoryWorkflow (`purchasebot history import`)."""

from __future__ import annotations

from pathlib import Path

from temporalio.client import Client

from appconfig.settings import Settings
from domain.history import HistoryImportError, HistoryRecord, parse_history_csv
from domain.imported_history_models import (
    ImportedHistoryState,
    ImportHistoryInput,
    ImportHistoryResult,
)
from domain.refusal import Refused
from entities.client import update_entity
from entities.imported_history import IMPORTED_HISTORY_WORKFLOW_ID, ImportedHistoryWorkflow


def read_history_file(path: Path) -> list[HistoryRecord]:
    """The records of a CSV file; Refused (nothing imported) when it cannot be read or parsed."""
    try:
        return parse_history_csv(path.read_text(encoding="utf-8-sig"))
    except OSError as err:
        raise Refused(f"Cannot read {path}: {err.strerror}") from err
    except HistoryImportError as err:
        raise Refused(f"{path}: {err}") from err


async def import_history_records(
    client: Client,
    settings: Settings,
    records: list[HistoryRecord],
    *,
    imported_by: str,
    workflow_id: str = IMPORTED_HISTORY_WORKFLOW_ID,
) -> ImportHistoryResult:
    """Idempotent: records already imported are counted, not added again. Refused when the
    entity refuses the import (nothing imported)."""
    return await update_entity(
        client,
        ImportedHistoryWorkflow.import_records,
        ImportHistoryInput(records=records, imported_by=imported_by),
        run=ImportedHistoryWorkflow.run,
        initial=ImportedHistoryState(),
        workflow_id=workflow_id,
        task_queue=settings.control_task_queue,
    )
