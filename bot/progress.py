"""A progress bar for long CLI commands, on a terminal only: piped or logged output gets the
final summary and no carriage-return noise."""

from __future__ import annotations

import sys
import time
from typing import TextIO

WIDTH = 30
# Redrawing more often than this costs more than it tells.
REDRAW_SECONDS = 0.2


class TerminalProgress:
    def __init__(self, stream: TextIO = sys.stderr) -> None:
        self._stream = stream
        self._phase = ""
        self._total = 0
        self._done = 0
        self._drawn_at = 0.0

    @staticmethod
    def wanted(stream: TextIO = sys.stderr) -> bool:
        return stream.isatty()

    def start(self, phase: str, total: int) -> None:
        self._phase, self._total, self._done = phase, total, 0
        self._draw(force=True)

    def advance(self, amount: int) -> None:
        self._done += amount
        self._draw()

    def finish(self) -> None:
        self._draw(force=True)
        self._stream.write("\n")
        self._stream.flush()

    def _draw(self, *, force: bool = False) -> None:
        now = time.monotonic()
        if not force and now - self._drawn_at < REDRAW_SECONDS:
            return
        self._drawn_at = now
        share = min(1.0, self._done / self._total) if self._total else 1.0
        filled = int(share * WIDTH)
        bar = "#" * filled + "." * (WIDTH - filled)
        self._stream.write(f"\r{self._phase:>9} [{bar}] {share:6.1%}")
        self._stream.flush()
