"""What the mock departments' wire tests build the same way: HMAC-signed request headers, OAuth2
tokens, the JSON and XML forms of a criterion value, and a resident nobody in the world is.

Signatures are computed here straight from the contract, not with the mocks' own helper
(`mocks.auth.signature`), so the tests check the wire format the gateway implements.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from urllib.parse import urlencode

import aiohttp

from mocks.world import build_world, id_check_char

WORLD = build_world()


def signed(
    method: str,
    path: str,
    params: dict[str, str] | None = None,
    *,
    secret: bytes,
    app_id: str = "onestop",
    timestamp: int | None = None,
) -> dict[str, str]:
    """`X-App-Id`, `X-Timestamp` (now, unless given) and the hex HMAC-SHA256 `X-Signature` of
    `METHOD\\npath\\nsorted-urlencoded-query\\ntimestamp`."""
    ts = str(int(time.time()) if timestamp is None else timestamp)
    message = f"{method}\n{path}\n{urlencode(sorted((params or {}).items()))}\n{ts}"
    return {
        "X-App-Id": app_id,
        "X-Timestamp": ts,
        "X-Signature": hmac.new(secret, message.encode(), hashlib.sha256).hexdigest(),
    }


async def fetch_token(
    http: aiohttp.ClientSession,
    url: str,
    data: dict[str, str],
    *,
    expires_in: int,
    headers: dict[str, str] | None = None,
) -> str:
    """A bearer token from the client-credentials endpoint at `url`, checked to be granted as such."""
    async with http.post(url, data=data, headers=headers) as response:
        assert response.status == 200
        body = await response.json()
    assert body["token_type"] == "Bearer" and body["expires_in"] == expires_in
    assert isinstance(body["access_token"], str) and body["access_token"]
    return body["access_token"]


def bearer(token: str) -> dict[str, str]:
    """The `Authorization` header carrying `token`."""
    return {"Authorization": f"Bearer {token}"}


def json_value(value: object) -> object:
    """A criterion value as JSON carries it: lists for tuples, everything else as is."""
    return list(value) if isinstance(value, tuple) else value


def value_text(value: object) -> str:
    """A criterion value as an XML attribute holds it: lists comma-joined, booleans true/false."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return ",".join(value) if isinstance(value, tuple) else str(value)


def unknown_id() -> str:
    """A well-formed ID number (checksum right) that nobody in the world has: born 1900-01-01."""
    first17 = "31011519000101999"
    number = first17 + id_check_char(first17)
    assert WORLD.resident(number) is None
    return number
