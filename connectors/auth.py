"""Signing a department request: none, API key, HTTP Basic, OAuth2 client credentials, HMAC, a
home-made token login, and open-platform signed requests.

One small class per kind, all with the same methods, so the adapter never branches on auth kind.
Tokens (OAuth2, token login) are fetched once, shared by concurrent requests (single-flight), kept in
memory only and renewed before they expire; a refused call drops the token it carried, so the next
attempt fetches a fresh one.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import replace
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlencode, urljoin, urlsplit

import orjson

from connectors.errors import UpstreamCode, UpstreamError, status_error
from connectors.spec import (
    PLACEHOLDER,
    ApiKeyAuth,
    Auth,
    BasicAuth,
    Envelope,
    HmacAuth,
    NoAuth,
    OAuth2ClientCredentials,
    SignedAuth,
    TokenLoginAuth,
)
from connectors.transport import UpstreamRequest, UpstreamResponse

Send = Callable[[UpstreamRequest], Awaitable[UpstreamResponse]]


class Authenticator(Protocol):
    async def sign(self, request: UpstreamRequest) -> UpstreamRequest: ...

    def refused(self, response: UpstreamResponse) -> bool:
        """Does this answer say our credentials were refused (HTTP 401, a 'token expired' code)?"""

    def unauthorized(self, sent: UpstreamRequest | None = None) -> bool:
        """The department refused the credentials ``sent`` carried: forget them if they are still the
        current ones; True if a retry may help."""


def _with_headers(request: UpstreamRequest, headers: dict[str, str]) -> UpstreamRequest:
    return replace(request, headers={**request.headers, **headers})


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


class _Credentials:
    """HTTP 401 is a refusal; with nothing cached to drop, a retry would not help (the token kinds
    override ``unauthorized``, token login also ``refused``)."""

    def refused(self, response: UpstreamResponse) -> bool:
        return response.status == 401

    def unauthorized(self, sent: UpstreamRequest | None = None) -> bool:
        return False


class NoAuthenticator(_Credentials):
    async def sign(self, request: UpstreamRequest) -> UpstreamRequest:
        return request


class ApiKeyAuthenticator(_Credentials):
    def __init__(self, spec: ApiKeyAuth) -> None:
        self.spec = spec

    async def sign(self, request: UpstreamRequest) -> UpstreamRequest:
        key = self.spec.key.get_secret_value()
        if self.spec.header:
            return _with_headers(request, {self.spec.header: key})
        assert self.spec.query_param is not None
        return replace(request, params=(*request.params, (self.spec.query_param, key)))


class BasicAuthenticator(_Credentials):
    def __init__(self, spec: BasicAuth) -> None:
        self.header = _basic(spec.username, spec.password.get_secret_value())

    async def sign(self, request: UpstreamRequest) -> UpstreamRequest:
        return _with_headers(request, {"Authorization": self.header})


class HmacAuthenticator(_Credentials):
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


class _CachedToken(_Credentials):
    """A token fetched once, shared by concurrent calls (single-flight), kept in memory until shortly
    before it expires, dropped when a call that carried it is refused. Subclasses say how a token is
    obtained (``_obtain``) and where a sent request carries it (``_carried``)."""

    def __init__(
        self,
        department: str,
        send: Send,
        clock: Callable[[], float],
        envelope: Envelope | None,
        refresh_margin_s: float,
    ) -> None:
        self.envelope = envelope
        self.department = department
        self.send = send
        self.clock = clock
        self._refresh_margin_s = refresh_margin_s
        self._token: str | None = None
        self._expires_at = 0.0
        self._lock = asyncio.Lock()

    async def _obtain(self) -> tuple[str, float]:
        """A fresh token and its lifetime in seconds."""
        raise NotImplementedError

    def _carried(self, sent: UpstreamRequest) -> str | None:
        raise NotImplementedError

    def unauthorized(self, sent: UpstreamRequest | None = None) -> bool:
        if sent is None or self._carried(sent) == self._token:
            self._token = None  # a concurrent call may have renewed it already: keep that one
        return True

    async def _current_token(self) -> str:
        if self._token is not None and self.clock() < self._expires_at:
            return self._token
        async with self._lock:  # single-flight: concurrent calls wait for one fetch
            if self._token is None or self.clock() >= self._expires_at:
                token, lifetime = await self._obtain()
                self._token = token
                self._expires_at = self.clock() + max(lifetime - self._refresh_margin_s, lifetime / 2)
            assert self._token is not None
            return self._token


class OAuth2Authenticator(_CachedToken):
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
        super().__init__(department, send, clock, envelope, spec.refresh_margin_s)
        self.spec = spec
        self.token_url = urljoin(base_url.rstrip("/") + "/", spec.token_url.lstrip("/"))

    async def sign(self, request: UpstreamRequest) -> UpstreamRequest:
        token = await self._current_token()
        return _with_headers(request, {"Authorization": f"Bearer {token}"})

    def _carried(self, sent: UpstreamRequest) -> str | None:
        value = sent.headers.get("Authorization")
        return value[len("Bearer ") :] if value is not None and value.startswith("Bearer ") else None

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

    async def _obtain(self) -> tuple[str, float]:
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
        return token, lifetime


class TokenLoginAuthenticator(_CachedToken):
    """A department's own login: one request answers a token, sent on every call. In memory only."""

    def __init__(
        self,
        spec: TokenLoginAuth,
        base_url: str,
        department: str,
        send: Send,
        clock: Callable[[], float] = time.monotonic,
        envelope: Envelope | None = None,
    ) -> None:
        """``envelope``: the data calls' own, where a 'token expired' code is read."""
        super().__init__(department, send, clock, envelope, spec.refresh_margin_s)
        self.spec = spec
        self.url = base_url.rstrip("/") + spec.path
        self.logins = 0  # how many times we logged in (tests, metrics)

    async def sign(self, request: UpstreamRequest) -> UpstreamRequest:
        token = await self._current_token()
        send = self.spec.send
        if send.query_param is not None:
            return replace(request, params=(*request.params, (send.query_param, token)))
        return _with_headers(request, {send.header or "Authorization": send.prefix + token})

    def refused(self, response: UpstreamResponse) -> bool:
        if super().refused(response):
            return True
        if not self.spec.expired_codes or not response.body.lstrip().startswith(b"{"):
            return False
        try:
            payload = orjson.loads(response.body)
        except orjson.JSONDecodeError:
            return False
        code = _dotted(payload, self.envelope.code_field if self.envelope else "code")
        return code is not None and str(code) in {str(c) for c in self.spec.expired_codes}

    def _carried(self, sent: UpstreamRequest) -> str | None:
        send = self.spec.send
        if send.query_param is not None:
            return next((v for k, v in reversed(sent.params) if k == send.query_param), None)
        value = sent.headers.get(send.header or "Authorization")
        return None if value is None else value.removeprefix(send.prefix)

    def _request(self) -> UpstreamRequest:
        values = {name: secret.get_secret_value() for name, secret in self.spec.secrets.items()}
        body = filled(self.spec.body, values)
        if self.spec.method == "GET":
            params = tuple((str(k), str(v)) for k, v in body.items())
            return UpstreamRequest("GET", self.url, params=params, headers={"Accept": "application/json"})
        if self.spec.body_format == "form":
            content_type, data = "application/x-www-form-urlencoded", urlencode(body).encode()
        else:
            content_type, data = "application/json", orjson.dumps(body)
        headers = {"Content-Type": content_type, "Accept": "application/json"}
        return UpstreamRequest("POST", self.url, headers=headers, body=data)

    async def _obtain(self) -> tuple[str, float]:
        where = f"login {self.spec.method} {self.spec.path}"
        response = await self.send(self._request())
        self.logins += 1
        if response.status in (400, 401, 403):
            raise UpstreamError(
                UpstreamCode.AUTH_FAILED, self.department, f"{where}: refused (HTTP {response.status})"
            )
        error = status_error(response.status, self.department)
        if error is not None:
            raise UpstreamError(error.code, self.department, f"{where}: {error.message}")
        try:
            payload = orjson.loads(response.body)
        except orjson.JSONDecodeError as exc:
            raise UpstreamError(UpstreamCode.BAD_RESPONSE, self.department, f"{where}: not JSON") from exc
        if self.spec.ok_path is not None:
            code = _dotted(payload, self.spec.ok_path)
            if str(code) not in {str(c) for c in self.spec.ok_codes}:
                raise UpstreamError(
                    UpstreamCode.AUTH_FAILED, self.department, f"{where}: answered code {code}"
                )
        token = _dotted(payload, self.spec.token_path)
        if not isinstance(token, str) or not token:
            message = f"{where}: no token at '{self.spec.token_path}'"
            raise UpstreamError(UpstreamCode.BAD_RESPONSE, self.department, message)
        return token, self._lifetime(payload, where)

    def _lifetime(self, payload: Any, where: str) -> float:
        try:
            if self.spec.expires_in_path is not None:
                return float(_dotted(payload, self.spec.expires_in_path))
            if self.spec.expires_at_path is not None:
                at = _dotted(payload, self.spec.expires_at_path)
                expires = float(at) if str(at).replace(".", "", 1).isdigit() else _iso_epoch(str(at))
                return max(0.0, expires - time.time())
        except (TypeError, ValueError) as exc:
            message = (
                f"{where}: no usable lifetime at '{self.spec.expires_in_path or self.spec.expires_at_path}'"
            )
            raise UpstreamError(UpstreamCode.BAD_RESPONSE, self.department, message) from exc
        return self.spec.lifetime_s


def _iso_epoch(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


def _dotted(value: Any, path: str) -> Any:
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def filled(value: Any, values: Mapping[str, str]) -> Any:
    """A JSON value (a login body, GraphQL variables) with ``{name}`` replaced in every string (plain
    replacement, not format)."""
    if isinstance(value, str):
        for name, text in values.items():
            value = value.replace("{" + name + "}", text)
        return value
    if isinstance(value, dict):
        return {k: filled(v, values) for k, v in value.items()}
    if isinstance(value, list):
        return [filled(v, values) for v in value]
    return value


# MD5 because the platforms sign with it, not for our own security
_DIGESTS: dict[str, Callable[[bytes], Any]] = {
    "md5": lambda data: hashlib.md5(data, usedforsecurity=False),
    "sha256": hashlib.sha256,
}


class SignedAuthenticator(_Credentials):
    """Open-platform signatures: app key, timestamp and nonce added, a digest over the sorted
    parameters (and/or body) with the app secret. Nothing to renew: every call is signed afresh."""

    def __init__(
        self,
        spec: SignedAuth,
        clock: Callable[[], float] = time.time,
        nonce: Callable[[], str] = lambda: secrets.token_hex(8),
    ) -> None:
        self.spec = spec
        self.clock = clock
        self.nonce = nonce

    def added(self) -> list[tuple[str, str]]:
        spec = self.spec
        now = self.clock()
        stamp = str(int(now * 1000) if spec.timestamp_unit == "ms" else int(now))
        values = [(spec.app_key_name, spec.app_key), (spec.timestamp_name, stamp)]
        if spec.nonce_name is not None:
            values.append((spec.nonce_name, self.nonce()))
        return values

    def signature(self, request: UpstreamRequest, added: list[tuple[str, str]]) -> str:
        spec = self.spec
        secret = spec.secret.get_secret_value()
        named = dict(added)
        signed_params = [*request.params, *added] if spec.in_ == "query" else list(request.params)
        params = spec.param_separator.join(
            f"{name}{spec.pair_separator}{value}"
            for name, value in sorted(signed_params)
            if value != "" or not spec.skip_empty
        )
        body = request.body or b""
        message = _fill_named(
            spec.string_to_sign,
            {
                "params": params,
                "body": body.decode("utf-8", errors="replace"),
                "body_md5": hashlib.md5(body, usedforsecurity=False).hexdigest(),
                "body_sha256": hashlib.sha256(body).hexdigest(),
                "timestamp": named[spec.timestamp_name],
                "nonce": named.get(spec.nonce_name or "", ""),
                "app_key": spec.app_key,
                "secret": secret,
                "method": request.method,
                "path": urlsplit(request.url).path,
            },
        ).encode()
        if spec.algorithm == "hmac_sha256":
            digest = hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
        else:
            digest = _DIGESTS[spec.algorithm](message).hexdigest()
        return digest.upper() if spec.case == "upper" else digest

    async def sign(self, request: UpstreamRequest) -> UpstreamRequest:
        added = self.added()
        signature = self.signature(request, added)
        values = [*added, (self.spec.signature_name, signature)]
        if self.spec.in_ == "header":
            return _with_headers(request, dict(values))
        return replace(request, params=(*request.params, *values))


def _fill_named(template: str, values: dict[str, str]) -> str:
    """One pass: a value that happens to contain ``{secret}`` is not filled again."""
    return PLACEHOLDER.sub(lambda match: values.get(match.group(1), match.group(0)), template)


def authenticator_for(
    auth: Auth, base_url: str, department: str, send: Send, envelope: Envelope | None = None
) -> Authenticator:
    if isinstance(auth, TokenLoginAuth):
        return TokenLoginAuthenticator(auth, base_url, department, send, envelope=envelope)
    if isinstance(auth, SignedAuth):
        return SignedAuthenticator(auth)
    if isinstance(auth, NoAuth):
        return NoAuthenticator()
    if isinstance(auth, ApiKeyAuth):
        return ApiKeyAuthenticator(auth)
    if isinstance(auth, BasicAuth):
        return BasicAuthenticator(auth)
    if isinstance(auth, HmacAuth):
        return HmacAuthenticator(auth)
    return OAuth2Authenticator(auth, base_url, department, send, envelope=envelope)
