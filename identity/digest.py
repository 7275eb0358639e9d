"""Keyed digests: what logs, stored rows, cache keys and bus topics carry instead of an ID number.

A resident's ID number has about 10^11 possible values (region × birth date × sequence × check digit),
so a plain SHA-256 of it is reversed by trying them all in seconds on a GPU: anyone holding the logs,
the database or Redis would have the numbers back. An HMAC-SHA256 under a key the attacker does not
hold cannot be tried that way. The key must be the same on every gateway process of a deployment and
across restarts (digests are stored and compared between processes), so it comes from settings, never
from chance — except for ``Digester.ephemeral()``, for parts that never store or share a digest.

One ``Digester`` per app (``services.build_services`` makes it ``Services.digester``); every digest of a
subject in the gateway goes through one.
"""

from __future__ import annotations

import functools
import hashlib
import hmac
import logging
import secrets

log = logging.getLogger(__name__)

DIGEST_HEX = 32  # 128 bits: no two of a city's residents share a digest (their rows would mix)
MIN_PRODUCTION_KEY = 16  # characters: a short key could itself be guessed
_LABEL = b"onestop subject digest v1"  # the key is derived for this use alone (not the seal's key)

# Public on purpose: development digests are no secret, and every development process agrees on them.
DEVELOPMENT_SECRET = "onestop development digest key (not secret)"  # noqa: S105


class DigestKeyMissing(RuntimeError):
    """Production without a digest key: the gateway refuses to start (raised by ``create_app``)."""


class Digester:
    """HMAC-SHA256 of subjects under one deployment's key; ``of(value)`` is 32 hex digits."""

    __slots__ = ("_key",)

    def __init__(self, secret: str) -> None:
        if not secret:
            raise ValueError("a digest key cannot be empty")
        self._key = hmac.new(secret.encode(), _LABEL, hashlib.sha256).digest()

    def of(self, value: str) -> str:
        """The digest of ``value`` (an ID number, a token subject, an IP address)."""
        return hmac.new(self._key, value.encode(), hashlib.sha256).hexdigest()[:DIGEST_HEX]

    def __repr__(self) -> str:
        return "Digester(<keyed>)"  # never the key

    @classmethod
    def ephemeral(cls) -> Digester:
        """A key of this object's own: for a part whose digests are never stored or shared (a
        connector probe with no cache). Never for anything two processes compare."""
        return cls(secrets.token_urlsafe(32))

    @classmethod
    def from_secrets(cls, digest_key: str | None, resident_secret: str | None, production: bool) -> Digester:
        """The deployment's digester: ``ONESTOP_DIGEST_KEY``, else the resident secret
        (``ONESTOP_RESIDENT_KEY`` or ``ONESTOP_JWT_SECRET``), else — in development only — the public
        development key. ``DigestKeyMissing`` in production without a key, or with a short one."""
        secret = digest_key or resident_secret
        if secret is None:
            if production:
                raise DigestKeyMissing(
                    "production mode needs ONESTOP_DIGEST_KEY (or ONESTOP_RESIDENT_KEY): the key of the "
                    "digests that stand for ID numbers in logs, the database and Redis. Set the same "
                    "random value (at least 16 characters) on every gateway process and keep it: "
                    "changing it orphans stored appointments, sessions and access-log rows"
                )
            _warn_development_key()
            secret = DEVELOPMENT_SECRET
        elif production and len(secret) < MIN_PRODUCTION_KEY:
            raise DigestKeyMissing(
                f"the digest key (ONESTOP_DIGEST_KEY, else ONESTOP_RESIDENT_KEY or ONESTOP_JWT_SECRET) "
                f"has {len(secret)} characters; production needs at least {MIN_PRODUCTION_KEY}"
            )
        return cls(secret)


@functools.cache
def _warn_development_key() -> None:
    """Once per process: the warning matters, its repetition for every app built does not."""
    log.warning(
        "no ONESTOP_DIGEST_KEY, ONESTOP_RESIDENT_KEY or ONESTOP_JWT_SECRET: digests of ID numbers use "
        "the public development key and can be reversed; production mode refuses to start like this"
    )
