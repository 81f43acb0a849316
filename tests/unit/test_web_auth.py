"""Signing in to the web dashboard: tokens, login links and sessions (signed, short-lived, not
interchangeable)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.api.tokens import ApiTokens, Role
from bot.web.auth import LINK_LIFETIME, SESSION_LIFETIME, Expired, Viewer, WebAuth, web_key

TOKEN = "finance-token-0123456789"
START = datetime(2026, 12, 1, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> datetime:
        return self.now


def auth(clock: Clock, key: bytes = b"k" * 32) -> WebAuth:
    return WebAuth(ApiTokens.parse(f"{TOKEN}:finance:money"), key, clock)


def test_a_token_names_its_caller_and_role() -> None:
    web = auth(Clock())
    assert web.from_token(TOKEN) == Viewer("api:money", Role.FINANCE)
    assert web.from_token("not-a-token-at-all-0000") is None


def test_a_login_link_works_until_it_expires() -> None:
    clock = Clock()
    web = auth(clock)
    olivia = Viewer("slack:UOLIVIA", Role.OPS)
    link = web.login_link(olivia)
    clock.now += LINK_LIFETIME - timedelta(seconds=1)
    assert web.from_login_link(link) == olivia
    clock.now += timedelta(seconds=1)
    with pytest.raises(Expired):
        web.from_login_link(link)


def test_a_session_lasts_longer_than_a_link() -> None:
    clock = Clock()
    web = auth(clock)
    viewer = Viewer("slack:UFIONA", Role.FINANCE)
    session = web.session(viewer)
    clock.now += SESSION_LIFETIME - timedelta(minutes=1)
    assert web.from_session(session) == viewer
    clock.now += timedelta(minutes=1)
    with pytest.raises(Expired):
        web.from_session(session)


def test_links_and_sessions_cannot_stand_in_for_each_other() -> None:
    web = auth(Clock())
    viewer = Viewer("slack:UOLIVIA", Role.OPS)
    assert web.from_session(web.login_link(viewer)) is None
    assert web.from_login_link(web.session(viewer)) is None


def test_a_tampered_or_foreign_link_is_refused() -> None:
    clock = Clock()
    link = auth(clock).login_link(Viewer("slack:UALICE", Role.FINANCE))
    body, _, mac = link.partition(".")
    forged = auth(clock).login_link(Viewer("slack:UALICE", Role.OPS)).partition(".")[0]
    assert auth(clock).from_login_link(f"{forged}.{mac}") is None
    assert auth(clock, key=b"x" * 32).from_login_link(link) is None
    for junk in ("", ".", "abc", f"{body}.", f".{mac}"):
        assert auth(clock).from_login_link(junk) is None


def test_the_key_is_the_web_secret_else_derived_from_slacks() -> None:
    assert web_key("s3cret", "slack") == web_key("s3cret", "other")
    assert web_key(None, "slack") == web_key(None, "slack") != web_key(None, "other")
    assert web_key(None, "") != web_key(None, "")  # random per process
