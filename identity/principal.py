"""The verified caller of one request: who, in which role, through which channel.

Plain data, no GraphQL and no HTTP: resolvers and policies take a ``Principal`` and decide. A request
without a token has no principal (``None``) and may read only public data. Logs, stored rows and cache
keys name a subject by its keyed digest: ``services.digester.of(principal.subject)`` (identity/digest.py).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Role(StrEnum):
    RESIDENT = "resident"  # subject is the resident's own 18-character ID number
    STAFF = "staff"  # works at one station (``station``), acts for residents who consented
    DEPT_ADMIN = "dept_admin"  # administers one department's connector (``department``); no personal data
    OPERATOR = "operator"  # runs the gateway: every connector, no personal data


class ClientChannel(StrEnum):
    """Where a request comes from; recorded in access logs, used for persisted queries and limits."""

    APP = "app"
    WECHAT = "wechat"
    KIOSK = "kiosk"
    COUNTER = "counter"  # station staff's desk
    UNKNOWN = "unknown"


@dataclass(frozen=True, slots=True)
class Principal:
    subject: str
    role: Role
    channel: ClientChannel = ClientChannel.UNKNOWN
    station: str | None = None
    department: str | None = None
    token_id: str | None = None
    expires_at: float | None = None

    def __repr__(self) -> str:
        # never the subject, not even a digest: a resident's subject is their ID number, and digests
        # are keyed (identity/digest.py), which a repr has no key for
        return f"Principal({self.role.value}, channel={self.channel.value})"
