"""Connector administration: register, validate, probe, roll back, disable and enable a department's
connector, with scoping and an audit trail — one place the CLI and the admin API both go through.

Scoping: an operator may act on every department; a department admin only on their own. A refused
attempt is answered with ``AdminRefused`` (code ``FORBIDDEN``) *and* written to the audit trail, so
trying another department's connector leaves a trace. Every change is audited with its outcome.
After a change this process reloads at once and tells the others (bus + polling, ``Reloader``).
"""

from __future__ import annotations

import difflib
import hashlib
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum

from sqlalchemy import String
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from connectors.probe import ProbeReport, probe
from connectors.spec_check import Problem, SpecCheck, check_spec
from coordination.reload import Reloader
from identity.digest import Digester
from identity.principal import Principal, Role
from store import audit
from store.audit import AuditEvent
from store.models import ConnectorRegistration
from store.registrations import (
    ACTIVE,
    RegistrationError,
    activate_version,
    departments,
    previous_version,
    register,
    set_enabled,
    versions,
)

log = logging.getLogger("onestop.admin")

ADMIN_ROLES = frozenset({Role.OPERATOR, Role.DEPT_ADMIN})


class AdminRefused(Exception):
    """Not allowed, or nothing to act on. ``code`` is what the client sees in ``extensions.code``."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.extensions = {"code": code}  # graphql-core puts these on the GraphQL error it raises


class Outcome(StrEnum):
    ACTIVE = "ACTIVE"  # stored as a new version and served
    DRAFT = "DRAFT"  # stored, not served: the probe failed (register again with force, or fix it)
    REFUSED = "REFUSED"  # not valid: nothing stored
    UNCHANGED = "UNCHANGED"  # the very text already served: no new version


@dataclass(frozen=True, slots=True)
class Registration:
    outcome: Outcome
    department: str | None
    version: int | None
    check: SpecCheck
    probe: ProbeReport | None = None


@dataclass(frozen=True, slots=True)
class Admin:
    """What administration needs from the app: the store, the reloader (and the spec environment)."""

    sessions: async_sessionmaker[AsyncSession]
    reloader: Reloader
    digester: Digester  # names a resident who strays here, in the audit trail
    allowed_hosts: tuple[str, ...] = ()  # hosts specs may call (ONESTOP_CONNECTOR_HOSTS); empty: any

    @property
    def environ(self) -> Mapping[str, str]:
        return self.reloader.environ

    # -- scoping -------------------------------------------------------------------------------------

    async def authorize(self, principal: Principal | None, department: str, action: str) -> Principal:
        """The caller, if they may ``action`` on ``department``; otherwise refused (and audited)."""
        if principal is None:
            raise AdminRefused("UNAUTHENTICATED", "connector administration needs a bearer token")
        allowed = principal.role is Role.OPERATOR or (
            principal.role is Role.DEPT_ADMIN and principal.department == department
        )
        if not allowed:
            await self._audit(principal, department, action, "forbidden", detail=_why_not(principal))
            raise AdminRefused("FORBIDDEN", f"you may not {action} the connector of {department}")
        return principal

    def require_admin(self, principal: Principal | None) -> Principal:
        if principal is None:
            raise AdminRefused("UNAUTHENTICATED", "connector administration needs a bearer token")
        if principal.role not in ADMIN_ROLES:
            raise AdminRefused("FORBIDDEN", "connector administration is for department admins and operators")
        return principal

    # -- checking ------------------------------------------------------------------------------------

    def validate(self, principal: Principal | None, text: str) -> SpecCheck:
        self.require_admin(principal)
        return check_spec(text, self.environ, allowed_hosts=self.allowed_hosts)

    async def probe(self, principal: Principal | None, text: str) -> tuple[SpecCheck, ProbeReport | None]:
        caller = self.require_admin(principal)
        check = check_spec(text, self.environ, allowed_hosts=self.allowed_hosts)
        if check.department is not None:
            await self.authorize(caller, check.department, "probe")
        if check.spec is None:
            return check, None
        return check, await probe(check.spec)

    # -- changing ------------------------------------------------------------------------------------

    async def register(self, principal: Principal | None, text: str, force: bool = False) -> Registration:
        """Validate, probe, store as a new version; serve it if the probe passed (or ``force``)."""
        check = check_spec(text, self.environ, allowed_hosts=self.allowed_hosts)
        department = check.department or (principal.department if principal else None) or "?"
        caller = await self.authorize(principal, department, "register")
        if check.spec is None:
            await self._audit(caller, department, "register", "refused", detail=_summary(check.problems))
            return Registration(Outcome.REFUSED, check.department, None, check)
        served = next((r for r in await versions(self.sessions, department) if r.status == ACTIVE), None)
        if served is not None and served.fingerprint == hashlib.sha256(text.encode()).hexdigest():
            return Registration(Outcome.UNCHANGED, department, served.version, check)
        report = await probe(check.spec)
        live = report.ok or force
        try:
            row = await register(self.sessions, text, caller.subject, self.environ, activate=live)
        except IntegrityError as exc:  # another registration took the same version at the same moment
            raise await self._conflict(caller, department, "register") from exc
        assert row is not None
        detail = "probe passed" if report.ok else "; ".join(report.warnings)[:500] or "probe failed"
        outcome = Outcome.ACTIVE if live else Outcome.DRAFT
        await self._audit(caller, department, "register", outcome.value.lower(), row.version, detail)
        if live:
            await self._changed(department)
        return Registration(outcome, department, row.version, check, report)

    async def rollback(self, principal: Principal | None, department: str, to: int | None) -> int:
        """Serve an earlier version again (re-activation: no new version). Returns the version served."""
        caller = await self.authorize(principal, department, "rollback")
        try:
            target = to if to is not None else await previous_version(self.sessions, department)
            row = await activate_version(self.sessions, department, target)
        except IntegrityError as exc:
            raise await self._conflict(caller, department, "rollback") from exc
        except RegistrationError as exc:
            await self._audit(caller, department, "rollback", "refused", to, str(exc))
            raise AdminRefused("NOT_FOUND", str(exc)) from exc
        await self._audit(caller, department, "rollback", "ok", row.version)
        await self._changed(department)
        return row.version

    async def set_enabled(self, principal: Principal | None, department: str, enabled: bool) -> int:
        action = "enable" if enabled else "disable"
        caller = await self.authorize(principal, department, action)
        try:
            row = await set_enabled(self.sessions, department, enabled)
        except IntegrityError as exc:
            raise await self._conflict(caller, department, action) from exc
        except RegistrationError as exc:
            await self._audit(caller, department, action, "refused", detail=str(exc))
            raise AdminRefused("NOT_FOUND", str(exc)) from exc
        await self._audit(caller, department, action, "ok", row.version)
        await self._changed(department)
        return row.version

    # -- reading -------------------------------------------------------------------------------------

    async def departments(self, principal: Principal | None) -> list[str]:
        caller = self.require_admin(principal)
        known = await departments(self.sessions)
        if caller.role is Role.OPERATOR:
            return known
        return [d for d in known if d == caller.department]

    async def versions(self, principal: Principal | None, department: str) -> list[ConnectorRegistration]:
        await self.authorize(principal, department, "read")
        rows = await versions(self.sessions, department)
        if not rows:
            raise AdminRefused("NOT_FOUND", f"no connector is registered for {department}")
        return rows

    async def diff(
        self, principal: Principal | None, department: str, old: int | None, new: int | None
    ) -> str:
        """A unified diff between two versions (default: the one before the served one, and it)."""
        rows = {r.version: r for r in await self.versions(principal, department)}
        served = next((v for v, r in rows.items() if r.active), max(rows))
        new = served if new is None else new
        if old is None:
            earlier = [v for v in rows if v < new]
            old = earlier[-1] if earlier else new
        missing = [v for v in (old, new) if v not in rows]
        if missing:
            raise AdminRefused("NOT_FOUND", f"{department} has no version {missing[0]}")
        lines = difflib.unified_diff(
            rows[old].spec.splitlines(keepends=True),
            rows[new].spec.splitlines(keepends=True),
            fromfile=f"{department} v{old}",
            tofile=f"{department} v{new}",
        )
        return "".join(lines)

    async def audit(
        self, principal: Principal | None, department: str | None, limit: int
    ) -> list[audit.AuditRow]:
        caller = self.require_admin(principal)
        if caller.role is not Role.OPERATOR:
            department = caller.department
        elif department is not None:
            await self.authorize(caller, department, "read")
        return await audit.entries(self.sessions, department, limit)

    # -- plumbing ------------------------------------------------------------------------------------

    async def _changed(self, department: str) -> None:
        """This process serves the change before the answer goes out; the others hear of it. The change
        is stored either way: a reload that fails here is caught up by the next poll."""
        try:
            await self.reloader.sync()
        except Exception:
            log.exception("reload after a change to %s failed; the next poll retries", department)
        await self.reloader.announce(department)

    async def _conflict(self, principal: Principal, department: str, action: str) -> AdminRefused:
        """Two changes to one department at the same instant: the database let one win; this one is
        refused whole (nothing half-written) and can simply be tried again."""
        await self._audit(principal, department, action, "conflict")
        return AdminRefused(
            "CONFLICT", f"another change to {department} was made at the same moment; try again"
        )

    async def _audit(
        self,
        principal: Principal,
        department: str,
        action: str,
        outcome: str,
        version: int | None = None,
        detail: str = "",
    ) -> None:
        # a resident's subject is their ID number: the audit trail keeps only its digest
        actor = principal.subject
        if principal.role not in ADMIN_ROLES:
            actor = f"digest:{self.digester.of(principal.subject)}"
        # whatever name a caller tried must fit its column: a refused read whose row the database
        # rejects would leave no trace at all (PostgreSQL enforces the width; SQLite does not)
        department = department[: _width("department")]
        event = AuditEvent(
            actor[: _width("actor")], principal.role.value, department, action, outcome, version, detail
        )
        await audit.record(self.sessions, event)


def _width(column: str) -> int:
    kind = audit.AuditRow.__table__.c[column].type
    assert isinstance(kind, String) and kind.length is not None
    return kind.length


def _why_not(principal: Principal) -> str:
    if principal.role is Role.DEPT_ADMIN:
        return f"dept_admin of {principal.department}"
    return f"role {principal.role.value} may not administer connectors"


def _summary(problems: tuple[Problem, ...]) -> str:
    return "; ".join(str(p) for p in problems[:10])
