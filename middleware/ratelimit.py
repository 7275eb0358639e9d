"""Rate limits per client and per channel, answered with 429 and ``Retry-After`` before any GraphQL work.

Who is asking was decided before this runs, once per request, by the authentication middleware
(``identity/authentication.py``): the limiter reads its ``Caller`` from the scope and verifies nothing.

The client is the verified token's subject (as its digest: a resident's subject is an ID number), else
the connecting IP address (behind a load balancer, set ``FORWARDED_ALLOW_IPS`` to its address so uvicorn
takes the client's from ``X-Forwarded-For``). An invalid token counts as its IP: the endpoint then
refuses it with 401. The channel is the token's, else the ``X-Onestop-Channel`` header; each channel may
have its own rate for all its clients together (kiosks of a district sharing one allowance, say).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from identity.authentication import caller_of
from identity.digest import Digester
from identity.principal import ClientChannel
from middleware.buckets import Bucket, Buckets, Verdict
from middleware.responses import refuse


@dataclass(frozen=True, slots=True)
class Client:
    client: str  # a digest: of the token subject, or of the IP address
    channel: ClientChannel


@dataclass(slots=True)
class RateLimiter:
    """The configured rates and the buckets that enforce them; ``refused`` counts refusals by scope."""

    buckets: Buckets
    namespace: str
    client_rate: float = 0.0  # 0: no per-client limit
    client_burst: float = 40.0
    channel_rates: dict[str, float] = field(default_factory=dict)
    # bucket keys live in Redis: subjects and addresses go in as keyed digests
    digester: Digester = field(default_factory=Digester.ephemeral)
    refused: Counter[str] = field(default_factory=Counter)

    @property
    def enabled(self) -> bool:
        return self.client_rate > 0 or any(rate > 0 for rate in self.channel_rates.values())

    def buckets_for(self, caller: Client) -> tuple[list[Bucket], list[str]]:
        """The buckets a request takes from, and each one's scope name (for the 429 and the counter)."""
        buckets, scopes = [], []
        if self.client_rate > 0:
            key = f"{self.namespace}:ratelimit:client:{caller.client}"
            buckets.append(Bucket(key, self.client_rate, self.client_burst))
            scopes.append("client")
        rate = self.channel_rates.get(caller.channel.value, 0.0)
        if rate > 0:
            key = f"{self.namespace}:ratelimit:channel:{caller.channel.value}"
            buckets.append(Bucket(key, rate, max(1.0, 2 * rate)))  # a burst of two seconds' worth
            scopes.append("channel")
        return buckets, scopes

    def identify(self, scope: Scope) -> Client:
        caller = caller_of(scope)
        if caller.principal is not None:
            return Client(f"sub-{self.digester.of(caller.principal.subject)}", caller.channel)
        address = scope["client"][0] if scope.get("client") else "unknown"
        return Client(f"ip-{self.digester.of(address)}", caller.channel)

    async def check(self, scope: Scope) -> tuple[Verdict, str]:
        buckets, scopes = self.buckets_for(self.identify(scope))
        if not buckets:
            return Verdict(), ""
        verdict = await self.buckets.take(buckets)
        return verdict, scopes[verdict.bucket] if not verdict.admitted else ""


class RateLimit:
    def __init__(self, app: ASGIApp, limiter: RateLimiter, paths: frozenset[str]) -> None:
        self.app = app
        self.limiter = limiter
        self.paths = paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] not in self.paths or not self.limiter.enabled:
            await self.app(scope, receive, send)
            return
        verdict, limited = await self.limiter.check(scope)
        if verdict.admitted:
            await self.app(scope, receive, send)
            return
        self.limiter.refused[limited] += 1
        await refuse(
            send,
            429,
            "RATE_LIMITED",
            f"too many requests from this {limited}; retry after the time in Retry-After",
            verdict.wait_s,
            scope=limited,
            retryAfterSeconds=round(verdict.wait_s, 3),
        )
