"""A bounded number of requests in flight per process; past it, 503 with ``Retry-After`` at once.

A queue in front of a saturated process only adds latency to every request in it and memory to the
process: clients time out while their requests are still waiting, and then retry. Refusing at once
keeps the requests admitted fast and tells the others (and the load balancer) to come back.

An event stream (``text/event-stream``, GraphQL over SSE) holds its slot only until its headers are
sent: the work of admitting it (token, parsing, validation) is a request, but the hours it may stay
open are not, or a few hundred idle subscribers would starve every query. Open streams have their own
bound (``ONESTOP_SSE_MAX_STREAMS``), as websockets have theirs.
"""

from __future__ import annotations

from dataclasses import dataclass

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from middleware.responses import refuse

EVENT_STREAM = b"text/event-stream"


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
        held = True

        async def send_and_release_streams(message: Message) -> None:
            nonlocal held
            if held and message["type"] == "http.response.start" and _is_event_stream(message):
                held = False
                gauge.current -= 1
            await send(message)

        try:
            await self.app(scope, receive, send_and_release_streams)
        finally:
            if held:
                gauge.current -= 1


def _is_event_stream(message: Message) -> bool:
    for name, value in message.get("headers", ()):
        if name.lower() == b"content-type":
            return bool(value.startswith(EVENT_STREAM))
    return False
