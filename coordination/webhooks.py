"""Department webhooks: is this call really from the department, and is it fresh?

A department signs each call with the secret in its connector spec (``webhook.secret``):
``<signature_header>: sha256=<hex HMAC-SHA256(secret, "<timestamp>.<raw body>")>`` and
``<timestamp_header>: <Unix seconds>``. Signing the timestamp with the body means an old call cannot
be replayed with a new time; a call older (or further ahead) than ``max_skew_s`` is refused, and a
signature already accepted within that window is refused too, so a captured call cannot be sent again.
When the memory of accepted signatures (Redis) cannot be asked, the call is refused with 503 and
``Retry-After`` — fail closed: the department sends it again later, a replay is never let through.

Pure checks, no HTTP: ``verify`` raises ``WebhookRefused`` with the status and code to answer.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Protocol

from connectors.spec import Webhook

SCHEME = "sha256="
_HEX = re.compile(r"^[0-9a-f]{64}$")
_TIMESTAMP = re.compile(r"^\d{1,12}$")


@dataclass(frozen=True, slots=True)
class WebhookRefused(Exception):
    status: int
    code: str
    message: str
    retry_after_s: int | None = None  # for 503: when the department should send the call again

    def __str__(self) -> str:
        return self.message


def sign(secret: str, timestamp: str, body: bytes) -> str:
    """The signature header value for ``body`` sent at ``timestamp`` (what departments compute)."""
    digest = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()
    return SCHEME + digest


class SeenSignatures(Protocol):
    async def claim(self, key: str) -> bool:
        """True the first time ``key`` is seen (within the replay window), False after; raises (any
        exception) when it cannot tell, and the call is then refused, never accepted unchecked."""


REPLAY_CHECK_RETRY_S = 30  # Retry-After when the replay memory is unreachable: departments retry later


def check_signature(
    webhook: Webhook, headers: Mapping[str, str], body: bytes, now: float | None = None
) -> str:
    """The verified signature (to remember against replays), or ``WebhookRefused``."""
    timestamp = headers.get(webhook.timestamp_header.lower(), "").strip()
    signature = headers.get(webhook.signature_header.lower(), "").strip().lower()
    if not timestamp or not signature:
        raise WebhookRefused(
            401,
            "WEBHOOK_SIGNATURE_MISSING",
            f"sign the call: {webhook.signature_header} and {webhook.timestamp_header} are required",
        )
    if not _TIMESTAMP.match(timestamp):
        raise WebhookRefused(
            401, "WEBHOOK_SIGNATURE_MISSING", f"{webhook.timestamp_header} is not Unix seconds"
        )
    if not signature.startswith(SCHEME) or not _HEX.match(signature.removeprefix(SCHEME)):
        raise WebhookRefused(403, "WEBHOOK_SIGNATURE_INVALID", "the signature is not sha256=<64 hex digits>")
    expected = sign(webhook.secret.get_secret_value(), timestamp, body)
    if not hmac.compare_digest(expected, signature):
        raise WebhookRefused(403, "WEBHOOK_SIGNATURE_INVALID", "the signature does not match the body")
    skew = abs((time.time() if now is None else now) - int(timestamp))
    if skew > webhook.max_skew_s:
        raise WebhookRefused(
            403, "WEBHOOK_STALE", f"the timestamp is {skew:.0f}s away; at most {webhook.max_skew_s:.0f}s"
        )
    return signature


async def verify(
    webhook: Webhook, department: str, headers: Mapping[str, str], body: bytes, seen: SeenSignatures
) -> None:
    """Signed by the department, fresh, and not seen before — or ``WebhookRefused``."""
    signature = check_signature(webhook, headers, body)
    try:
        first = await seen.claim(f"webhook:{department}:{signature}")
    except Exception as exc:  # fail closed: a replay could not be ruled out
        raise WebhookRefused(
            503,
            "WEBHOOK_REPLAY_CHECK_UNAVAILABLE",
            "the replay check is unavailable; send the call again later (see Retry-After)",
            REPLAY_CHECK_RETRY_S,
        ) from exc
    if not first:
        raise WebhookRefused(403, "WEBHOOK_REPLAYED", "this signed call was already received")
