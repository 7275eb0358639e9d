"""Connector administration over GraphQL: what ``onestop connector …`` calls (the CLI is a client of
this API, so scoping and the audit trail are enforced in one place, ``resolvers/admin.py``).

A department admin reaches only their own department; an operator every department. Refusals are
typed: ``UNAUTHENTICATED``, ``FORBIDDEN`` (also written to the audit trail), ``NOT_FOUND``. A spec that
is not valid is not an error but an answer: ``outcome: REFUSED`` with every problem and its line.
"""

from __future__ import annotations

from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry
from strawberry.scalars import JSON

from connectors.probe import OperationProbe, ProbeReport
from connectors.spec_check import Problem, SpecCheck
from resolvers.admin import Admin, Registration
from schema.context import Info
from store.audit import AuditRow
from store.models import ConnectorRegistration


@strawberry.enum(description="What became of a registered spec.")
class RegistrationOutcome(Enum):
    ACTIVE = strawberry.enum_value("ACTIVE", description="Stored as the new version and served")
    DRAFT = strawberry.enum_value("DRAFT", description="Stored, not served: the probe failed")
    REFUSED = strawberry.enum_value("REFUSED", description="Not stored: the spec is not valid")
    UNCHANGED = strawberry.enum_value(
        "UNCHANGED", description="The same as the served version: nothing stored"
    )


@strawberry.type(
    description="One problem of a spec: where (line, key path), what is wrong, what was expected."
)
class SpecProblem:
    line: int | None = strawberry.field(
        description="Line in the spec file (1-based); null when the problem has no place"
    )
    column: int | None = strawberry.field(description="Column on that line (1-based)")
    path: str = strawberry.field(description="Key path, e.g. operations.catalog.mapping.name_zh")
    message: str = strawberry.field(description="What is wrong")
    expected: str | None = strawberry.field(description="What was expected there, when it can be said")
    text: str = strawberry.field(description="the whole problem in one line, as the CLI prints it")

    @classmethod
    def of(cls, problem: Problem) -> SpecProblem:
        return cls(
            line=problem.line,
            column=problem.column,
            path=problem.path,
            message=problem.message,
            expected=problem.expected,
            text=str(problem),
        )


@strawberry.type(description="A spec checked without storing anything.")
class SpecValidation:
    ok: bool = strawberry.field(description="True when the spec has no problem")
    department: str | None = strawberry.field(
        description="The department the spec is for, when it could be read"
    )
    problems: list[SpecProblem] = strawberry.field(
        description="Every problem; the spec is refused if there is one"
    )
    warnings: list[str] = strawberry.field(description="Things that work but are probably not meant")

    @classmethod
    def of(cls, check: SpecCheck) -> SpecValidation:
        return cls(
            ok=check.ok,
            department=check.department,
            problems=[SpecProblem.of(p) for p in check.problems],
            warnings=list(check.warnings),
        )


@strawberry.type(description="One operation called against the department's live endpoint.")
class OperationProbeResult:
    capability: str = strawberry.field(description="The operation: catalog, stations, facts, ...")
    ok: bool = strawberry.field(description="It answered, and its answer mapped onto canonical records")
    records: int = strawberry.field(description="Records it returned")
    samples: list[JSON] = strawberry.field(description="a few canonical records (public data only)")
    problems: list[str] = strawberry.field(description="What went wrong, per record or for the call")
    skipped: bool = strawberry.field(
        description="Not called (a personal operation needs a resident to ask about)"
    )
    elapsed_ms: int = strawberry.field(description="How long the call took")
    pages: list[int] = strawberry.field(
        description="Records on each page read, in order (one entry for an operation that is not paged)"
    )
    last_page_reached: bool | None = strawberry.field(
        description="Whether paging reached the department's last page (false: it stopped early and the "
        "operation failed; null: not called)"
    )

    @classmethod
    def of(cls, result: OperationProbe) -> OperationProbeResult:
        return cls(
            capability=result.capability,
            ok=result.ok,
            records=result.records,
            samples=[JSON(sample) for sample in result.samples],
            problems=list(result.problems),
            skipped=result.skipped,
            elapsed_ms=result.elapsed_ms,
            pages=list(result.pages),
            last_page_reached=result.last_page_reached,
        )


@strawberry.type(description="What the gateway would serve from a spec, as its live endpoints answered.")
class ProbeResult:
    department: str = strawberry.field(description="The department probed")
    ok: bool = strawberry.field(description="Every operation called passed")
    operations: list[OperationProbeResult] = strawberry.field(description="Each operation of the spec")

    @classmethod
    def of(cls, report: ProbeReport | None) -> ProbeResult | None:
        if report is None:
            return None
        operations = [OperationProbeResult.of(o) for o in report.operations]
        return cls(department=report.department, ok=report.ok, operations=operations)


@strawberry.type(description="The answer to probeConnector: the probe runs only for a valid spec.")
class ConnectorProbeResult:
    validation: SpecValidation = strawberry.field(description="The spec's check")
    probe: ProbeResult | None = strawberry.field(
        description="The live calls; null when the spec is not valid"
    )


@strawberry.type(description="The answer to registerConnector.")
class ConnectorRegistrationResult:
    outcome: RegistrationOutcome = strawberry.field(description="What became of the spec")
    department: str | None = strawberry.field(description="The department, when the spec could be read")
    version: int | None = strawberry.field(description="The version stored; null when nothing was")
    validation: SpecValidation = strawberry.field(description="The spec's check")
    probe: ProbeResult | None = strawberry.field(
        description="The live calls; null when the spec is not valid"
    )

    @classmethod
    def of(cls, result: Registration) -> ConnectorRegistrationResult:
        return cls(
            outcome=RegistrationOutcome(result.outcome.value),
            department=result.department,
            version=result.version,
            validation=SpecValidation.of(result.check),
            probe=ProbeResult.of(result.probe),
        )


@strawberry.type(description="One version of a department's connector spec.")
class ConnectorVersion:
    department: str = strawberry.field(description="The department")
    version: int = strawberry.field(description="1, 2, ... in the order registered")
    status: str = strawberry.field(description="draft, active, inactive or disabled")
    active: bool = strawberry.field(description="The version served")
    registered_by: str = strawberry.field(description="Who registered it (a digest of the token's subject)")
    registered_at: datetime = strawberry.field(description="When it was registered")
    fingerprint: str = strawberry.field(
        description="SHA-256 of the spec text: equal specs, equal fingerprints"
    )
    spec: str = strawberry.field(description="the spec as registered, ${VARIABLES} unexpanded (no secrets)")

    @classmethod
    def of(cls, row: ConnectorRegistration) -> ConnectorVersion:
        return cls(
            department=row.department,
            version=row.version,
            status=row.status,
            active=row.active,
            registered_by=row.registered_by,
            registered_at=row.registered_at,
            fingerprint=row.fingerprint,
            spec=row.spec,
        )


@strawberry.type(description="A department's connector: its versions and what this process serves.")
class ConnectorInfo:
    department: str = strawberry.field(description="The department")
    versions: list[ConnectorVersion] = strawberry.field(description="oldest first")
    served_version: int | None = strawberry.field(description="the version this gateway process serves")


@strawberry.type(description="One entry of the audit trail of connector changes.")
class ConnectorAuditEntry:
    at: datetime = strawberry.field(description="When")
    actor: str = strawberry.field(description="Who (a digest of the token's subject)")
    role: str = strawberry.field(description="Their role: dept_admin or operator")
    department: str = strawberry.field(description="The department concerned")
    action: str = strawberry.field(description="register, rollback, disable, enable, ...")
    version: int | None = strawberry.field(description="The version concerned, if any")
    outcome: str = strawberry.field(description="ok, active, draft, refused or forbidden")
    detail: str = strawberry.field(description="What else there is to say (why it was refused, ...)")

    @classmethod
    def of(cls, row: AuditRow) -> ConnectorAuditEntry:
        return cls(
            at=row.at,
            actor=row.actor,
            role=row.role,
            department=row.department,
            action=row.action,
            version=row.version,
            outcome=row.outcome,
            detail=row.detail,
        )


DepartmentArg = Annotated[str, strawberry.argument(description="the department's id, e.g. civil-affairs")]
SpecArg = Annotated[str, strawberry.argument(description="the spec's text, YAML or JSON")]


def _admin(info: Info) -> Admin:
    services = info.context.services
    return Admin(
        services.sessions, services.reloader, services.digester, tuple(services.settings.connector_hosts)
    )


async def _info(info: Info, department: str) -> ConnectorInfo:
    rows = await _admin(info).versions(info.context.principal, department)
    served = info.context.services.registry.get(department)
    return ConnectorInfo(
        department=department,
        versions=[ConnectorVersion.of(r) for r in rows],
        served_version=served.version if served else None,
    )


@strawberry.type
class Query:
    @strawberry.field(description="Connectors you administer (an operator: all). Needs an admin token.")
    async def connectors(self, info: Info) -> list[ConnectorInfo]:
        names = await _admin(info).departments(info.context.principal)
        return [await _info(info, name) for name in names]

    @strawberry.field(description="One department's connector and its versions.")
    async def connector(self, info: Info, department: DepartmentArg) -> ConnectorInfo:
        return await _info(info, department)

    @strawberry.field(description="A unified diff between two versions (default: previous vs served).")
    async def connector_diff(
        self,
        info: Info,
        department: DepartmentArg,
        from_version: Annotated[
            int | None, strawberry.argument(description="default: the one before")
        ] = None,
        to_version: Annotated[int | None, strawberry.argument(description="default: the served one")] = None,
    ) -> str:
        return await _admin(info).diff(info.context.principal, department, from_version, to_version)

    @strawberry.field(description="The audit trail of connector changes, newest first.")
    async def connector_audit(
        self,
        info: Info,
        department: Annotated[str | None, strawberry.argument(description="only this department's")] = None,
        first: Annotated[int, strawberry.argument(description="at most this many, 1..500")] = 50,
    ) -> list[ConnectorAuditEntry]:
        rows = await _admin(info).audit(info.context.principal, department, max(1, min(first, 500)))
        return [ConnectorAuditEntry.of(r) for r in rows]


@strawberry.type
class Mutation:
    @strawberry.mutation(description="Check a spec: every problem with its line. Stores nothing.")
    def validate_connector(self, info: Info, spec: SpecArg) -> SpecValidation:
        return SpecValidation.of(_admin(info).validate(info.context.principal, spec))

    @strawberry.mutation(description="Call the department's live endpoints with a spec. Stores nothing.")
    async def probe_connector(self, info: Info, spec: SpecArg) -> ConnectorProbeResult:
        check, report = await _admin(info).probe(info.context.principal, spec)
        return ConnectorProbeResult(validation=SpecValidation.of(check), probe=ProbeResult.of(report))

    @strawberry.mutation(
        description="Validate, probe and store a spec as the department's next version; served on every "
        "gateway process within seconds if the probe passed (or `force`), kept as a draft otherwise."
    )
    async def register_connector(
        self,
        info: Info,
        spec: SpecArg,
        force: Annotated[bool, strawberry.argument(description="serve it even if the probe fails")] = False,
    ) -> ConnectorRegistrationResult:
        result = await _admin(info).register(info.context.principal, spec, force)
        return ConnectorRegistrationResult.of(result)

    @strawberry.mutation(
        description="Serve an earlier version again (default: the one before the served one). Re-activates "
        "that version; no new version is written. Returns the version now served."
    )
    async def rollback_connector(
        self,
        info: Info,
        department: DepartmentArg,
        to_version: Annotated[int | None, strawberry.argument(description="default: the one before")] = None,
    ) -> int:
        return await _admin(info).rollback(info.context.principal, department, to_version)

    @strawberry.mutation(description="Stop serving a department (its version is kept for enableConnector).")
    async def disable_connector(self, info: Info, department: DepartmentArg) -> int:
        return await _admin(info).set_enabled(info.context.principal, department, False)

    @strawberry.mutation(description="Serve a disabled department again, at the version it had.")
    async def enable_connector(self, info: Info, department: DepartmentArg) -> int:
        return await _admin(info).set_enabled(info.context.principal, department, True)
