"""The verified caller of one request: who, in which role, through which channel.

Plain data, no GraphQL and no HTTP: resolvers and policies take a ``Principal`` and decide. A request
without a token has no principal (``None``) and may read only public data.
"""

from __future__ import annotations

import hashlib
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

    @property
    def subject_digest(self) -> str:
        """What logs and the access log may carry instead of the subject (an ID number for residents)."""
        return subject_digest(self.subject)

    def __repr__(self) -> str:
        # never the subject itself: a resident's subject is their ID number
        return f"Principal({self.role.value}, subject={self.subject_digest}, channel={self.channel.value})"


def subject_digest(subject: str) -> str:
    """A stable, non-reversible name for a subject (16 hex digits of SHA-256)."""
    return hashlib.sha256(subject.encode()).hexdigest()[:16]
