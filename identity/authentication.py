"""Who is asking, decided once per request and read everywhere: Starlette's ``AuthenticationMiddleware``
with ``BearerTokens``, a backend that verifies the ``Authorization: Bearer`` token into a ``Principal``
and settles the client channel (the token's, else the ``X-Onestop-Channel`` header's).

The verdict, a ``Caller``, goes in the ASGI scope (``scope["user"]``; ``scope["auth"]`` holds its
scopes). The rate limiter (keyed by the verified subject) and the GraphQL endpoints (``/graphql``, its
websocket handshake, ``/graphql/stream``) read it with ``caller_of``: one signature check per request,
however many parts of the gateway need to know who it is.

A bad token or an unknown channel does not stop the request in the middleware: the ``Caller`` carries
the refusal and the endpoint raises it (``Caller.require``) where it answers everything else. So a
forged token still counts against its address's rate limit (a flood of forged tokens is limited like
any other), the refusal comes in the media type the client negotiated, and an event stream's origin
check still comes first.

graphql-transport-ws clients send their token in ``connection_init`` (a browser cannot set a
websocket's headers): the view verifies that with ``authenticate``, the function the backend uses.
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass

from starlette.authentication import AuthCredentials, AuthenticationBackend, BaseUser
from starlette.requests import HTTPConnection
from starlette.types import Scope

from identity.principal import ClientChannel, Principal
from identity.tokens import TokenError, TokenVerifier

AUTHORIZATION_HEADER = "authorization"
CHANNEL_HEADER = "x-onestop-channel"


class ChannelError(ValueError):
    """An ``X-Onestop-Channel`` that names no channel: the endpoints answer it with a typed 400."""


@dataclass(frozen=True, slots=True)
class Caller(BaseUser):
    """One request's verdict. ``principal`` is set only for a verified token; ``refusal`` is why the
    request must be refused (an unknown channel first, else a bad token), or None."""

    principal: Principal | None = None
    channel: ClientChannel = ClientChannel.UNKNOWN
    refusal: TokenError | ChannelError | None = None

    @property
    def is_authenticated(self) -> bool:
        return self.principal is not None and self.refusal is None

    @property
    def display_name(self) -> str:
        # the role, never the subject: a resident's subject is their ID number
        return self.principal.role.value if self.principal is not None else "anonymous"

    @property
    def identity(self) -> str:
        return (self.principal.token_id or "") if self.principal is not None else ""

    @property
    def scopes(self) -> list[str]:
        """For ``scope["auth"]`` (Starlette's ``requires``): ``authenticated`` and the role."""
        if not self.is_authenticated or self.principal is None:
            return []
        return ["authenticated", self.principal.role.value]

    def require(self) -> tuple[Principal | None, ClientChannel]:
        """The principal (None: anonymous, public data only) and channel, or the refusal raised."""
        if self.refusal is not None:
            raise self.refusal
        return self.principal, self.channel


async def authenticate(
    verifier: TokenVerifier | None, authorization: str | None, channel: str | None
) -> Caller:
    """The caller named by an ``Authorization`` value and a channel name (headers, or a websocket's
    ``connection_init`` payload). No authorization: anonymous. Never raises for what a client sent."""
    header_channel, refusal = _channel(channel)
    if not authorization:
        return Caller(None, header_channel, refusal)
    try:
        principal = await _verify(verifier, authorization)
    except TokenError as exc:
        return Caller(None, header_channel, refusal or exc)
    own = principal.channel if principal.channel is not ClientChannel.UNKNOWN else header_channel
    return Caller(principal, own, refusal)


async def _verify(verifier: TokenVerifier | None, authorization: str) -> Principal:
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise TokenError("the Authorization header must be 'Bearer <token>'")
    if verifier is None:
        raise TokenError("this gateway accepts no tokens")
    return await verifier.verify(token.strip())


def _channel(value: str | None) -> tuple[ClientChannel, ChannelError | None]:
    if not value:
        return ClientChannel.UNKNOWN, None
    try:
        return ClientChannel(value.strip().lower()), None
    except ValueError:
        message = f"unknown channel {value[:40]!r}: app, wechat, kiosk or counter"
        return ClientChannel.UNKNOWN, ChannelError(message)


class BearerTokens(AuthenticationBackend):
    """The backend for ``AuthenticationMiddleware``: a ``Caller`` for every request to ``paths`` (HTTP
    and websocket handshakes). Other paths (probes, ``/metrics`` with its own token, webhooks signed
    by their department) get Starlette's anonymous user and cost no verification."""

    def __init__(self, verifier: TokenVerifier | None, paths: Collection[str]) -> None:
        self.verifier = verifier
        self.paths = frozenset(paths)

    async def authenticate(self, conn: HTTPConnection) -> tuple[AuthCredentials, BaseUser] | None:
        if conn.scope["path"] not in self.paths:
            return None
        headers = conn.headers
        caller = await authenticate(
            self.verifier, headers.get(AUTHORIZATION_HEADER), headers.get(CHANNEL_HEADER)
        )
        return AuthCredentials(caller.scopes), caller


def caller_of(scope: Scope) -> Caller:
    """This request's ``Caller``, as ``BearerTokens`` decided it. A path it does not cover is a wiring
    mistake, not an anonymous caller: raising keeps a token from being silently ignored."""
    user = scope.get("user")
    if not isinstance(user, Caller):
        raise RuntimeError(f"no authentication ran for {scope.get('path')!r}: see identity/authentication.py")
    return user
