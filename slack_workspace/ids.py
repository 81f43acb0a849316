"""Identifiers in Slack's formats: message timestamps, object ids, trigger ids, hashes."""

from __future__ import annotations

import secrets
import string
import time
from collections.abc import Callable

_ALPHABET = string.digits + string.ascii_uppercase


class TsClock:
    """Message `ts` values like "1732780000.000100": unique and strictly increasing.

    Slack's ts doubles as the message id within a channel, so two messages posted in the same
    microsecond must still get different values; the clock is bumped by one microsecond then.
    """

    def __init__(self, now: Callable[[], float] = time.time) -> None:
        self._now = now
        self._last = 0

    def next(self) -> str:
        micros = max(int(self._now() * 1_000_000), self._last + 1)
        self._last = micros
        return f"{micros // 1_000_000}.{micros % 1_000_000:06d}"


class IdMaker:
    """Ids such as "D00000001" or "V0000000A": a type letter plus a base-36 counter, nine
    characters long like Slack's.

    Counters (not random ids) keep test output readable and reproducible within one run.
    """

    def __init__(self) -> None:
        self._counters: dict[str, int] = {}

    def next(self, prefix: str, width: int = 8) -> str:
        n = self._counters.get(prefix, 0) + 1
        self._counters[prefix] = n
        digits = ""
        while n:
            n, rem = divmod(n, 36)
            digits = _ALPHABET[rem] + digits
        return prefix + digits.rjust(width, "0")


def trigger_id(counter: int) -> str:
    # Slack's shape: "<unix seconds>.<number>.<32 hex>", e.g. 12345.98765.abcd2358fdea...
    return f"{int(time.time())}.{counter}.{secrets.token_hex(16)}"


def view_hash() -> str:
    # Slack's shape: "156772938.1827394" style "<unix seconds>.<random>".
    return f"{int(time.time())}.{secrets.token_hex(4)}"


def block_id() -> str:
    # Slack fills in a short random block_id/action_id when the app gives none.
    return "".join(secrets.choice(string.ascii_letters + string.digits) for _ in range(5))
