"""The parts of PurchaseApprovalWorkflow (`workflows/purchase_approval.py`), one concern a
module. Each part is a class the workflow inherits; a part uses only the parts below it:

    state <- messages <- delegation <- asking <- levels <- escalation <- waiting <- approval_stage
    levels <- second_approval <- approval_stage;  levels <- reassignment, decisions
    state <- review;  messages <- closing

Everything here is workflow code: deterministic, sandboxed, no I/O (activities do that)."""
