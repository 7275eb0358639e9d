"""Canonical records: what every department's answer is turned into, whatever its wire format.

Plain frozen dataclasses (not GraphQL types, not ORM rows) so resolvers, the cache and tests share one
shape. Immutable, so a cached list can be handed to many concurrent requests without copying.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Generic, TypeVar


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


R = TypeVar("R")


@dataclass(frozen=True, slots=True, weakref_slot=True)
class OperationResult(Generic[R]):
    """The records one operation produced, and the records it had to leave out and why.

    A department that sends one malformed row out of a thousand still serves the other 999; the
    problems travel with the records (and through the cache) so clients are told, every time.
    """

    records: tuple[R, ...]
    problems: tuple[str, ...] = field(default=())
