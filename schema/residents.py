"""The resident view: ``me`` and ``resident(id)``, the only doors to a resident's personal data.

Every personal field of ``Resident`` goes through ``Resident._read``: it asks the access policy for
that field's purpose (``Context.acting_for``), fetches, and writes one access-log row per department
the data came from (``Context.record_access``). A new personal field written any other way would be
the odd one out in this file; ``tests/test_access.py`` checks that every field logs.

``Resident.id`` is an opaque sealed handle (access/identifiers.py), never the ID number.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterable
from datetime import date, datetime
from typing import Annotated, TypeVar

import strawberry

from access.log import LoggedAccess
from access.policy import STAFF_PURPOSES, AccessDenied, Acting, Purpose
from access.sessions import MAX_DURATION_S, SessionView
from connectors.adapter import check_resident_id
from domain.records import CaseStatus
from identity.principal import Principal, Role
from resolvers.bills import resident_bills
from resolvers.cases import one_case, resident_cases
from resolvers.eligibility import EligibilityRequest, resident_eligibility
from resolvers.errors import InputError
from resolvers.payments import payments_of, resident_payments
from resolvers.residents import FactReading, PersonalLoaders, mask_id_number
from resolvers.stations import check_point
from schema.activity_signups import ActivitySignUp, sign_ups_for
from schema.appointments import Appointment, appointments_for
from schema.bills import Bill
from schema.cases import Case
from schema.context import Context, Info, path_of
from schema.described import described_enum
from schema.eligibility import Eligibility
from schema.payments import Payment
from schema.stations import GeoPointInput

T = TypeVar("T")

described_enum(
    Purpose,
    "查询目的 / Purpose: why a resident's data is read.",
    {
        "PROFILE": "基本信息 / Profile: name, age, household, address",
        "ELIGIBILITY": "资格核验 / Eligibility for services",
        "CASES": "办件进度 / Cases and their progress",
        "APPLICATIONS": "提交申请 / Submitting applications",
        "APPOINTMENTS": "预约 / Appointments at stations",
        "BILLS": "账单 / Utility bills",
        "ACTIVITIES": "活动报名 / Sign-ups for station activities",
        "PAYMENTS": "缴费 / Paying bills, and the payments made",
        "ACCESS_LOG": "查询记录 / The resident's own access log (never in staff's scope)",
    },
    name="AccessPurpose",
)

CaseIdArg = Annotated[strawberry.ID, strawberry.argument(description="`<department>:<reference>`")]
SessionIdArg = Annotated[strawberry.ID, strawberry.argument(description="the assisted session's id")]

PROFILE_FACTS = ("name", "birth_date", "age", "hukou_district", "household_id", "household_type", "address")
MAX_LOG_PAGE = 100


def personal_loaders(context: Context) -> PersonalLoaders:
    """This request's facts and cases loaders (one per request, like ``Context.loaders``)."""
    loaders = context.views.get("__personal_loaders__")
    if loaders is None:
        loaders = context.views["__personal_loaders__"] = PersonalLoaders(context.registry, context.notices)
    assert isinstance(loaders, PersonalLoaders)
    return loaders


def handle_of(context: Context, id_number: str) -> strawberry.ID:
    return strawberry.ID(context.services.access.handle(id_number))


@strawberry.type(description="Where one profile value came from.")
class FactSource:
    fact: str = strawberry.field(description="The profile value: name, birth_date, age, ...")
    department_id: strawberry.ID | None = strawberry.field(description="The department that reported it")
    fetched_at: datetime | None = strawberry.field(description="When that department said so")
    unknown: str | None = strawberry.field(description="why the value could not be fetched")


@strawberry.type(description="A resident as the departments report them; null where none could say.")
class Profile:
    name: str | None = strawberry.field(description="姓名 / Name")
    id_number_masked: str = strawberry.field(description="like 310***********1234")
    birth_date: date | None = strawberry.field(description="出生日期 / Date of birth")
    age: int | None = strawberry.field(description="年龄 / Age in years, from the date of birth")
    hukou_district: str | None = strawberry.field(
        description="户籍区 / District of household registration (hukou)"
    )
    household_id: str | None = strawberry.field(description="户号 / Household number")
    household_type: str | None = strawberry.field(description="urban or rural")
    address: str | None = strawberry.field(description="住址 / Address")
    sources: list[FactSource] = strawberry.field(description="Where each value came from")

    @classmethod
    def from_readings(cls, id_number: str, readings: dict[str, FactReading]) -> Profile:
        def value(fact: str) -> object:
            return readings[fact].value

        return cls(
            name=value("name"),  # type: ignore[arg-type]
            id_number_masked=mask_id_number(id_number),
            birth_date=value("birth_date"),  # type: ignore[arg-type]
            age=value("age"),  # type: ignore[arg-type]
            hukou_district=value("hukou_district"),  # type: ignore[arg-type]
            household_id=value("household_id"),  # type: ignore[arg-type]
            household_type=value("household_type"),  # type: ignore[arg-type]
            address=value("address"),  # type: ignore[arg-type]
            sources=[
                FactSource(
                    fact=r.fact,
                    department_id=None if r.department is None else strawberry.ID(r.department),
                    fetched_at=r.fetched_at,
                    unknown=r.unknown,
                )
                for r in readings.values()
            ],
        )


@strawberry.type(description="A department's own number for the resident (e.g. a utility account).")
class DepartmentAccount:
    department_id: strawberry.ID = strawberry.field(description="The department")
    number: str = strawberry.field(description="what the department keys the resident's records by")
    kind: str | None = strawberry.field(description="e.g. WATER, POWER, GAS")


@strawberry.type(description="One read of the resident's data: who, for what, from which department.")
class AccessLogEntry:
    id: strawberry.ID = strawberry.field(description="Entry id, for `accessLog(before:)`")
    at: datetime = strawberry.field(description="查询时间 / When it was read")
    by_you: bool = strawberry.field(description="true when the resident read it themself")
    actor_role: str = strawberry.field(description="resident or staff")
    station: str | None = strawberry.field(description="the staff member's station")
    data: str = strawberry.field(description="profile, eligibility, cases, case, bills, ...")
    department_id: strawberry.ID | None = strawberry.field(description="the department it came from")
    purpose: Purpose = strawberry.field(description="查询目的 / Why")
    channel: str = strawberry.field(
        description="Through which channel: app, wechat, kiosk, counter or unknown"
    )
    session_id: strawberry.ID | None = strawberry.field(description="the assisted session that allowed it")

    @classmethod
    def from_logged(cls, entry: LoggedAccess, own_digest: str) -> AccessLogEntry:
        return cls(
            id=strawberry.ID(str(entry.id)),
            at=entry.at,
            by_you=entry.actor_digest == own_digest,
            actor_role=entry.actor_role,
            station=entry.station,
            data=entry.data,
            department_id=None if entry.department is None else strawberry.ID(entry.department),
            purpose=Purpose(entry.purpose),
            channel=entry.channel,
            session_id=None if entry.session_id is None else strawberry.ID(entry.session_id),
        )


@strawberry.type(description="Station staff acting for a resident who consented, for some purposes.")
class AssistedSession:
    id: strawberry.ID = strawberry.field(description="Session id")
    resident_id: strawberry.ID = strawberry.field(description="pass to resident(id) once consented")
    station: str = strawberry.field(description="服务站 / The staff member's station")
    purposes: list[Purpose] = strawberry.field(description="授权范围 / What the staff member may read or do")
    status: str = strawberry.field(description="PENDING, ACTIVE, REVOKED, ENDED or EXPIRED")
    minutes: int = strawberry.field(description="how long the consent lasts once given")
    created_at: datetime = strawberry.field(description="When staff asked")
    consented_at: datetime | None = strawberry.field(
        description="When the resident consented; null until then"
    )
    expires_at: datetime = strawberry.field(description="pending: the consent deadline; active: the end")

    @classmethod
    def from_view(cls, view: SessionView) -> AssistedSession:
        return cls(
            id=strawberry.ID(view.id),
            resident_id=strawberry.ID(view.resident_ref),
            station=view.station,
            purposes=list(view.purposes),
            status=view.status,
            minutes=view.duration_s // 60,
            created_at=view.created_at,
            consented_at=view.consented_at,
            expires_at=view.expires_at,
        )


@strawberry.type(description="A resident: their own view (`me`), or staff's inside an assisted session.")
class Resident:
    id: strawberry.ID = strawberry.field(description="Opaque; never the ID number")
    key: strawberry.Private[str | None]  # None: the caller themself; else the handle they passed

    async def _read(
        self,
        info: Info,
        purpose: Purpose,
        data: str,
        fetch: Callable[[Acting], Awaitable[T]],
        departments_of: Callable[[T], Iterable[str | None]],
    ) -> T:
        """The one way personal data is read: policy for ``purpose``, fetch, one log row per department."""
        context = info.context
        acting = await context.acting_for(self.key, purpose)
        value = await fetch(acting)
        departments: list[str | None] = [*sorted({d for d in departments_of(value) if d is not None})]
        for department in departments or [None]:
            await context.record_access(acting, data, department)
        return value

    @strawberry.field(description="Name, masked ID number, age, household and address")
    async def profile(self, info: Info) -> Profile:
        async def fetch(acting: Acting) -> Profile:
            loaders = personal_loaders(info.context)
            readings = await loaders.readings(acting.resident_id, PROFILE_FACTS, path_of(info))
            return Profile.from_readings(acting.resident_id, readings)

        return await self._read(
            info, Purpose.PROFILE, "profile", fetch, lambda p: (s.department_id for s in p.sources)
        )

    @strawberry.field(
        description="Whether the resident may use each service, criterion by criterion; every service "
        "when `serviceIds` is omitted (ids no catalogue lists are left out). Each department's facts "
        "are fetched once, all in parallel."
    )
    async def eligibility(
        self,
        info: Info,
        service_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description="catalogue codes; default: every service"),
        ] = None,
        near: Annotated[
            GeoPointInput | None, strawberry.argument(description="to name the nearest station to go to")
        ] = None,
    ) -> list[Eligibility]:
        if service_ids is not None and len(service_ids) > 500:
            raise InputError("serviceIds", "at most 500")
        point = None
        if near is not None:
            check_point(near.latitude, near.longitude)
            point = (near.latitude, near.longitude)
        request = EligibilityRequest(None if service_ids is None else [str(s) for s in service_ids], point)

        async def fetch(acting: Acting) -> tuple[list[Eligibility], set[str]]:
            assessments, used = await resident_eligibility(
                info.context.loaders,
                personal_loaders(info.context),
                acting.resident_id,
                request,
                path_of(info),
            )
            return [Eligibility.from_assessment(a) for a in assessments], used

        result, _ = await self._read(info, Purpose.ELIGIBILITY, "eligibility", fetch, lambda r: r[1])
        return result

    @strawberry.field(description="Cases at every department, newest first; filters combine")
    async def cases(
        self,
        info: Info,
        status: Annotated[list[CaseStatus] | None, strawberry.argument(description="any of these")] = None,
        departments: Annotated[
            list[strawberry.ID] | None, strawberry.argument(description="at any of these departments")
        ] = None,
    ) -> list[Case]:
        async def fetch(acting: Acting) -> list[Case]:
            records = await resident_cases(
                personal_loaders(info.context),
                acting.resident_id,
                path_of(info),
                status,
                None if departments is None else [str(d) for d in departments],
            )
            return [Case.from_record(r) for r in records]

        return await self._read(info, Purpose.CASES, "cases", fetch, lambda cs: (c.department_id for c in cs))

    @strawberry.field(description="One case by its id; FORBIDDEN when it is not this resident's")
    async def case(self, info: Info, id: CaseIdArg) -> Case | None:
        return await self.read_case(info, str(id))

    async def read_case(self, info: Info, case_id: str) -> Case | None:
        async def fetch(acting: Acting) -> Case | None:
            record = await one_case(
                personal_loaders(info.context), acting.resident_id, case_id, path_of(info)
            )
            return None if record is None else Case.from_record(record)

        return await self._read(
            info, Purpose.CASES, "case", fetch, lambda c: () if c is None else (c.department_id,)
        )

    @strawberry.field(
        description="The resident's identity at departments that key residents by their own numbers "
        "(found from the ID number through the department's `accounts` operation)"
    )
    async def accounts(self, info: Info) -> list[DepartmentAccount]:
        async def fetch(acting: Acting) -> list[DepartmentAccount]:
            loaders = personal_loaders(info.context)
            records = await loaders.records(
                "accounts", acting.resident_id, loaders.departments_with("accounts"), path_of(info)
            )
            return [
                DepartmentAccount(department_id=strawberry.ID(r.department), number=r.key, kind=r.kind)
                for r in records
            ]

        return await self._read(
            info,
            Purpose.BILLS,  # account numbers are what bills are found by: not part of a profile
            "accounts",
            fetch,
            lambda accounts: (str(a.department_id) for a in accounts),
        )

    @strawberry.field(description="Bills of the resident's accounts, newest period first")
    async def bills(
        self,
        info: Info,
        unpaid: Annotated[
            bool | None, strawberry.argument(description="true: only unpaid; false: only paid")
        ] = None,
    ) -> list[Bill]:
        async def fetch(acting: Acting) -> list[Bill]:
            records = await resident_bills(
                personal_loaders(info.context), acting.resident_id, path_of(info), unpaid
            )
            return [Bill.from_record(r) for r in records]

        return await self._read(info, Purpose.BILLS, "bills", fetch, lambda bs: (b.department_id for b in bs))

    @strawberry.field(description="缴费记录 / The resident's bill payments, newest first (receipts)")
    async def payments(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="at most this many, 0..100")] = 20,
    ) -> list[Payment]:
        async def fetch(acting: Acting) -> list[Payment]:
            service = payments_of(info.context.services.payments)
            return [Payment.from_ledger(p) for p in await resident_payments(service, acting, first)]

        return await self._read(
            info, Purpose.PAYMENTS, "payments", fetch, lambda ps: (p.department_id for p in ps)
        )

    @strawberry.field(description="Who read this resident's data, newest first (the resident only)")
    async def access_log(
        self,
        info: Info,
        first: Annotated[int, strawberry.argument(description="at most this many, 0..100")] = 20,
        before: Annotated[strawberry.ID | None, strawberry.argument(description="an entry's id")] = None,
    ) -> list[AccessLogEntry]:
        if not 0 <= first <= MAX_LOG_PAGE:
            raise InputError("first", f"between 0 and {MAX_LOG_PAGE}")
        before_id = _entry_id(before)

        async def fetch(acting: Acting) -> list[AccessLogEntry]:
            entries = await info.context.services.access.log.read(acting.resident_digest, first, before_id)
            own = acting.actor_digest
            return [AccessLogEntry.from_logged(e, own) for e in entries]

        return await self._read(info, Purpose.ACCESS_LOG, "access_log", fetch, lambda _: ())

    @strawberry.field(
        description="Whether the whole access log verifies: every entry still there and none altered "
        "since written (each resident's entries are chained by a keyed hash); false: it was tampered with"
    )
    async def access_log_verified(self, info: Info) -> bool:
        async def fetch(acting: Acting) -> bool:
            report = await info.context.services.access.log.verify(acting.resident_digest)
            return bool(report.verified)

        return await self._read(info, Purpose.ACCESS_LOG, "access_log", fetch, lambda _: ())

    @strawberry.field(description="Assisted sessions asking for or holding consent (the resident only)")
    async def assisted_sessions(self, info: Info) -> list[AssistedSession]:
        async def fetch(acting: Acting) -> list[AssistedSession]:
            views = await info.context.services.access.sessions.for_resident(acting.principal)
            return [AssistedSession.from_view(v) for v in views]

        return await self._read(info, Purpose.ACCESS_LOG, "assisted_sessions", fetch, lambda _: ())

    @strawberry.field(description="Appointments at stations, soonest first; upcoming ones unless told")
    async def appointments(
        self,
        info: Info,
        include_past: Annotated[bool, strawberry.argument(description="also those already started")] = False,
        include_cancelled: Annotated[bool, strawberry.argument(description="also cancelled ones")] = False,
    ) -> list[Appointment]:
        async def fetch(acting: Acting) -> list[Appointment]:
            return await appointments_for(info, acting, include_past, include_cancelled)

        return await self._read(info, Purpose.APPOINTMENTS, "appointments", fetch, lambda _: ())

    @strawberry.field(
        description="活动报名 / Sign-ups for station activities, soonest first; upcoming unless told"
    )
    async def activities(
        self,
        info: Info,
        include_past: Annotated[bool, strawberry.argument(description="also those already ended")] = False,
        include_cancelled: Annotated[bool, strawberry.argument(description="also cancelled ones")] = False,
    ) -> list[ActivitySignUp]:
        async def fetch(acting: Acting) -> list[ActivitySignUp]:
            return await sign_ups_for(info, acting, include_past, include_cancelled)

        return await self._read(info, Purpose.ACTIVITIES, "activities", fetch, lambda _: ())


def _entry_id(value: strawberry.ID | None) -> int | None:
    if value is None:
        return None
    text = str(value)
    # int() also reads " 7", "+7", "0_7" and other digits than 0-9: one spelling per entry, as given out
    if not text.isascii() or not text.isdigit() or str(int(text)) != text:
        raise InputError("before", "an access log entry's id")
    return int(text)


async def _resident(info: Info, key: str | None) -> Resident:
    context = info.context
    acting = await context.services.access.policy.reach(context.principal, key)
    return Resident(id=handle_of(context, acting.resident_id), key=key)


@strawberry.type
class Query:
    @strawberry.field(description="The signed-in resident")
    async def me(self, info: Info) -> Resident:
        return await _resident(info, None)

    @strawberry.field(
        description="A resident by their opaque id: the resident themself, or station staff inside an "
        "active assisted session the resident consented to"
    )
    async def resident(
        self, info: Info, id: Annotated[strawberry.ID, strawberry.argument(description="a `Resident.id`")]
    ) -> Resident:
        return await _resident(info, str(id))

    @strawberry.field(description="One of the signed-in resident's cases by its id (`<department>:<ref>`)")
    async def case(self, info: Info, id: CaseIdArg) -> Case | None:
        resident = await _resident(info, None)
        return await resident.read_case(info, str(id))


def _staff(info: Info) -> None:
    principal = info.context.principal
    if principal is None:
        raise AccessDenied("UNAUTHENTICATED", "assisted sessions need a bearer token")
    if principal.role is not Role.STAFF:
        raise AccessDenied("FORBIDDEN", "only station staff start or end assisted sessions")


def _id_number(value: str) -> str:
    try:
        return check_resident_id(value.strip().upper())
    except ValueError:
        raise InputError("idNumber", "an 18-character resident ID number") from None  # never echo it


@strawberry.type
class Mutation:
    @strawberry.mutation(
        description="Staff ask a resident (by the ID number on their card) for consent to act for them; "
        "the resident answers with consentToAssistedSession within 10 minutes"
    )
    async def start_assisted_session(
        self,
        info: Info,
        id_number: Annotated[str, strawberry.argument(description="the 18-character ID number on the card")],
        purposes: Annotated[list[Purpose], strawberry.argument(description="what the staff member may do")],
        minutes: Annotated[int, strawberry.argument(description="how long the consent lasts, 1..240")] = 30,
    ) -> AssistedSession:
        _staff(info)
        number = _id_number(id_number)
        scope = frozenset(purposes)
        if not scope:
            raise InputError("purposes", "at least one purpose")
        if not scope <= STAFF_PURPOSES:
            raise InputError("purposes", "ACCESS_LOG is the resident's own")
        if not 1 <= minutes <= MAX_DURATION_S // 60:
            raise InputError("minutes", f"between 1 and {MAX_DURATION_S // 60}")
        access = info.context.services.access
        principal = info.context.principal
        assert principal is not None
        view = await access.sessions.start(principal, number, access.handle(number), scope, minutes * 60)
        return AssistedSession.from_view(view)

    @strawberry.mutation(description="The resident consents: the staff member may act until it expires")
    async def consent_to_assisted_session(self, info: Info, id: SessionIdArg) -> AssistedSession:
        principal = await _resident_principal(info)
        return AssistedSession.from_view(
            await info.context.services.access.sessions.consent(principal, str(id))
        )

    @strawberry.mutation(description="The resident withdraws consent (or declines); reads stop at once")
    async def revoke_assisted_session(self, info: Info, id: SessionIdArg) -> AssistedSession:
        principal = await _resident_principal(info)
        return AssistedSession.from_view(
            await info.context.services.access.sessions.revoke(principal, str(id))
        )

    @strawberry.mutation(description="The staff member ends the session")
    async def end_assisted_session(self, info: Info, id: SessionIdArg) -> AssistedSession:
        _staff(info)
        principal = info.context.principal
        assert principal is not None
        return AssistedSession.from_view(await info.context.services.access.sessions.end(principal, str(id)))


async def _resident_principal(info: Info) -> Principal:
    acting = await info.context.acting_for(None, Purpose.ACCESS_LOG)  # residents only
    return acting.principal
