"""Endpoints about the API itself."""

from __future__ import annotations

from pydantic import BaseModel

from bot.api.framework import ApiCall, Endpoint
from bot.api.tokens import Role


class CallerAnswer(BaseModel):
    name: str
    role: Role


async def _whoami(call: ApiCall) -> CallerAnswer:
    return CallerAnswer(name=call.caller.name, role=call.caller.role)


def meta_endpoints() -> list[Endpoint]:
    return [
        Endpoint(
            "GET",
            "/api/whoami",
            "The caller's name and role (check a token)",
            roles=frozenset(Role),
            answer=CallerAnswer,
            handle=_whoami,
            errors=(),
        )
    ]
