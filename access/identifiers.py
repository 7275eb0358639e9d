"""``Resident.id``: an opaque, sealed handle for a resident, never the ID number itself.

Clients need a stable name for a resident (staff pass it to ``resident(id)``), but the ID number must
not travel in ids, URLs or client caches. The handle is the ID number encrypted with AES-GCM under a
gateway key; the nonce is an HMAC of the number, so one resident always gets the same handle (it
reveals equality, as a digest would, and nothing else). A handle that does not open under the key is
simply nobody (``None``), so a forged or altered id can only ever be refused.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import logging
import secrets

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

log = logging.getLogger(__name__)

PREFIX = "R1."  # the handle's format version: a new format can be told from this one
_AAD = b"onestop:resident"


class ResidentSeal:
    def __init__(self, secret: str | None) -> None:
        if not secret:
            # ids then live as long as this process: fine for tests, wrong for several replicas
            log.warning("no ONESTOP_RESIDENT_KEY or ONESTOP_JWT_SECRET: Resident ids are per process")
            secret = secrets.token_urlsafe(32)
        material = hashlib.sha256(b"onestop resident seal\x00" + secret.encode()).digest()
        self._aead = AESGCM(material)
        self._nonce_key = hashlib.sha256(b"onestop resident nonce\x00" + secret.encode()).digest()

    def seal(self, id_number: str) -> str:
        nonce = hmac.new(self._nonce_key, id_number.encode(), hashlib.sha256).digest()[:12]
        sealed = nonce + self._aead.encrypt(nonce, id_number.encode(), _AAD)
        return PREFIX + _encode(sealed)

    def open(self, handle: str) -> str | None:
        """The ID number behind a handle this gateway issued; None for anything else.

        Only the one encoding ``seal`` writes is accepted: base64 decoding forgives padding, stray
        characters and unused trailing bits, so without the check ``<id>=`` or a last character with
        other spare bits opened as the same resident, and two ids named one person (issue 14)."""
        if not handle.startswith(PREFIX) or len(handle) > 200:
            return None
        body = handle[len(PREFIX) :]
        try:
            sealed = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except (binascii.Error, ValueError):
            return None
        if len(sealed) < 12 + 16 or _encode(sealed) != body:
            return None
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], _AAD).decode()
        except (InvalidTag, UnicodeDecodeError):
            return None


def _encode(sealed: bytes) -> str:
    return base64.urlsafe_b64encode(sealed).rstrip(b"=").decode()
