"""Canonical records: what every department's answer is turned into, whatever its wire format.

Plain frozen dataclasses (not GraphQL types, not ORM rows) so resolvers, the cache and tests share one
shape. Immutable, so a cached list can be handed to many concurrent requests without copying.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from typing import Generic, TypeVar

# Residents are known everywhere by the 18-character ID number (17 digits and a digit or X check).
RESIDENT_ID = re.compile(r"^\d{17}[\dX]$")


class Channel(StrEnum):
    """Where a resident can use a service."""

    STATION = "STATION"  # at the window of a one-stop station
    APP = "APP"
    WECHAT = "WECHAT"
    KIOSK = "KIOSK"
    ONLINE = "ONLINE"


class Category(StrEnum):
    """The district's service categories; department vocabularies are mapped onto these in specs."""

    SOCIAL_ASSISTANCE = "SOCIAL_ASSISTANCE"
    SENIOR_CARE = "SENIOR_CARE"
    MARRIAGE_FAMILY = "MARRIAGE_FAMILY"
    EMPLOYMENT = "EMPLOYMENT"
    SOCIAL_INSURANCE = "SOCIAL_INSURANCE"
    TALENT = "TALENT"
    HEALTH = "HEALTH"
    PUBLIC_HEALTH = "PUBLIC_HEALTH"
    EDUCATION = "EDUCATION"
    CULTURE = "CULTURE"
    COMMUNITY = "COMMUNITY"
    DAILY_LIFE = "DAILY_LIFE"
    VOLUNTEER = "VOLUNTEER"
    HOUSING = "HOUSING"
    LEGAL = "LEGAL"
    UTILITIES = "UTILITIES"
    SUBSIDY = "SUBSIDY"
    RURAL = "RURAL"
    BUSINESS = "BUSINESS"
    CONSUMER = "CONSUMER"
    TAX = "TAX"
    DISABILITY = "DISABILITY"
    VETERANS = "VETERANS"
    OTHER = "OTHER"


class CaseStatus(StrEnum):
    """Where a case is, whatever the department calls it."""

    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    IN_REVIEW = "IN_REVIEW"
    NEEDS_INFO = "NEEDS_INFO"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    COMPLETED = "COMPLETED"
    WITHDRAWN = "WITHDRAWN"


# The facts about a resident that eligibility criteria may name; ``age`` is derived from birth_date.
CRITERION_FACTS = frozenset(
    {
        "age",
        "birth_date",
        "hukou_district",
        "household_type",
        "income_band",
        "employment_status",
        "disability_level",
        "veteran",
        "medical_insurance",
        "volunteer_hours",
        "land_contract_mu",
        "minimum_allowance",
    }
)
CRITERION_OPS = frozenset({"==", "!=", ">=", "<=", "in"})


@dataclass(frozen=True, slots=True)
class Criterion:
    """One eligibility condition, as the department wrote it: ``fact op value``.

    ``value`` is kept as text (lists comma-joined, booleans "true"/"false") and read by the fact's type
    when evaluated, so every department's way of writing 65 or true ends up the same.
    """

    fact: str
    op: str
    value: str
    text: str


@dataclass(frozen=True, slots=True)
class ServiceRecord:
    id: str  # the district-wide catalogue code, e.g. "MZ-001"
    department: str
    name_zh: str
    name_en: str
    description: str
    category: Category
    channels: tuple[Channel, ...]
    fee_fen: int
    processing_days: int | None
    required_documents: tuple[str, ...]
    updated_at: datetime | None
    criteria: tuple[Criterion, ...] = ()


@dataclass(frozen=True, slots=True)
class OpeningPeriod:
    weekday: int  # ISO: 1 = Monday .. 7 = Sunday
    opens: int  # minutes after midnight, local time
    closes: int


@dataclass(frozen=True, slots=True)
class StationRecord:
    id: str
    department: str
    name: str
    town: str
    address: str
    latitude: float
    longitude: float
    phone: str
    opening_hours: tuple[OpeningPeriod, ...]
    service_ids: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class ResidentFacts:
    """What one department knows about one resident; a fact it does not own stays None."""

    resident_id: str
    department: str
    birth_date: date | None = None
    hukou_district: str | None = None
    household_id: str | None = None
    household_type: str | None = None  # "urban" | "rural"
    income_band: str | None = None
    employment_status: str | None = None
    disability_level: int | None = None  # 1 (most severe) .. 4; 0 = none
    veteran: bool | None = None
    medical_insurance: str | None = None  # "EMPLOYEE" | "RESIDENT" | "NONE"
    volunteer_hours: int | None = None
    land_contract_mu: float | None = None
    minimum_allowance: bool | None = None
    # as the household register knows them: shown in the resident's profile, never used as criteria
    name: str | None = None
    address: str | None = None


@dataclass(frozen=True, slots=True)
class CaseEvent:
    at: datetime
    status: CaseStatus
    department_status: str
    note: str


@dataclass(frozen=True, slots=True)
class CaseRecord:
    id: str  # the department's case reference
    department: str
    service_id: str
    resident_id: str
    status: CaseStatus
    department_status: str  # the department's own word for it
    history: tuple[CaseEvent, ...]
    submitted_at: datetime | None
    updated_at: datetime | None
    next_action: str | None
    expected_completion: datetime | None


@dataclass(frozen=True, slots=True)
class AccountRecord:
    """A department's own number for a resident (a utility account): what its other records are keyed by."""

    key: str
    department: str
    resident_id: str = ""
    kind: str | None = None  # e.g. WATER, POWER, GAS


@dataclass(frozen=True, slots=True)
class BillRecord:
    id: str  # the department's bill number
    department: str
    account: str
    utility: str
    period: str  # "2026-10"
    amount_fen: int
    due_date: date | None
    paid: bool
    paid_at: datetime | None
    resident_id: str = ""


@dataclass(frozen=True, slots=True)
class VolunteerRecord:
    """A resident on the volunteer department's register: a record at all means registered."""

    resident_id: str
    department: str
    volunteer_no: str = ""
    status: str = ""


@dataclass(frozen=True, slots=True)
class HoursReceipt:
    """The department's receipt for one report of hours served, filed under the gateway's report key."""

    report_key: str
    department: str
    hours: float
    total_hours: float | None = None
    result: str = ""  # the department's word: accepted, duplicate, ...
    resident_id: str = ""


R = TypeVar("R")


@dataclass(frozen=True, slots=True, weakref_slot=True)
class OperationResult(Generic[R]):
    """The records one operation produced, and the records it had to leave out and why.

    A department that sends one malformed row out of a thousand still serves the other 999; the
    problems travel with the records (and through the cache) so clients are told, every time.
    """

    records: tuple[R, ...]
    problems: tuple[str, ...] = field(default=())
