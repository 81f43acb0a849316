"""The OpenAPI 3.1 document, derived from the endpoint declarations (never written by hand)."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from bot.api.framework import Endpoint, ErrorAnswer

REF = "#/components/schemas/{model}"
_PATH_PARAM = re.compile(r"\{([^}/]+)\}")
_STATUS_TEXT = {
    400: "Invalid input: the message names the field path and the reason",
    401: "No token, or a token that is not valid",
    403: "The token's role may not do this",
    404: "Not found",
    409: "Conflict with the current state",
    413: "Body too large",
    500: "Failure on our side (logged)",
    503: "A part of the product cannot be reached now; try again",
}


def openapi_document(endpoints: Sequence[Endpoint], *, title: str, version: str) -> dict[str, Any]:
    models: list[type[BaseModel]] = [ErrorAnswer]
    for endpoint in endpoints:
        models += [m for m in (endpoint.body, endpoint.answer) if m is not None]
    unique = list(dict.fromkeys(models))
    refs, defs = models_json_schema([(model, "validation") for model in unique], ref_template=REF)
    schemas = defs.get("$defs", {})

    def ref(model: type[BaseModel]) -> dict[str, Any]:
        return dict(refs[(model, "validation")])

    paths: dict[str, dict[str, Any]] = {}
    for endpoint in endpoints:
        paths.setdefault(endpoint.path, {})[endpoint.method.lower()] = _operation(endpoint, ref)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": title,
            "version": version,
            "description": "Bearer tokens carry a role (ops, finance, auditor, integration); "
            "each operation lists the roles it allows. Errors are JSON `ErrorAnswer`s.",
        },
        "paths": paths,
        "components": {
            "schemas": schemas,
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
        },
        "security": [{"bearer": []}],
    }


def _operation(endpoint: Endpoint, ref: Any) -> dict[str, Any]:
    roles = sorted(role.value for role in endpoint.roles)
    operation: dict[str, Any] = {
        "summary": endpoint.summary,
        "description": (endpoint.description + "\n\n" if endpoint.description else "")
        + f"Roles: {', '.join(roles)}."
        + (" Audited and announced in the ops channel." if endpoint.changes else ""),
        "x-roles": roles,
        "parameters": _parameters(endpoint),
        "responses": {"200": _json("OK", ref(endpoint.answer))},
    }
    if endpoint.body is not None:
        operation["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": ref(endpoint.body)}},
        }
    for status in sorted({401, 403, 500, *endpoint.errors}):
        operation["responses"][str(status)] = _json(_STATUS_TEXT[status], ref(ErrorAnswer))
    return operation


def _parameters(endpoint: Endpoint) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in _PATH_PARAM.findall(endpoint.path)
    ]
    if endpoint.query is not None:
        schema = endpoint.query.model_json_schema()
        required = set(schema.get("required", []))
        for name, prop in schema.get("properties", {}).items():
            found.append(
                {
                    "name": name,
                    "in": "query",
                    "required": name in required,
                    "schema": {k: v for k, v in prop.items() if k != "title"},
                    "description": prop.get("description", ""),
                }
            )
    return found


def _json(description: str, schema: dict[str, Any]) -> dict[str, Any]:
    return {"description": description, "content": {"application/json": {"schema": schema}}}
