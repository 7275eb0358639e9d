"""Signing a department request: none, API key, HTTP Basic, OAuth2 client credentials, HMAC.

One small class per kind, all with the same two methods, so the adapter never branches on auth kind.
OAuth2 tokens are fetched once, shared by concurrent requests (single-flight) and renewed before they
expire; a 401 drops the token so the next attempt fetches a fresh one.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import time
from collections.abc import Awaitable, Callable
from dataclasses import replace
from typing import Any, Protocol
from urllib.parse import urlencode, urljoin, urlsplit

import orjson

from connectors.errors import UpstreamCode, UpstreamError, status_error
from connectors.spec import ApiKeyAuth, Auth, BasicAuth, Envelope, HmacAuth, NoAuth, OAuth2ClientCredentials
from connectors.transport import UpstreamRequest, UpstreamResponse

Send = Callable[[UpstreamRequest], Awaitable[UpstreamResponse]]


class Authenticator(Protocol):
    async def sign(self, request: UpstreamRequest) -> UpstreamRequest: ...

    def unauthorized(self) -> bool:
        """The department refused our credentials: forget what is cached; True if a retry may help."""


def _with_headers(request: UpstreamRequest, headers: dict[str, str]) -> UpstreamRequest:
    return replace(request, headers={**request.headers, **headers})


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class NoAuthenticator:
    async def sign(self, request: UpstreamRequest) -> UpstreamRequest:
        return request

    def unauthorized(self) -> bool:
        return False


class ApiKeyAuthenticator:
    def __init__(self, spec: ApiKeyAuth) -> None:
        self.spec = spec

    async def sign(self, request: UpstreamRequest) -> UpstreamRequest:
        key = self.spec.key.get_secret_value()
        if self.spec.header:
            return _with_headers(request, {self.spec.header: key})
        assert self.spec.query_param is not None
        return replace(request, params=(*request.params, (self.spec.query_param, key)))

    def unauthorized(self) -> bool:
        return False


class BasicAuthenticator:
    def __init__(self, spec: BasicAuth) -> None:
        self.header = _basic(spec.username, spec.password.get_secret_value())

    async def sign(self, request: UpstreamRequest) -> UpstreamRequest:
        return _with_headers(request, {"Authorization": self.header})

    def unauthorized(self) -> bool:
        return False


class HmacAuthenticator:
    def __init__(self, spec: HmacAuth, clock: Callable[[], float] = time.time) -> None:
        self.spec = spec
        self.clock = clock

    async def sign(self, request: UpstreamRequest) -> UpstreamRequest:
        timestamp = str(int(self.clock()))
        message = self.spec.string_to_sign.format(
            method=request.method,
            path=urlsplit(request.url).path,
            query=urlencode(sorted(request.params)),
            timestamp=timestamp,
            body_sha256=hashlib.sha256(request.body or b"").hexdigest(),
        )
        digest = hmac.new(
            self.spec.secret.get_secret_value().encode(), message.encode(), self.spec.algorithm
        ).hexdigest()
        return _with_headers(
            request,
            {
                self.spec.app_id_header: self.spec.app_id,
                self.spec.timestamp_header: timestamp,
                self.spec.signature_header: digest,
            },
        )

    def unauthorized(self) -> bool:
        return False


class OAuth2Authenticator:
    """Client-credentials tokens, cached until shortly before expiry, fetched by one caller at a time."""

    def __init__(
        self,
        spec: OAuth2ClientCredentials,
        base_url: str,
        department: str,
        send: Send,
        clock: Callable[[], float] = time.monotonic,
        envelope: Envelope | None = None,
    ) -> None:
        self.spec = spec
        self.envelope = envelope
        self.token_url = urljoin(base_url.rstrip("/") + "/", spec.token_url.lstrip("/"))
        self.department = department
        self.send = send
        self.clock = clock
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def sign(self, request: UpstreamRequest) -> UpstreamRequest:
        token = await self._current_token()
        return _with_headers(request, {"Authorization": f"Bearer {token}"})

    def unauthorized(self) -> bool:
        self._token = None
        return True

    async def _current_token(self) -> str:
        if self._token is not None and self.clock() < self._expires_at:
            return self._token
        async with self._lock:  # single-flight: concurrent requests wait for one fetch
            if self._token is None or self.clock() >= self._expires_at:
                await self._fetch()
            assert self._token is not None
            return self._token

    def _check_envelope(self, payload: Any) -> None:
        """A department that wraps its failures in an envelope (HTTP 200, failure code) does so on
        its token endpoint too: that is "try later", not a bad answer."""
        envelope = self.envelope
        if envelope is None or not isinstance(payload, dict) or "access_token" in payload:
            return
        code = payload.get(envelope.code_field)
        if code is not None and not envelope.is_ok(code):
            raise UpstreamError(
                UpstreamCode.UNAVAILABLE, self.department, f"token endpoint answered code {code}"
            )

    async def _fetch(self) -> None:
        form = {"grant_type": "client_credentials"}
        headers = {"Content-Type": "application/x-www-form-urlencoded", "Accept": "application/json"}
        secret = self.spec.client_secret.get_secret_value()
        if self.spec.credentials_in == "basic":
            headers["Authorization"] = _basic(self.spec.client_id, secret)
        else:
            form |= {"client_id": self.spec.client_id, "client_secret": secret}
        if self.spec.scope:
            form["scope"] = self.spec.scope
        response = await self.send(
            UpstreamRequest("POST", self.token_url, headers=headers, body=urlencode(form).encode())
        )
        if response.status in (400, 401, 403):
            raise UpstreamError(
                UpstreamCode.AUTH_FAILED, self.department, "token endpoint refused our client"
            )
        error = status_error(response.status, self.department)
        if error is not None:
            raise error
        try:
            payload = orjson.loads(response.body)
            self._check_envelope(payload)
            token = payload["access_token"]
            lifetime = float(payload.get("expires_in", 3600))
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise UpstreamError(
                UpstreamCode.BAD_RESPONSE, self.department, "token endpoint sent no usable token"
            ) from exc
        if not isinstance(token, str) or not token:
            raise UpstreamError(
                UpstreamCode.BAD_RESPONSE, self.department, "token endpoint sent an empty token"
            )
        self._token = token
        self._expires_at = self.clock() + max(lifetime - self.spec.refresh_margin_s, lifetime / 2)


def authenticator_for(
    auth: Auth, base_url: str, department: str, send: Send, envelope: Envelope | None = None
) -> Authenticator:
    if isinstance(auth, NoAuth):
        return NoAuthenticator()
    if isinstance(auth, ApiKeyAuth):
        return ApiKeyAuthenticator(auth)
    if isinstance(auth, BasicAuth):
        return BasicAuthenticator(auth)
    if isinstance(auth, HmacAuth):
        return HmacAuthenticator(auth)
    return OAuth2Authenticator(auth, base_url, department, send, envelope=envelope)
