"""The guards in front of /graphql, built from settings, in the order they must run.

Outermost first: CORS (so that every refusal below still carries the CORS headers a browser needs to
read it), the in-flight limit (the cheapest refusal, and the one that matters most under overload:
nothing else runs for a refused request), authentication (Starlette's ``AuthenticationMiddleware``
with ``identity.authentication.BearerTokens``: the token verified once, the ``Caller`` left in
``scope["user"]`` for everything below), rate limits (keyed by that caller's subject; may ask Redis),
the body limit (reads the body, bounded). Probes (/healthz, /readyz, /metrics) pass every guard but CORS.

``/graphql/stream`` (GraphQL over Server-Sent Events) is guarded like ``/graphql``: each request is
rate limited and its body bounded; it holds an in-flight slot only until its event stream starts
(``middleware/inflight.py``), after which the stream counts against ``ONESTOP_SSE_MAX_STREAMS``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from starlette.middleware import Middleware
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.middleware.cors import CORSMiddleware

from identity.authentication import CHANNEL_HEADER, BearerTokens
from identity.digest import Digester
from identity.tokens import TokenVerifier
from middleware.body import BodyLimit
from middleware.buckets import Buckets, MemoryBuckets, RedisBuckets
from middleware.inflight import InFlight, InFlightLimit
from middleware.ratelimit import RateLimit, RateLimiter

GRAPHQL_PATH = "/graphql"
STREAM_PATH = "/graphql/stream"  # GraphQL over Server-Sent Events (schema/sse.py)
GUARDED = frozenset({GRAPHQL_PATH, STREAM_PATH})
# graphql-sse's single-connection mode (schema/sse.py names it too; tests/test_authentication.py checks)
RESERVATION_HEADER = "x-graphql-event-stream-token"
CORS_HEADERS = [
    "authorization",
    "content-type",
    "accept",
    CHANNEL_HEADER,
    "x-request-id",
    RESERVATION_HEADER,
]
# PUT reserves an event stream and DELETE stops one of its operations (graphql-sse)
CORS_METHODS = ["GET", "POST", "PUT", "DELETE"]


@dataclass(slots=True)
class Guards:
    middleware: list[Middleware]
    inflight: InFlight
    rate_limits: RateLimiter
    buckets: Buckets
    closed: bool = field(default=False)

    async def close(self) -> None:
        if not self.closed:
            self.closed = True
            await self.buckets.close()


class GuardSettings(Protocol):
    """The settings the guards read (``config.Settings`` has them; middleware imports no config)."""

    @property
    def max_in_flight(self) -> int: ...
    @property
    def redis_url(self) -> str | None: ...
    @property
    def namespace(self) -> str: ...
    @property
    def client_rate(self) -> float: ...
    @property
    def rate_limit_client_burst(self) -> int: ...
    @property
    def rate_limit_channels(self) -> Mapping[str, float]: ...
    @property
    def cors_origins(self) -> Sequence[str]: ...
    @property
    def max_body_bytes(self) -> int: ...


def hardening(
    settings: GuardSettings, verifier: TokenVerifier | None = None, digester: Digester | None = None
) -> Guards:
    """The guards for ``settings`` (a ``config.Settings``); ``Guards.close()`` on shutdown. ``digester``
    names clients in shared (Redis) buckets: the app's, so every process counts a client alike."""
    inflight = InFlight(limit=settings.max_in_flight)
    buckets: Buckets = RedisBuckets(settings.redis_url) if settings.redis_url else MemoryBuckets()
    limiter = RateLimiter(
        buckets=buckets,
        namespace=settings.namespace,
        client_rate=settings.client_rate,
        client_burst=float(settings.rate_limit_client_burst),
        channel_rates=dict(settings.rate_limit_channels),
        digester=digester or Digester.ephemeral(),
    )
    middleware: list[Middleware] = []
    if settings.cors_origins:
        middleware.append(
            Middleware(
                CORSMiddleware,
                allow_origins=list(settings.cors_origins),
                allow_methods=CORS_METHODS,
                allow_headers=CORS_HEADERS,
                expose_headers=["retry-after", "x-request-id"],
                max_age=600,
            )
        )
    middleware += [
        Middleware(InFlightLimit, gauge=inflight, paths=GUARDED),
        # who is asking, before the rate limits that count by it (websocket handshakes included)
        Middleware(AuthenticationMiddleware, backend=BearerTokens(verifier, GUARDED)),
        Middleware(RateLimit, limiter=limiter, paths=GUARDED),
        Middleware(BodyLimit, max_bytes=settings.max_body_bytes, paths=GUARDED),
    ]
    return Guards(middleware, inflight, limiter, buckets)
