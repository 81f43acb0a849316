"""ImportedHistoryWorkflow: a long-lived entity holding imported past purchases.

Why a workflow and not a file: workers are stateless and may run on many machines; Temporal is
the one durable store they all share. Imports arrive as a validated Update and are de-duplicated
by record key, so importing the same CSV twice changes nothing.
"""

from __future__ import annotations

from temporalio import workflow

from entities.lifetime import live_until_continue_as_new

with workflow.unsafe.imports_passed_through():
    from domain.history import record_key
    from domain.imported_history_models import (
        EmployeeRecordsInput,
        EmployeeRecordsResult,
        ImportedHistoryState,
        ImportHistoryInput,
        ImportHistoryResult,
    )

# One installation has one imported history; tests pass their own id.
IMPORTED_HISTORY_WORKFLOW_ID = "purchasebot-imported-history"
# Bounded so the state carried through continue-as-new stays far below Temporal's payload limit.
MAX_RECORDS = 50_000


@workflow.defn(name="ImportedHistoryWorkflow")
class ImportedHistoryWorkflow:
    @workflow.init
    def __init__(self, state: ImportedHistoryState) -> None:
        self._records = dict(state.records)

    @workflow.run
    async def run(self, state: ImportedHistoryState) -> None:
        await live_until_continue_as_new(lambda: ImportedHistoryState(records=self._records))

    @workflow.update
    def import_records(self, input: ImportHistoryInput) -> ImportHistoryResult:
        added = 0
        for record in input.records:
            key = record_key(record)
            if key not in self._records:
                self._records[key] = record
                added += 1
        workflow.logger.info("imported %d history records (by %s)", added, input.imported_by)
        return ImportHistoryResult(
            added=added, already_present=len(input.records) - added, total=len(self._records)
        )

    @import_records.validator
    def _validate_import(self, input: ImportHistoryInput) -> None:
        if not input.records:
            raise ValueError("The import holds no records.")
        if len(self._records) + len(input.records) > MAX_RECORDS:
            raise ValueError(
                f"Importing {len(input.records)} records would exceed the limit of {MAX_RECORDS}; "
                "import only the last year or so."
            )

    @workflow.query
    def employee_records(self, input: EmployeeRecordsInput) -> EmployeeRecordsResult:
        return EmployeeRecordsResult(
            records=[r for r in self._records.values() if r.employee_id == input.employee_id]
        )
