"""A circuit breaker per department: stop calling a department that keeps failing, probe it later.

Closed: calls go through; ``failures`` consecutive failures open it. Open: calls fail at once with
``UPSTREAM_CIRCUIT_OPEN`` (no waiting on a dead department) until ``reset_s`` has passed. Half-open: one
probe call goes through; its success closes the breaker, its failure opens it again.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from enum import StrEnum


class BreakerState(StrEnum):
    CLOSED = "CLOSED"
    OPEN = "OPEN"
    HALF_OPEN = "HALF_OPEN"


class CircuitBreaker:
    def __init__(self, failures: int, reset_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.threshold = failures
        self.reset_s = reset_s
        self.clock = clock
        self._failures = 0
        self._opened_at: float | None = None
        self._probing = False

    @property
    def state(self) -> BreakerState:
        if self._opened_at is None:
            return BreakerState.CLOSED
        if self._probing or self.clock() - self._opened_at >= self.reset_s:
            return BreakerState.HALF_OPEN
        return BreakerState.OPEN

    def allow(self) -> bool:
        """May a call go out now? In half-open state only the first caller gets to probe."""
        state = self.state
        if state is BreakerState.CLOSED:
            return True
        if state is BreakerState.HALF_OPEN and not self._probing:
            self._probing = True
            return True
        return False

    def retry_after(self) -> float:
        if self._opened_at is None:
            return 0.0
        return max(0.0, self.reset_s - (self.clock() - self._opened_at))

    def record_success(self) -> None:
        self._failures = 0
        self._opened_at = None
        self._probing = False

    def abandon_probe(self) -> None:
        """The probe never reached the department (cancelled, bulkhead full): let another caller probe."""
        self._probing = False

    def record_failure(self) -> None:
        self._failures += 1
        if self._probing or self._failures >= self.threshold:
            self._opened_at = self.clock()
            self._probing = False
