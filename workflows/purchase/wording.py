"""How the purchase workflow words times, waits and failures for people and the audit trail."""

from __future__ import annotations

from datetime import datetime, timedelta

from temporalio.exceptions import ActivityError, FailureError


def utc(at: datetime) -> str:
    return at.strftime("%Y-%m-%d %H:%M UTC")


def days(waited: timedelta) -> str:
    """E.g. "5 days", "12 hours", for people."""
    if waited >= timedelta(days=1) and waited % timedelta(days=1) == timedelta(0):
        days = waited // timedelta(days=1)
        return f"{days} day{'s' if days != 1 else ''}"
    hours = waited / timedelta(hours=1)
    return f"{hours:g} hours" if hours >= 1 else f"{waited.total_seconds():g} seconds"


def why(err: ActivityError) -> str:
    """The reason an activity failed, for the audit trail and people."""
    cause = err.cause
    if isinstance(cause, FailureError):
        return cause.message or type(cause).__name__
    return str(cause or err) or "unknown error"
