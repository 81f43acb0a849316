"""Entity workflows: long-lived workflows that hold state every worker shares (feature flags,
imported history, the ops audit trail), and the client helpers that read and change them.

They sit below activities and workflows: activities query them, so nothing here may import
`activities/`, `workflows/` or `bot/` (tests/unit/test_import_direction.py checks it). Their
workflow type names are fixed with `@workflow.defn(name=...)`: running entities on existing
installations are found, and their histories replay, by that name, wherever the class lives.
"""
