"""What the gateway records of each call to a department: metrics, a trace span, a debug log line.

``UpstreamWatch`` is the ``connectors.resilience.UpstreamObserver`` the registry hands every department's
resilience layer. It sees plain strings (department, capability) and typed ``UpstreamError`` codes:
never the request, its URL or its body, so nothing personal can reach metrics, traces or logs from here.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client.metrics import Counter, Histogram

from connectors.errors import UpstreamCode, UpstreamError
from observability.logging import upstream_log
from observability.metrics import Metrics
from observability.tracing import Tracing, mark_error

CANCELLED = "CANCELLED"  # the caller gave up (deadline of the whole operation, client gone)


class UpstreamWatch:
    def __init__(self, metrics: Metrics, tracing: Tracing) -> None:
        self.metrics = metrics
        self.tracing = tracing
        self._children: dict[tuple[str, str], tuple[Counter, Histogram]] = {}

    @contextmanager
    def attempt(self, department: str, operation: str) -> Iterator[None]:
        started = time.perf_counter()
        code: str | None = None
        with self.tracing.upstream(department, operation) as span:
            try:
                yield
            except UpstreamError as error:
                code = error.code.value
                raise
            except asyncio.CancelledError:
                code = CANCELLED
                raise
            except Exception:
                code = UpstreamCode.CONNECTOR_FAILED.value
                raise
            finally:
                seconds = time.perf_counter() - started
                self._record(department, operation, seconds, code)
                if code is not None:
                    mark_error(span, code)

    def refused(self, department: str, operation: str, code: str) -> None:
        """A call that never left: the breaker is open or the bulkhead is full."""
        self.metrics.upstream_errors.labels(department, operation, code).inc()
        if upstream_log.isEnabledFor(logging.DEBUG):
            upstream_log.debug(
                "upstream call refused",
                extra={"fields": {"department": department, "operation": operation, "outcome": code}},
            )

    def _record(self, department: str, operation: str, seconds: float, code: str | None) -> None:
        calls, latency = self._series(department, operation)
        calls.inc()
        latency.observe(seconds)
        if code is not None:
            self.metrics.upstream_errors.labels(department, operation, code).inc()
        if upstream_log.isEnabledFor(logging.DEBUG):
            fields = {
                "department": department,
                "operation": operation,
                "duration_ms": round(seconds * 1000, 1),
                "outcome": code or "ok",
            }
            upstream_log.debug("upstream call", extra={"fields": fields})

    def _series(self, department: str, operation: str) -> tuple[Counter, Histogram]:
        """The labelled children, looked up once (``labels()`` takes a lock and builds a key each time)."""
        key = (department, operation)
        found = self._children.get(key)
        if found is None:
            found = (
                self.metrics.upstream_calls.labels(department, operation),
                self.metrics.upstream_seconds.labels(department, operation),
            )
            self._children[key] = found
        return found
