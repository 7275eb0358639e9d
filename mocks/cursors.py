"""Opaque paging cursors: unpadded base64url tokens, plain (justice) or signed against tampering
(health, utilities).

A cursor is only ever read back by the department that wrote it, so anything that does not decode is
simply "not one of ours" (`None`); each department words that refusal its own way.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac


def b64url(data: bytes) -> str:
    """`data` as base64url without the `=` padding, as the cursors carry it."""
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def from_b64url(text: str) -> bytes | None:
    """The bytes of unpadded base64url `text`, or `None` when it is not base64url at all."""
    if not text.isascii():
        return None
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except (binascii.Error, ValueError):
        return None


class Cursors:
    """Opaque, tamper-evident cursors: base64url of the next offset plus a truncated HMAC."""

    def __init__(self, key: bytes) -> None:
        self._key = key

    def _mac(self, payload: bytes) -> str:
        return hmac.new(self._key, payload, hashlib.sha256).hexdigest()[:16]

    def encode(self, offset: int) -> str:
        payload = str(offset).encode()
        return b64url(payload) + "." + self._mac(payload)

    def decode(self, cursor: str) -> int | None:
        """The offset in `cursor`, or `None` when it is not one of ours."""
        encoded, dot, mac = cursor.partition(".")
        if not dot:
            return None
        payload = from_b64url(encoded)
        if payload is None:
            return None
        if not hmac.compare_digest(mac.encode(), self._mac(payload).encode()):
            return None
        return int(payload)
