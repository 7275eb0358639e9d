"""The event streams of one process, counted and bounded: what ``/graphql/stream`` keeps between requests.

The protocol (graphql-sse, both modes) is ``schema/sse.py``; this module is only its bookkeeping: open
streams against ``ONESTOP_SSE_MAX_STREAMS``, single-connection reservations and whose they are, and the
streams being sent, so a server shutting down can end them. Kept apart from the protocol because the
app's ``Services`` holds it (``GatewayServer`` ends the streams on shutdown, ``/metrics`` and the tests
count them) and ``Services`` must not import the GraphQL view the protocol is built on.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from identity.principal import Principal

QUEUE_SIZE = 64  # events waiting for a slow reader; operations then wait (backpressure, bounded memory)

Owner = tuple[str, str] | None  # (role, subject) of whoever reserved a stream; None: anonymous


class StreamRefused(Exception):
    """A request refused before any stream starts: a typed JSON answer."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


def owner_of(principal: Principal | None) -> Owner:
    return None if principal is None else (principal.role.value, principal.subject)


@dataclass(eq=False)
class Reservation:
    """A single-connection stream: its events, its operations, and whether a client reads it yet."""

    token: str
    owner: Owner
    events: asyncio.Queue[str] = field(default_factory=lambda: asyncio.Queue(QUEUE_SIZE))
    operations: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    open: bool = False
    expiry: asyncio.TimerHandle | None = None

    async def stop(self) -> None:
        """Cancel every operation and wait until their generators have closed."""
        if self.expiry is not None:
            self.expiry.cancel()
        tasks = list(self.operations.values())
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


@dataclass
class EventStreams:
    """Open streams and reservations of this process, bounded (``ONESTOP_SSE_MAX_STREAMS``)."""

    limit: int
    reservations: dict[str, Reservation] = field(default_factory=dict)
    distinct: int = 0  # open distinct-connection streams
    refused: int = 0
    # per stream being sent: a future that tells it to stop, and one it sets when it has
    sending: dict[asyncio.Future[None], asyncio.Future[None]] = field(default_factory=dict)

    @property
    def current(self) -> int:
        return len(self.reservations) + self.distinct

    def admit(self) -> None:
        if self.current >= self.limit:
            self.refused += 1
            raise StreamRefused(503, "OVERLOADED", "too many event streams open; retry later")

    def find(self, token: str | None, owner: Owner, reading: bool = False) -> Reservation:
        """The caller's reservation; someone else's is as unknown as a made-up token.

        ``reading``: opening the stream, which a browser's ``EventSource`` does with ``?token=`` and
        no headers (the protocol's reason for reservations): the reservation, a secret only its maker
        was given, is then the credential. A caller who names themself must still be its maker."""
        found = self.reservations.get(token) if token else None
        if found is None or (found.owner != owner and not (reading and owner is None)):
            raise StreamRefused(404, "NOT_FOUND", "no such event stream; reserve one with PUT")
        return found

    async def close(self, timeout_s: float = 2.0) -> None:
        """End every stream being sent (the server is shutting down): each ends its response, so the
        server need not wait for clients that never leave, and clients reconnect, elsewhere or later."""
        sending = dict(self.sending)
        for stop in sending:
            if not stop.done():
                stop.set_result(None)
        if sending:
            await asyncio.wait(sending.values(), timeout=timeout_s)
