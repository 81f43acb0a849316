"""The API the bot serves: every endpoint group listed once, mounted beside Slack's routes."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from importlib.metadata import PackageNotFoundError, version

from aiohttp import web

from bot.api.framework import Api, AuditTrail, Endpoint
from bot.api.meta import meta_endpoints
from bot.api.openapi import openapi_document
from bot.api.tokens import ApiTokens


def build_api(
    tokens: ApiTokens,
    audit: AuditTrail,
    groups: Sequence[Endpoint] = (),
    more_routes: Sequence[Callable[[web.Application], None]] = (),
) -> Api:
    """`groups`: the product's endpoints (rules, reports, ...), built with their dependencies by
    the caller (the bot's composition in bot/slack/connection.py, or a test)."""
    return Api(tokens, audit, [*meta_endpoints(), *groups], more_routes)


def mount_api(http: web.Application, api: Api) -> None:
    try:
        release = version("purchasebot")
    except PackageNotFoundError:
        release = "0.0.0"
    document = openapi_document(api.endpoints, title="purchasebot API", version=release)
    api.mount(http, document)
