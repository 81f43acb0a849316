"""The API framework over real HTTP (aiohttp on a free port): auth, roles, JSON errors with the
field path, audit of changes, and the OpenAPI document derived from the declarations."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web
from pydantic import BaseModel, Field

from bot.api.app import build_api, mount_api
from bot.api.framework import ApiCall, ApiError, Endpoint
from bot.api.tokens import ApiTokens, Role

TOKENS = {role: f"token-for-{role.value}-0123456789" for role in Role}


class Limits(BaseModel):
    max_amount: Decimal = Field(gt=0)


class ChangeBody(BaseModel):
    department: str
    limits: Limits


class Changed(BaseModel):
    status: str
    department: str


class DryRun(BaseModel):
    dry_run: bool = Field(default=False, description="Only say what would happen")


@dataclass
class Trail:
    """The audit trail's interface, kept in memory: what the framework recorded, in order."""

    entries: list[tuple[str, str, str]] = field(default_factory=list)

    async def record(self, actor: str, action: str, detail: str = "") -> None:
        self.entries.append((actor, action, detail))


async def _change(call: ApiCall) -> Changed:
    body = call.body_as(ChangeBody)
    if body.department != call.path["department"]:
        raise ApiError(400, "The body's department is not the path's.", field="department")
    call.query_as(DryRun)
    return Changed(status="success", department=body.department)


async def _boom(call: ApiCall) -> Changed:
    raise RuntimeError("a bug with a secret detail")


ENDPOINTS = [
    Endpoint(
        "PUT",
        "/api/things/{department}",
        "Change a thing",
        roles=frozenset({Role.OPS}),
        answer=Changed,
        handle=_change,
        body=ChangeBody,
        query=DryRun,
        changes=True,
    ),
    Endpoint(
        "GET",
        "/api/boom",
        "Fails",
        roles=frozenset(Role),
        answer=Changed,
        handle=_boom,
    ),
]


@dataclass
class Served:
    url: str
    trail: Trail
    http: aiohttp.ClientSession

    async def call(
        self, method: str, path: str, role: Role | None = Role.OPS, **kwargs: Any
    ) -> tuple[int, dict[str, Any]]:
        headers = {"Authorization": f"Bearer {TOKENS[role]}"} if role else {}
        headers |= kwargs.pop("headers", {})
        async with self.http.request(method, self.url + path, headers=headers, **kwargs) as r:
            assert r.content_type == "application/json"
            return r.status, await r.json()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest_asyncio.fixture
async def served() -> AsyncIterator[Served]:
    trail = Trail()
    tokens = ApiTokens.parse(",".join(f"{t}:{role.value}" for role, t in TOKENS.items()))
    http = web.Application()
    mount_api(http, build_api(tokens, trail, ENDPOINTS))
    runner = web.AppRunner(http)
    await runner.setup()
    port = _free_port()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    try:
        async with aiohttp.ClientSession() as session:
            yield Served(f"http://127.0.0.1:{port}", trail, session)
    finally:
        await runner.cleanup()


BODY = {"department": "IT", "limits": {"max_amount": "500"}}


async def test_a_change_by_the_right_role_is_answered_and_audited(served: Served) -> None:
    status, answer = await served.call("PUT", "/api/things/IT", json=BODY)
    assert (status, answer) == (200, {"status": "success", "department": "IT"})
    assert served.trail.entries == [
        (
            "api:ops-1",
            "api_change",
            'PUT /api/things/IT department="IT" limits={"max_amount":"500"}',
        )
    ]


async def test_the_audit_records_what_was_asked_cutting_long_values(served: Served) -> None:
    """As a Slack command's text is: the fields the caller set (query and body), long values
    cut; a refusal after the body was read says what was refused."""
    long_name = "X" * 500
    body = {"department": long_name, "limits": {"max_amount": "7"}}
    status, _ = await served.call("PUT", f"/api/things/{long_name}", json=body, params=DRY)
    assert status == 200
    cut = '"' + "X" * 198 + "…"  # 200 characters of its JSON
    assert served.trail.entries[-1][1:] == (
        "api_change",
        f'PUT /api/things/{long_name} dry_run=true department={cut} limits={{"max_amount":"7"}}',
    )
    body["department"] = "HR"
    status, _ = await served.call("PUT", "/api/things/IT", json=body)
    assert status == 400
    assert served.trail.entries[-1][1:] == (
        "api_change_refused",
        'PUT /api/things/IT department="HR" limits={"max_amount":"7"}: '
        "The body's department is not the path's.",
    )


DRY = {"dry_run": "true"}


async def test_who_am_i_names_the_caller(served: Served) -> None:
    assert await served.call("GET", "/api/whoami", Role.AUDITOR) == (
        200,
        {"name": "auditor-3", "role": "auditor"},
    )


async def test_no_token_or_a_wrong_one_is_401_and_a_change_attempt_is_audited(
    served: Served,
) -> None:
    status, answer = await served.call("PUT", "/api/things/IT", role=None, json=BODY)
    assert status == 401
    assert answer["error"] == "unauthorized" and "Bearer" in answer["message"]
    wrong = {"Authorization": "Bearer not-a-token-at-all-000000"}
    status, answer = await served.call("GET", "/api/whoami", role=None, headers=wrong)
    assert (status, answer["error"]) == (401, "unauthorized")
    assert served.trail.entries == [
        ("api:unauthenticated", "api_change_refused", "PUT /api/things/IT: " + _msg(401))
    ]
    assert all("not-a-token" not in str(entry) for entry in served.trail.entries)


def _msg(status: int) -> str:
    return {401: "Send an API token: `Authorization: Bearer <token>`."}[status]


async def test_the_wrong_role_is_403_naming_the_roles_allowed(served: Served) -> None:
    status, answer = await served.call("PUT", "/api/things/IT", Role.AUDITOR, json=BODY)
    assert status == 403
    assert answer["message"] == (
        "A token with role `auditor` cannot PUT /api/things/{department}; it needs one of: ops."
    )
    assert served.trail.entries[-1][:2] == ("api:auditor-3", "api_change_refused")


@pytest.mark.parametrize(
    ("request_args", "message", "where"),
    [
        ({"data": "{not json"}, "The body is not valid JSON", None),
        ({"json": {"department": "IT"}}, "Body field `limits`: Field required.", "limits"),
        (
            {"json": {"department": "IT", "limits": {"max_amount": "-1"}}},
            "Body field `limits.max_amount`: Input should be greater than 0.",
            "limits.max_amount",
        ),
        (
            {"json": {"department": "HR", "limits": {"max_amount": "1"}}},
            "The body's department is not the path's.",
            "department",
        ),
        (
            {"json": BODY, "params": {"dry_run": "perhaps"}},
            "Query field `dry_run`: Input should be a valid boolean",
            "dry_run",
        ),
    ],
)
async def test_bad_input_is_400_with_the_field_path(
    served: Served, request_args: dict[str, Any], message: str, where: str | None
) -> None:
    status, answer = await served.call("PUT", "/api/things/IT", **request_args)
    assert status == 400
    assert answer["error"] == "invalid"
    assert answer["message"].startswith(message)
    assert answer["field"] == where
    assert served.trail.entries[-1][1] == "api_change_refused"


async def test_unknown_paths_methods_and_bugs_answer_json_without_a_traceback(
    served: Served,
) -> None:
    status, answer = await served.call("GET", "/api/nothing")
    assert (status, answer["error"]) == (404, "not_found")
    assert "/api/openapi.json" in answer["message"]
    status, answer = await served.call("DELETE", "/api/whoami")
    assert (status, answer["error"]) == (405, "method_not_allowed")
    status, answer = await served.call("GET", "/api/boom")
    assert (status, answer["error"]) == (500, "internal")
    assert "secret" not in answer["message"] and "Traceback" not in answer["message"]


async def test_the_openapi_document_describes_every_endpoint_from_its_declaration(
    served: Served,
) -> None:
    async with served.http.get(served.url + "/api/openapi.json") as response:
        assert response.status == 200
        doc = await response.json()
    assert doc["openapi"] == "3.1.0"
    assert set(doc["paths"]) == {"/api/whoami", "/api/things/{department}", "/api/boom"}
    put = doc["paths"]["/api/things/{department}"]["put"]
    assert put["x-roles"] == ["ops"]
    assert put["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/ChangeBody"
    }
    params = {(p["name"], p["in"]) for p in put["parameters"]}
    assert params == {("department", "path"), ("dry_run", "query")}
    assert set(put["responses"]) == {"200", "400", "401", "403", "500"}
    schemas = doc["components"]["schemas"]
    assert {"ChangeBody", "Limits", "Changed", "ErrorAnswer", "CallerAnswer"} <= set(schemas)
    # Every reference resolves inside the document.
    refs = _refs(doc)
    assert refs and all(ref.removeprefix("#/components/schemas/") in schemas for ref in refs)


def _refs(node: Any) -> list[str]:
    if isinstance(node, dict):
        found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
        return found + [r for value in node.values() for r in _refs(value)]
    if isinstance(node, list):
        return [r for value in node for r in _refs(value)]
    return []
