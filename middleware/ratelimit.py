"""Rate limits per client and per channel, answered with 429 and ``Retry-After`` before any GraphQL work.

The client is the verified token's subject (as its digest: a resident's subject is an ID number), else
the connecting IP address (behind a load balancer, set ``FORWARDED_ALLOW_IPS`` to its address so uvicorn
takes the client's from ``X-Forwarded-For``). An invalid token counts as its IP: the view then refuses
it with 401. The channel is the token's, else the ``X-Onestop-Channel`` header; each channel may have
its own rate for all its clients together (kiosks of a district sharing one allowance, say).

A token verified here is left in the request's state for the GraphQL view, which then does not verify
it again (``verified_by_rate_limit``): one signature check per request.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from starlette.types import ASGIApp, Receive, Scope, Send

from identity.digest import Digester
from identity.principal import ClientChannel, Principal
from identity.tokens import TokenError, TokenVerifier
from middleware.buckets import Bucket, Buckets, Verdict
from middleware.responses import refuse


@dataclass(frozen=True, slots=True)
class Verified:
    """A token this request's rate limiter verified, kept for the GraphQL view (one verification)."""

    token: str
    principal: Principal


VERIFIED = "onestop.verified_token"  # key in the ASGI scope's state


def verified_by_rate_limit(scope: Scope) -> Verified | None:
    found = scope.get("state", {}).get(VERIFIED)
    return found if isinstance(found, Verified) else None


@dataclass(frozen=True, slots=True)
class Caller:
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
    verifier: TokenVerifier | None = None
    # bucket keys live in Redis: subjects and addresses go in as keyed digests
    digester: Digester = field(default_factory=Digester.ephemeral)
    refused: Counter[str] = field(default_factory=Counter)

    @property
    def enabled(self) -> bool:
        return self.client_rate > 0 or any(rate > 0 for rate in self.channel_rates.values())

    def buckets_for(self, caller: Caller) -> tuple[list[Bucket], list[str]]:
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

    async def identify(self, scope: Scope) -> Caller:
        channel_header, authorization = _caller_headers(scope)
        channel = _channel(channel_header)
        kind, _, token = authorization.partition(" ")
        if self.verifier is not None and kind.lower() == "bearer" and token.strip():
            try:
                principal = await self.verifier.verify(token.strip())
            except TokenError:
                pass  # counted as its IP; the view answers 401
            else:
                scope.setdefault("state", {})[VERIFIED] = Verified(token.strip(), principal)
                if principal.channel is not ClientChannel.UNKNOWN:
                    channel = principal.channel
                return Caller(f"sub-{self.digester.of(principal.subject)}", channel)
        client = scope.get("client")
        address = client[0] if client else "unknown"
        return Caller(f"ip-{self.digester.of(address)}", channel)

    async def check(self, scope: Scope) -> tuple[Verdict, str]:
        buckets, scopes = self.buckets_for(await self.identify(scope))
        if not buckets:
            return Verdict(), ""
        verdict = await self.buckets.take(buckets)
        return verdict, scopes[verdict.bucket] if not verdict.admitted else ""


def _caller_headers(scope: Scope) -> tuple[str, str]:
    """The channel and Authorization headers, in one pass over the raw headers (this runs per request)."""
    channel = authorization = b""
    for name, value in scope["headers"]:
        if name == b"x-onestop-channel":
            channel = value
        elif name == b"authorization":
            authorization = value
    return channel.decode("latin-1"), authorization.decode("latin-1")


def _channel(value: str | None) -> ClientChannel:
    try:
        return ClientChannel((value or "").strip().lower())
    except ValueError:
        return ClientChannel.UNKNOWN  # the view refuses an unknown channel with 400


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
