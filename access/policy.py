"""Who may see whose personal data — decided here and nowhere else.

Every resolver that touches a resident's personal data gets an ``Acting`` from ``Context.acting_for``
(which calls ``AccessPolicy.acting_for``) and every read is written to the access log through
``Context.record_access``. The rules:

* no token: ``UNAUTHENTICATED``;
* a resident sees their own data (``resident=None``, or their own ``Resident.id``) and nobody else's;
* station staff see a resident only inside an assisted session the resident consented to, that has
  not expired or been revoked or ended, and whose purpose scope covers what is asked
  (``CONSENT_REQUIRED`` otherwise); staff never read a resident's access log;
* department admins and operators see no personal data at all (``FORBIDDEN``).

``Acting.resident_id`` is the resident's ID number, for department requests only: it is never put in
a response, a log line, an error or a cache key (``resident_digest`` is what those may carry).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Literal, Protocol

from domain.records import RESIDENT_ID
from identity.digest import Digester
from identity.principal import ClientChannel, Principal, Role

DenialCode = Literal["UNAUTHENTICATED", "FORBIDDEN", "CONSENT_REQUIRED"]


class AccessDenied(Exception):
    """A refusal the client sees as a typed GraphQL error with ``extensions.code`` = ``code``.

    The message never names the resident asked about: a refusal must not confirm that someone exists.
    """

    def __init__(self, code: DenialCode, message: str) -> None:
        super().__init__(message)
        self.code: DenialCode = code
        self.extensions = {"code": code}  # graphql-core puts these on the GraphQL error it raises


class Purpose(StrEnum):
    """Why personal data is read; an assisted session's consent is scoped to some of these."""

    PROFILE = "PROFILE"
    ELIGIBILITY = "ELIGIBILITY"
    CASES = "CASES"
    APPLICATIONS = "APPLICATIONS"
    APPOINTMENTS = "APPOINTMENTS"
    BILLS = "BILLS"
    ACTIVITIES = "ACTIVITIES"  # signing up for station activities (and a volunteer's register entry)
    PAYMENTS = "PAYMENTS"  # paying a resident's bills, and reading their payments
    ACCESS_LOG = "ACCESS_LOG"  # the resident's own log: never in a staff member's scope


STAFF_PURPOSES = frozenset(Purpose) - {Purpose.ACCESS_LOG}


@dataclass(frozen=True)
class Acting:
    """A principal allowed to act for one resident, for one purpose, in this request."""

    principal: Principal
    resident_id: str  # the resident's ID number: for department requests only, never shown or logged
    session_id: str | None  # the assisted session that allows it; None when residents act for themselves
    purpose: Purpose
    resident_digest: str  # what logs, stored rows and topics carry instead of the ID number (keyed)
    actor_digest: str  # the principal's subject, keyed likewise (a resident's is their ID number too)

    @property
    def on_own_behalf(self) -> bool:
        return self.session_id is None

    def __repr__(self) -> str:
        return (
            f"Acting({self.principal!r}, resident={self.resident_digest}, "
            f"purpose={self.purpose.value}, session={self.session_id})"
        )


@dataclass(frozen=True, slots=True)
class AccessRecord:
    """One row of the access log, before it is written."""

    at: datetime
    actor_digest: str
    actor_role: Role
    station: str | None
    resident_digest: str
    data: str
    department: str | None
    purpose: Purpose
    channel: ClientChannel
    session_id: str | None


def access_record(acting: Acting, data: str, department: str | None, channel: ClientChannel) -> AccessRecord:
    return AccessRecord(
        at=datetime.now(UTC),
        actor_digest=acting.actor_digest,
        actor_role=acting.principal.role,
        station=acting.principal.station,
        resident_digest=acting.resident_digest,
        data=data,
        department=department,
        purpose=acting.purpose,
        channel=channel,
        session_id=acting.session_id,
    )


class SessionLookup(Protocol):
    """What the policy needs from assisted sessions (``access.sessions.AssistedSessions`` is one)."""

    async def active_session(
        self, staff: Principal, resident_digest: str, purpose: Purpose | None
    ) -> str | None:
        """The id of an active, consented, unexpired session of ``staff`` covering ``purpose`` (any
        purpose when None)."""


def check_allowed(principal: Principal | None) -> Principal:
    """Anyone who may ever see personal data: a resident or station staff."""
    if principal is None:
        raise AccessDenied("UNAUTHENTICATED", "personal data needs a bearer token")
    if principal.role in (Role.DEPT_ADMIN, Role.OPERATOR):
        raise AccessDenied("FORBIDDEN", f"the {principal.role.value} role sees no personal data")
    return principal


# ``(Resident.id) -> ID number``, None for a handle this gateway did not issue (``ResidentSeal.open``)
HandleOpener = Callable[[str], str | None]


class AccessPolicy:
    def __init__(self, sessions: SessionLookup, open_handle: HandleOpener, digester: Digester) -> None:
        self.sessions = sessions
        self.open_handle = open_handle
        self.digester = digester

    async def acting_for(self, principal: Principal | None, resident: str | None, purpose: Purpose) -> Acting:
        """May ``principal`` read ``resident``'s data for ``purpose``? An ``Acting`` or ``AccessDenied``.

        ``resident`` is None for "myself", else the opaque ``Resident.id``.
        """
        principal = check_allowed(principal)
        if principal.role is Role.RESIDENT:
            return self._resident_self(principal, resident, purpose)
        return await self._staff(principal, resident, purpose)

    async def reach(self, principal: Principal | None, resident: str | None) -> Acting:
        """May ``principal`` see ``resident`` at all (for some purpose)? Checked by ``me`` and
        ``resident(id)`` so a stranger is refused at the door; each field then checks its purpose."""
        principal = check_allowed(principal)
        if principal.role is Role.RESIDENT:
            return self._resident_self(principal, resident, Purpose.PROFILE)
        return await self._staff(principal, resident, None)

    def _resident_self(self, principal: Principal, resident: str | None, purpose: Purpose) -> Acting:
        if not RESIDENT_ID.match(principal.subject):
            raise AccessDenied("FORBIDDEN", "this token does not name a resident")
        if resident is not None and self.open_handle(resident) != principal.subject:
            raise AccessDenied("FORBIDDEN", "a resident may see only their own data")
        return self._acting(principal, principal.subject, None, purpose)

    async def _staff(self, principal: Principal, resident: str | None, purpose: Purpose | None) -> Acting:
        """Staff inside an active, consented session covering ``purpose`` (any purpose when None)."""
        if principal.role is not Role.STAFF:  # a role added later sees nothing until it is decided here
            raise AccessDenied("FORBIDDEN", f"the {principal.role.value} role sees no personal data")
        if resident is None:
            raise AccessDenied("FORBIDDEN", "staff read a resident's data through resident(id)")
        id_number = self.open_handle(resident)
        if id_number is None:
            raise AccessDenied("FORBIDDEN", "no such resident handle was issued by this gateway")
        if purpose is not None and purpose not in STAFF_PURPOSES:
            raise AccessDenied("FORBIDDEN", f"staff may not read {purpose.value}: only the resident may")
        session_id = await self.sessions.active_session(principal, self.digester.of(id_number), purpose)
        if session_id is None:
            covering = "" if purpose is None else f" covers {purpose.value}"
            raise AccessDenied(
                "CONSENT_REQUIRED", f"no active assisted session with the resident's consent{covering}"
            )
        return self._acting(principal, id_number, session_id, purpose or Purpose.PROFILE)

    def _acting(
        self, principal: Principal, id_number: str, session_id: str | None, purpose: Purpose
    ) -> Acting:
        of = self.digester.of
        return Acting(principal, id_number, session_id, purpose, of(id_number), of(principal.subject))
