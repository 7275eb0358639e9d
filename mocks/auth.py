"""Credential checks shared by the mock departments: API keys, HTTP Basic, HMAC signatures, OAuth2
(the bearer tokens and the client-credentials endpoint issuing them).

Each department keeps its own credentials and its own way of refusing (status, body); only the
checking is shared, so fourteen departments do not carry fourteen copies of the same comparisons.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Callable, Mapping
from urllib.parse import urlencode

from aiohttp import web
from aiohttp.typedefs import Handler

from mocks.departments import decode_basic_auth

MAX_SKEW_S = 300


def same(given: str, expected: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(given.encode(), expected.encode())


def api_key_ok(
    request: web.Request, expected: str, header: str = "X-Api-Key", query: str | None = None
) -> bool:
    """The key in the header (or, for departments that want it there, in a query parameter)."""
    given = request.query.get(query, "") if query else request.headers.get(header, "")
    return same(given, expected)


def basic_ok(request: web.Request, username: str, password: str) -> bool:
    credentials = decode_basic_auth(request.headers.get("Authorization", ""))
    return credentials is not None and same(credentials[0], username) and same(credentials[1], password)


def canonical_query(query: Mapping[str, str]) -> str:
    """Query parameters sorted by name, URL-encoded, `&`-joined — the signed form."""
    return urlencode(sorted(query.items()))


def signature(method: str, path: str, query: Mapping[str, str], timestamp: str, secret: bytes) -> str:
    """The hex HMAC-SHA256 a client must send in `X-Signature`."""
    message = f"{method.upper()}\n{path}\n{canonical_query(query)}\n{timestamp}"
    return hmac.new(secret, message.encode(), hashlib.sha256).hexdigest()


def guard(
    allowed: Callable[[web.Request], bool], refusal: Callable[[], web.Response]
) -> Callable[[Handler], Handler]:
    """Put handlers behind the check `allowed`: whoever it turns away gets a fresh `refusal()`, and
    the handler never runs."""

    def wrap(handler: Handler) -> Handler:
        async def checked(request: web.Request) -> web.StreamResponse:
            if not allowed(request):
                return refusal()
            return await handler(request)

        return checked

    return wrap


def signed_correctly(
    request: web.Request, app_id: str, secret: bytes, clock: Callable[[], float] = time.time
) -> bool:
    """Check app id, timestamp skew and signature; any failure is the same 401 to the client."""
    timestamp = request.headers.get("X-Timestamp", "")
    sent = request.headers.get("X-Signature", "")
    if not same(request.headers.get("X-App-Id", ""), app_id):
        return False
    if not timestamp.isascii() or not timestamp.isdigit() or len(timestamp) > 12:
        return False
    if abs(clock() - int(timestamp)) > MAX_SKEW_S:
        return False
    expected = signature(request.method, request.path, dict(request.query), timestamp, secret)
    return hmac.compare_digest(sent.lower().encode(), expected.encode())


class TokenStore:
    """Issued OAuth2 bearer tokens and when they stop working.

    Kept per app (not global) so two mock servers in one process never share tokens.
    """

    def __init__(self, ttl_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl_s = ttl_s
        self._clock = clock
        self._expiry: dict[str, float] = {}

    @property
    def ttl_s(self) -> float:
        return self._ttl_s

    def issue(self) -> str:
        """A fresh token valid for the TTL; expired ones are forgotten on the way."""
        now = self._clock()
        self._expiry = {t: exp for t, exp in self._expiry.items() if exp > now}
        token = secrets.token_urlsafe(24)
        self._expiry[token] = now + self._ttl_s
        return token

    def valid(self, token: str) -> bool:
        """True for an issued, unexpired token."""
        expiry = self._expiry.get(token)
        return expiry is not None and expiry > self._clock()

    def bearer_ok(self, request: web.Request) -> bool:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return scheme.lower() == "bearer" and self.valid(token.strip())

    def expire_all(self) -> int:
        """Make every issued token expired (they stay known, so clients see a 401, not a crash)."""
        now = self._clock()
        live = sum(1 for exp in self._expiry.values() if exp > now)
        self._expiry = dict.fromkeys(self._expiry, now)
        return live

    def reset(self) -> None:
        """Forget every token."""
        self._expiry.clear()


def _oauth_json(payload: Mapping[str, object], status: int, headers: dict[str, str] | None) -> web.Response:
    return web.Response(
        text=json.dumps(payload), status=status, content_type="application/json", headers=headers
    )


def _client_credentials(
    request: web.Request, form: Mapping[str, str], form_allowed: bool
) -> tuple[str, str] | None:
    """Credentials from HTTP Basic (preferred, as RFC 6749 says) or, where allowed, the form body."""
    header = request.headers.get("Authorization")
    if header:
        return decode_basic_auth(header)
    if form_allowed and "client_id" in form and "client_secret" in form:
        return form["client_id"], form["client_secret"]
    return None


def token_endpoint(
    tokens: TokenStore,
    client_id: str,
    client_secret: str,
    *,
    realm: str | None,
    form_credentials: bool = True,
) -> Handler:
    """An OAuth2 client-credentials token endpoint (RFC 6749 §4.4) issuing from `tokens`.

    The OAuth2 departments bought the same kind of token server, so the grammar is shared: 400
    `invalid_request` without `grant_type`, 400 `unsupported_grant_type` for any other grant, 401
    `invalid_client` for wrong credentials, then a `no-store` token.  What differs is kept as
    parameters: `realm` for the `WWW-Authenticate: Basic` challenge on 401 (`None`: no challenge)
    and whether client credentials may come in the form (`form_credentials`, else HTTP Basic only).
    """

    async def handler(request: web.Request) -> web.StreamResponse:
        form = {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
        grant_type = form.get("grant_type")
        if grant_type is None:
            problem = {"error": "invalid_request", "error_description": "grant_type is required"}
            return _oauth_json(problem, 400, None)
        if grant_type != "client_credentials":
            return _oauth_json({"error": "unsupported_grant_type"}, 400, None)
        credentials = _client_credentials(request, form, form_credentials)
        if credentials is None or not (
            same(credentials[0], client_id) and same(credentials[1], client_secret)
        ):
            challenge = None if realm is None else {"WWW-Authenticate": f'Basic realm="{realm}"'}
            return _oauth_json({"error": "invalid_client"}, 401, challenge)
        token = {"access_token": tokens.issue(), "token_type": "Bearer", "expires_in": tokens.ttl_s}
        return _oauth_json(token, 200, {"Cache-Control": "no-store"})

    return handler
