"""Log lines rate-limited per kind: during an outage, one line and then a count, not a line per failure.

A Redis outage makes every request fail the same way in the cache, the rate limiter, the bus and the
ledger; logging each failure wrote ~1,280 warning lines a second and buried everything else. A
``ThrottledLog`` lets the first line of a kind through, then counts the others and, every ``window_s``
seconds while they keep coming, writes one summary: "N more like this in the last 5 s". A kind is any
string the caller picks (``"cache get"``, ``"bus listen"``): the same failure, whatever its arguments.

Standard library only, so any layer may use it (connectors included). Time comes from ``clock`` so
tests control it.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field

WINDOW_S = 5.0


@dataclass(slots=True)
class _Kind:
    opened_at: float  # when the current window began
    level: int = logging.WARNING
    suppressed: int = 0
    timer: asyncio.TimerHandle | None = None


@dataclass
class ThrottledLog:
    """``warning(kind, message, *args)``: written if ``kind`` was quiet for ``window_s``, else counted.

    While a kind keeps failing, one summary line per window reports the count (written by a timer on
    the running event loop, so the last count of an outage is written even if the failures stop).
    """

    logger: logging.Logger
    window_s: float = WINDOW_S
    clock: Callable[[], float] = time.monotonic
    _kinds: dict[str, _Kind] = field(default_factory=dict)
    written: int = 0  # lines written (first lines and summaries), for tests and metrics
    suppressed: int = 0  # failures counted instead of written

    def warning(self, kind: str, message: str, *args: object, exc_info: bool = False) -> None:
        self.log(logging.WARNING, kind, message, *args, exc_info=exc_info)

    def info(self, kind: str, message: str, *args: object) -> None:
        self.log(logging.INFO, kind, message, *args)

    def log(self, level: int, kind: str, message: str, *args: object, exc_info: bool = False) -> None:
        """``exc_info``: the first line of a kind carries the traceback (its repeats are only counted)."""
        if not self.logger.isEnabledFor(level):
            return
        now = self.clock()
        state = self._kinds.get(kind)
        if state is not None and (now - state.opened_at < self.window_s or state.timer is not None):
            state.suppressed += 1
            self.suppressed += 1
            self._schedule(kind, state, now)
            return
        if state is not None and state.suppressed:  # no event loop ran the timer: summarise now
            state.suppressed += 1
            self.suppressed += 1
            self._summarise(kind, state, now)
            return
        self._kinds[kind] = _Kind(opened_at=now, level=level)
        self.written += 1
        self.logger.log(level, message, *args, exc_info=exc_info)

    def flush(self) -> None:
        """Write the count of every kind whose window has ended and forget quiet kinds."""
        now = self.clock()
        for kind, state in list(self._kinds.items()):
            if now - state.opened_at >= self.window_s:
                self._window_ended(kind)

    def _schedule(self, kind: str, state: _Kind, now: float) -> None:
        if state.timer is not None:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            return
        delay = max(0.0, state.opened_at + self.window_s - now)
        # an empty context: the summary belongs to no request (not to the one that happened to fail first)
        state.timer = loop.call_later(delay, self._window_ended, kind, context=contextvars.Context())

    def _window_ended(self, kind: str) -> None:
        state = self._kinds.get(kind)
        if state is None:
            return
        if state.timer is not None:
            state.timer.cancel()
            state.timer = None
        if state.suppressed:
            self._summarise(kind, state, self.clock())  # still failing: keep counting in a new window
        else:
            del self._kinds[kind]  # quiet for a whole window: its next failure is written in full

    def _summarise(self, kind: str, state: _Kind, now: float) -> None:
        self.written += 1
        seconds = round(max(self.window_s, now - state.opened_at), 1)
        self.logger.log(
            state.level, "%d more like this in the last %g s (%s)", state.suppressed, seconds, kind
        )
        state.suppressed = 0
        state.opened_at = now
