"""Endpoints declared as data, served by aiohttp beside Slack's endpoint.

An `Endpoint` says its method, path, the roles allowed, and the pydantic models of its body,
query and answer; `Api` checks the bearer token and role, parses and validates the input, turns
every failure into a JSON error (never a traceback), audits every call that changes something,
and derives the OpenAPI document (`openapi.py`) from the same declarations."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Literal, Protocol, TypeVar

from aiohttp import web
from pydantic import BaseModel, ValidationError

from bot.api.tokens import ApiCaller, ApiTokens, Role
from domain.refusal import NotFound, Refused

log = logging.getLogger(__name__)

PREFIX = "/api/"
# A body larger than this is refused before it is parsed.
MAX_BODY_BYTES = 256 * 1024
# What the audit trail keeps of each value a call sent.
AUDITED_VALUE_CHARS = 200
M = TypeVar("M", bound=BaseModel)
Method = Literal["GET", "POST", "PUT", "DELETE"]


class ErrorAnswer(BaseModel):
    """Every error the API gives: what went wrong, in words a caller can act on."""

    status: int
    error: str
    message: str
    field: str | None = None
    """The path of the offending field in the body or query (`limits.max_amount`), if any."""


_ERROR_NAMES = {
    400: "invalid",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    500: "internal",
    503: "unavailable",
}


class ApiError(Exception):
    def __init__(self, status: int, message: str, *, field: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.field = field

    def answer(self) -> ErrorAnswer:
        return ErrorAnswer(
            status=self.status,
            error=_ERROR_NAMES.get(self.status, "error"),
            message=self.message,
            field=self.field,
        )


@contextmanager
def refused_as(status: int, *, field: str | None = None) -> Iterator[None]:
    """A refusal becomes an API error with its reason, as Slack shows it: 404 when what was
    named does not exist (NotFound: an unknown request, version, nothing in shadow), else
    `status` (409 for a refusal by what exists, 400 for bad input)."""
    try:
        yield
    except NotFound as unknown:
        raise ApiError(404, unknown.reason, field=field) from None
    except Refused as refused:
        raise ApiError(status, refused.reason) from None


def field_path(location: Sequence[int | str]) -> str:
    """pydantic's error location as one dotted path (`departments.IT.max_amount`, `items.0`)."""
    return ".".join(str(part) for part in location) or "(body)"


def invalid(err: ValidationError, where: str) -> ApiError:
    """The first validation error, with its field path; the others are usually its echo."""
    first = err.errors(include_url=False)[0]
    path = field_path(first["loc"])
    return ApiError(400, f"{where} field `{path}`: {first['msg']}.", field=path)


class AuditTrail(Protocol):
    async def record(self, actor: str, action: str, detail: str = "") -> None: ...


@dataclass(frozen=True)
class ApiCall:
    """What a handler receives: who is calling (authenticated, role checked), the path
    parameters, and the body and query already validated against the endpoint's models."""

    caller: ApiCaller
    path: Mapping[str, str]
    body: BaseModel | None = None
    query: BaseModel | None = None

    def body_as(self, model: type[M]) -> M:
        assert isinstance(self.body, model), "the endpoint declares this body model"
        return self.body

    def query_as(self, model: type[M]) -> M:
        assert isinstance(self.query, model), "the endpoint declares this query model"
        return self.query


Handler = Callable[[ApiCall], Awaitable[BaseModel]]


@dataclass(frozen=True)
class Endpoint:
    method: Method
    path: str
    """aiohttp style, under /api/: `/api/rules/{department}`."""
    summary: str
    roles: frozenset[Role]
    answer: type[BaseModel]
    handle: Handler
    body: type[BaseModel] | None = None
    query: type[BaseModel] | None = None
    changes: bool = False
    """Changes the product: every call (done, refused, failed) goes to the ops audit trail; the
    handler announces a done change in the ops channel (as the same change made in Slack)."""
    description: str = ""
    errors: tuple[int, ...] = field(default=(400,))
    """Statuses besides 401/403/500 this endpoint answers, for the OpenAPI document."""

    def __post_init__(self) -> None:
        if not self.path.startswith(PREFIX):
            raise ValueError(f"API paths start with {PREFIX}: {self.path}")
        if self.method != "GET" and not self.changes and self.body is None:
            raise ValueError(f"{self.method} {self.path}: a non-GET endpoint declares its body")


def json_answer(model: BaseModel, status: int = 200) -> web.Response:
    return web.Response(
        status=status, content_type="application/json", text=model.model_dump_json()
    )


def _bearer(request: web.Request) -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()


class Api:
    def __init__(
        self,
        tokens: ApiTokens,
        audit: AuditTrail,
        endpoints: Sequence[Endpoint],
        more_routes: Sequence[Callable[[web.Application], None]] = (),
    ) -> None:
        self._tokens = tokens
        self._audit = audit
        self.endpoints = tuple(endpoints)
        # Plain routes served beside the API wherever it is mounted (e.g. `/metrics`).
        self.more_routes = tuple(more_routes)
        seen: set[tuple[str, str]] = set()
        for endpoint in self.endpoints:
            key = (endpoint.method, endpoint.path)
            if key in seen:
                raise ValueError(f"{endpoint.method} {endpoint.path} is declared twice")
            seen.add(key)

    def mount(self, http: web.Application, openapi: Mapping[str, object]) -> None:
        """Add the endpoints, `/api/openapi.json` and the JSON error answers to `http`."""
        document = json.dumps(openapi)

        async def openapi_json(_: web.Request) -> web.Response:
            return web.Response(content_type="application/json", text=document)

        http.middlewares.append(_json_errors)
        http.router.add_get("/api/openapi.json", openapi_json)
        for endpoint in self.endpoints:
            http.router.add_route(endpoint.method, endpoint.path, self._serve(endpoint))
        for add_routes in self.more_routes:
            add_routes(http)

    def _serve(self, endpoint: Endpoint) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def serve(request: web.Request) -> web.Response:
            caller: ApiCaller | None = None
            call: ApiCall | None = None
            try:
                caller = self._identify(request)
                _check_role(caller, endpoint)
                call = ApiCall(
                    caller=caller,
                    path=dict(request.match_info),
                    body=await _body(request, endpoint.body),
                    query=_query(request, endpoint.query),
                )
                answer = await endpoint.handle(call)
            except ApiError as err:
                await self._audited(
                    endpoint, request, caller, call, "api_change_refused", err.message
                )
                raise
            except Exception:  # logged by the JSON-error middleware, answered as a 500
                await self._audited(endpoint, request, caller, call, "api_change_failed", "")
                raise
            await self._audited(endpoint, request, caller, call, "api_change", "")
            return json_answer(answer)

        return serve

    def _identify(self, request: web.Request) -> ApiCaller:
        token = _bearer(request)
        if token is None:
            raise ApiError(401, "Send an API token: `Authorization: Bearer <token>`.")
        caller = self._tokens.identify(token)
        if caller is None:
            raise ApiError(401, "This API token is not valid (unknown or revoked).")
        return caller

    async def _audited(
        self,
        endpoint: Endpoint,
        request: web.Request,
        caller: ApiCaller | None,
        call: ApiCall | None,
        action: str,
        why: str,
    ) -> None:
        if not endpoint.changes:
            return
        actor = caller.actor if caller else "api:unauthenticated"
        asked = _asked(call) if call else ""
        detail = " ".join(part for part in (request.method, request.rel_url.path, asked) if part)
        detail += f": {why}" if why else ""
        try:
            await self._audit.record(actor, action, detail)
        except Exception:  # the caller still gets its answer; ops see the log
            log.exception("could not audit %s by %s", detail, actor)


def _asked(call: ApiCall) -> str:
    """What a call asked for, as the audit trail records it (as a Slack command's text is):
    each field the caller set in its query and body, `name=<JSON value>`, long values cut (a
    whole rules document is kept by the rules' versions, not here). Bodies carry no secrets:
    tokens travel in the Authorization header."""
    fields: dict[str, object] = {}
    for model in (call.query, call.body):
        if model is not None:
            fields.update(model.model_dump(mode="json", exclude_unset=True))
    return " ".join(f"{name}={_cut(value)}" for name, value in fields.items())


def _cut(value: object) -> str:
    text = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
    return text if len(text) <= AUDITED_VALUE_CHARS else text[: AUDITED_VALUE_CHARS - 1] + "…"


def _check_role(caller: ApiCaller, endpoint: Endpoint) -> None:
    if caller.role not in endpoint.roles:
        allowed = ", ".join(sorted(role.value for role in endpoint.roles))
        raise ApiError(
            403,
            f"A token with role `{caller.role.value}` cannot {endpoint.method} "
            f"{endpoint.path}; it needs one of: {allowed}.",
        )


async def _body(request: web.Request, model: type[BaseModel] | None) -> BaseModel | None:
    if model is None:
        return None
    if request.content_length is not None and request.content_length > MAX_BODY_BYTES:
        raise ApiError(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
    raw = await request.content.read(MAX_BODY_BYTES + 1)
    if len(raw) > MAX_BODY_BYTES:
        raise ApiError(413, f"The body is larger than {MAX_BODY_BYTES} bytes.")
    try:
        data = json.loads(raw or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise ApiError(400, f"The body is not valid JSON: {err}.") from None
    try:
        return model.model_validate(data)
    except ValidationError as err:
        raise invalid(err, "Body") from None


def _query(request: web.Request, model: type[BaseModel] | None) -> BaseModel | None:
    if model is None:
        return None
    try:
        return model.model_validate(dict(request.query))
    except ValidationError as err:
        raise invalid(err, "Query") from None


@web.middleware
async def _json_errors(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Under /api/: every failure is a JSON ErrorAnswer. Elsewhere (Slack, probes): untouched."""
    if not request.path.startswith(PREFIX):
        return await handler(request)
    try:
        return await handler(request)
    except ApiError as err:
        return json_answer(err.answer(), err.status)
    except web.HTTPException as err:
        if err.status == 404:
            message = f"There is no {request.path}; see /api/openapi.json."
        elif err.status == 405:
            message = f"{request.path} does not answer {request.method}; see /api/openapi.json."
        else:
            message = err.reason
        return json_answer(ApiError(err.status, message).answer(), err.status)
    except Exception:
        log.exception("API %s %s failed", request.method, request.path)
        answer = ApiError(500, "Something went wrong on our side; it has been logged.")
        return json_answer(answer.answer(), 500)
