"""Every Slack Web API method the product calls is granted by manifest.yaml and answered by the
local workspace: otherwise real Slack says missing_scope in production, where no test looks."""

from __future__ import annotations

import ast
from pathlib import Path

from slack_sdk.web.async_client import AsyncWebClient

from slack_workspace.config import WorkspaceConfig
from slack_workspace.faults import FaultPlan
from slack_workspace.scopes import (
    METHOD_SCOPES,
    NO_SCOPE_METHODS,
    Grants,
    scopes_from_manifest,
)
from slack_workspace.state import WorkspaceState
from slack_workspace.web_api import WebApi

REPO = Path(__file__).resolve().parents[2]
PRODUCT = ("activities", "appconfig", "bot", "domain", "entities", "workflows")
# AsyncWebClient methods that are not Web API methods of their own.
GENERIC = {"api_call"}


def slack_methods_called() -> dict[str, list[str]]:
    """API method ("chat.postMessage") -> where the product calls it ("bot/x.py:12")."""
    found: dict[str, list[str]] = {}
    for package in PRODUCT:
        for path in sorted((REPO / package).rglob("*.py")):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)):
                    continue
                name = node.func.attr
                if name in GENERIC or name.startswith("_"):
                    continue
                if callable(getattr(AsyncWebClient, name, None)) and "_" in name:
                    where = f"{path.relative_to(REPO)}:{node.lineno}"
                    found.setdefault(name.replace("_", "."), []).append(where)
                if name == "api_call" and node.args and isinstance(node.args[0], ast.Constant):
                    where = f"{path.relative_to(REPO)}:{node.lineno}"
                    found.setdefault(str(node.args[0].value), []).append(where)
    return found


def test_the_scan_finds_the_calls_we_know_of() -> None:
    called = slack_methods_called()
    assert {"chat.postMessage", "conversations.open", "conversations.join"} <= set(called)


def test_every_called_method_is_granted_by_the_manifest() -> None:
    granted = scopes_from_manifest(REPO / "manifest.yaml")
    problems = []
    for method, where in sorted(slack_methods_called().items()):
        if method in NO_SCOPE_METHODS:
            continue
        needed = METHOD_SCOPES.get(method)
        if needed is None:
            problems.append(f"{method} ({where[0]}): not in slack_workspace/scopes.py's table")
        elif not granted.intersection(needed):
            problems.append(f"{method} ({where[0]}): manifest.yaml grants none of {needed}")
    assert problems == []


def test_every_called_method_is_answered_by_the_local_workspace() -> None:
    api = WebApi(WorkspaceState([]), WorkspaceConfig(), FaultPlan(), Grants())
    implemented = set(api.methods)
    missing = sorted(set(slack_methods_called()) - implemented)
    assert missing == []
