"""The direction of imports: domain <- entities <- activities <- workflows <- bot <- bench.

A package may import the ones below it, never one above: pure code stays testable without
Temporal, activities never need a workflow module, and nothing shipped depends on tests/.
Every import in a module counts, also one inside a function or under TYPE_CHECKING.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# package -> first-party packages it must not import
FORBIDDEN: dict[str, set[str]] = {
    "appconfig": {"domain", "entities", "activities", "workflows", "bot", "bench", "tests"},
    "domain": {"entities", "activities", "workflows", "bot", "bench", "tests"},
    "entities": {"activities", "workflows", "bot", "bench", "tests"},
    "activities": {"workflows", "bot", "bench", "tests"},
    "workflows": {"bot", "bench", "tests"},
    "bot": {"bench", "tests"},
    "slack_workspace": {"bench", "tests"},
    "bench": {"tests"},
}


def imported_packages(path: Path) -> set[tuple[str, int]]:
    """(top-level package, line) of every absolute import in the file."""
    found: set[tuple[str, int]] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), str(path))):
        if isinstance(node, ast.Import):
            found |= {(alias.name.split(".")[0], node.lineno) for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add((node.module.split(".")[0], node.lineno))
    return found


def violations(package: str) -> list[str]:
    return [
        f"{path.relative_to(ROOT)}:{line} imports {imported}"
        for path in sorted((ROOT / package).rglob("*.py"))
        for imported, line in sorted(imported_packages(path))
        if imported in FORBIDDEN[package]
    ]


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_package_imports_only_downwards(package: str) -> None:
    assert (ROOT / package).is_dir(), f"{package}/ is gone: update FORBIDDEN"
    assert violations(package) == []


def test_the_check_sees_a_forbidden_import(tmp_path: Path) -> None:
    """The walker must find imports wherever they hide, or the tests above prove nothing."""
    module = tmp_path / "m.py"
    module.write_text(
        "from typing import TYPE_CHECKING\n"
        "if TYPE_CHECKING:\n    from workflows.names import TASK_QUEUE\n"
        "def f():\n    import bot.cli\n"
    )
    assert {name for name, _ in imported_packages(module)} == {"typing", "workflows", "bot"}
