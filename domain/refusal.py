"""The one exception for "a person asked for something that cannot be done"."""

from __future__ import annotations


class Refused(Exception):
    """Refused with a reason a person can read and act on; nothing was started or changed.

    Raised by every client-side service (purchases, rollouts, flags, imports) and shown to the
    person as it is: `str(refused)` is the reason."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotFound(Refused):
    """Refused because what was named does not exist (an unknown request id): the API answers
    404 rather than the 409 of a refusal by what exists."""
