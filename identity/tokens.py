"""Bearer tokens: verify a JWT into a ``Principal``, and mint one for development.

Verification accepts only the algorithms configured — HS256 with a shared secret (development), RS256
with a public key or a JWKS URL (production) — so ``alg: none`` and algorithm-confusion tokens are
refused by construction. ``exp``, ``sub`` and ``role`` are required; ``iss``/``aud`` are checked when
configured. Every refusal is a ``TokenError`` whose message says what was wrong, never the token.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from dataclasses import dataclass
from typing import Any

import jwt

from identity.principal import ClientChannel, Principal, Role

LEEWAY_S = 30  # clock skew tolerated between the issuer and the gateway


class TokenError(Exception):
    """A token that cannot be trusted. ``code`` is the GraphQL error code clients see."""

    code = "UNAUTHENTICATED"


@dataclass(frozen=True, slots=True)
class TokenSettings:
    secret: str | None = None  # HS256
    public_key: str | None = None  # RS256, PEM
    jwks_url: str | None = None  # RS256, keys by ``kid``
    issuer: str | None = None
    audience: str | None = None

    @property
    def configured(self) -> bool:
        return bool(self.secret or self.public_key or self.jwks_url)


class TokenVerifier:
    def __init__(self, settings: TokenSettings) -> None:
        self.settings = settings
        self._jwks = jwt.PyJWKClient(settings.jwks_url, cache_keys=True) if settings.jwks_url else None

    async def verify(self, token: str) -> Principal:
        if not self.settings.configured:
            raise TokenError("this gateway accepts no tokens: no secret, public key or JWKS URL is set")
        key, algorithms = await self._key_for(token)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=algorithms,
                audience=self.settings.audience,
                issuer=self.settings.issuer,
                leeway=LEEWAY_S,
                options={"require": ["exp", "sub", "role"], "verify_aud": self.settings.audience is not None},
            )
        except jwt.ExpiredSignatureError as exc:
            raise TokenError("the token has expired") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"the token is not valid: {_reason(exc)}") from exc
        return principal_from_claims(claims)

    async def _key_for(self, token: str) -> tuple[Any, list[str]]:
        if self.settings.secret:
            return self.settings.secret, ["HS256"]
        if self.settings.public_key:
            return self.settings.public_key, ["RS256"]
        assert self._jwks is not None
        jwks = self._jwks
        try:
            # PyJWKClient fetches with urllib: keep it off the event loop (keys are cached after that)
            signing_key = await asyncio.to_thread(jwks.get_signing_key_from_jwt, token)
        except jwt.PyJWKClientError as exc:
            raise TokenError(f"the token's signing key is unknown: {exc}") from exc
        except jwt.InvalidTokenError as exc:
            raise TokenError(f"the token is not valid: {_reason(exc)}") from exc
        return signing_key.key, ["RS256"]


def _reason(exc: Exception) -> str:
    text = str(exc) or type(exc).__name__
    return text[:200]


def principal_from_claims(claims: dict[str, Any]) -> Principal:
    try:
        role = Role(claims["role"])
    except ValueError as exc:
        raise TokenError(f"unknown role {str(claims['role'])[:40]!r}") from exc
    subject = str(claims["sub"])
    station = _optional(claims, "station")
    department = _optional(claims, "department")
    if role is Role.STAFF and not station:
        raise TokenError("a staff token must name its station")
    if role is Role.DEPT_ADMIN and not department:
        raise TokenError("a department admin token must name its department")
    channel = claims.get("channel", ClientChannel.UNKNOWN.value)
    try:
        client_channel = ClientChannel(channel)
    except ValueError as exc:
        raise TokenError(f"unknown channel {str(channel)[:40]!r}") from exc
    return Principal(
        subject=subject,
        role=role,
        channel=client_channel,
        station=station,
        department=department,
        token_id=_optional(claims, "jti"),
        expires_at=float(claims["exp"]),
    )


def _optional(claims: dict[str, Any], name: str) -> str | None:
    value = claims.get(name)
    return None if value is None else str(value)


def mint(
    secret: str,
    subject: str,
    role: Role,
    *,
    ttl_s: int = 3600,
    channel: ClientChannel | None = None,
    station: str | None = None,
    department: str | None = None,
    issuer: str | None = None,
    audience: str | None = None,
) -> str:
    """An HS256 token for development and tests (production tokens come from the identity provider)."""
    now = int(time.time())
    claims: dict[str, Any] = {"sub": subject, "role": role.value, "iat": now, "exp": now + ttl_s}
    claims["jti"] = uuid.uuid4().hex
    for name, value in (
        ("channel", channel.value if channel else None),
        ("station", station),
        ("department", department),
        ("iss", issuer),
        ("aud", audience),
    ):
        if value is not None:
            claims[name] = value
    return jwt.encode(claims, secret, algorithm="HS256")
