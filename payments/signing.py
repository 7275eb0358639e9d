"""The provider's signature: WeChat Pay v2's ``HMAC-SHA256`` sign type over sorted parameters.

The non-empty parameters but ``sign``, sorted by name, joined as ``k=v&k=v``, then ``&key=<merchant
key>``; HMAC-SHA256 under the merchant key; upper-case hex. Our calls are signed so, and so is every
answer and notification the provider sends: one we cannot verify is treated as never received.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Mapping


def sign(params: Mapping[str, str], key: str) -> str:
    text = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] != "")
    return hmac.new(key.encode(), f"{text}&key={key}".encode(), hashlib.sha256).hexdigest().upper()


def signed(params: Mapping[str, str], key: str) -> dict[str, str]:
    return {**params, "sign": sign(params, key)}


def verified(params: Mapping[str, str], key: str) -> bool:
    """Is ``params['sign']`` the signature of the rest (compared in constant time)?"""
    given = params.get("sign", "")
    return bool(given) and hmac.compare_digest(given, sign(params, key))
