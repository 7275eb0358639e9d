"""A bounded number of requests in flight per process; past it, 503 with ``Retry-After`` at once.

A queue in front of a saturated process only adds latency to every request in it and memory to the
process: clients time out while their requests are still waiting, and then retry. Refusing at once
keeps the requests admitted fast and tells the others (and the load balancer) to come back.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Receive, Scope, Send

from middleware.responses import refuse


@dataclass(slots=True)
class InFlight:
    """Requests being worked on now, the limit, and how many were refused (read by ``/metrics``)."""

    limit: int
    current: int = 0
    refused: int = 0


class InFlightLimit:
    def __init__(
        self, app: ASGIApp, gauge: InFlight, paths: frozenset[str], retry_after_s: float = 1.0
    ) -> None:
        self.app = app
        self.gauge = gauge
        self.paths = paths
        self.retry_after_s = retry_after_s

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths:
            await self.app(scope, receive, send)
            return
        gauge = self.gauge
        if gauge.current >= gauge.limit:
            gauge.refused += 1
            await refuse(
                send,
                503,
                "OVERLOADED",
                "the gateway is at capacity; retry after the time in Retry-After",
                self.retry_after_s,
            )
            return
        gauge.current += 1
        try:
            await self.app(scope, receive, send)
        finally:
            gauge.current -= 1
