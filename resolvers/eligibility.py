"""Eligibility, explained: a service's criteria (catalogue data) checked against a resident's facts.

Pure functions, no GraphQL and no I/O: ``assess(service, readings, stations)`` gives the outcome and,
per criterion, what was checked, the value used, where it came from and why it passed or failed.

The rule that matters: a fact that could not be fetched makes its criterion ``UNKNOWN``, and the
service ``UNKNOWN`` — never ``INELIGIBLE``. A service is ``INELIGIBLE`` only when a criterion fails on a
fact a department actually reported (then no missing fact could make it eligible), ``ELIGIBLE`` when
every criterion passes. A fact the department answered for but has no record of (no disability
certificate, no contracted land) is *absent*, not unknown: it meets nothing but ``!=``, as the
departments' own rules say.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from enum import StrEnum
from typing import Any

from domain.records import Channel, Criterion, ServiceRecord, StationRecord
from resolvers.loaders import Loaders
from resolvers.notices import Path
from resolvers.residents import FactReading, PersonalLoaders
from resolvers.stations import DETOUR_FACTOR, WALK_M_PER_MIN, haversine_m


class Outcome(StrEnum):
    ELIGIBLE = "ELIGIBLE"
    INELIGIBLE = "INELIGIBLE"
    UNKNOWN = "UNKNOWN"


class Check(StrEnum):
    PASS = "PASS"  # noqa: S105 - a check result, not a password
    FAIL = "FAIL"
    UNKNOWN = "UNKNOWN"


# How a fact's values are read, so "65", 65 and 65.0 compare alike whatever the department wrote.
FACT_TYPES: dict[str, type] = {
    "age": int,
    "birth_date": date,
    "disability_level": int,
    "volunteer_hours": int,
    "land_contract_mu": float,
    "veteran": bool,
    "minimum_allowance": bool,
}
ONLINE_CHANNELS = (Channel.ONLINE, Channel.APP, Channel.WECHAT)


@dataclass(frozen=True, slots=True)
class CriterionCheck:
    criterion: Criterion
    check: Check
    value_used: str | None  # the fact's value as text; None when unknown or not on record
    department: str | None
    fetched_at: datetime | None
    reason: str


@dataclass(frozen=True, slots=True)
class NextStep:
    action: str  # APPLY_ONLINE, VISIT_STATION, NONE
    text: str
    channel: Channel | None = None
    station: StationRecord | None = None
    walk_minutes: int | None = None


@dataclass(frozen=True, slots=True)
class Assessment:
    service: ServiceRecord
    outcome: Outcome
    checks: tuple[CriterionCheck, ...]
    missing_documents: tuple[str, ...]
    next_step: NextStep


def facts_needed(services: Iterable[ServiceRecord]) -> list[str]:
    return list(dict.fromkeys(c.fact for s in services for c in s.criteria))


def assess(
    service: ServiceRecord,
    readings: Mapping[str, FactReading],
    stations: Sequence[StationRecord] = (),
    near: tuple[float, float] | None = None,
    town_hint: str | None = None,
) -> Assessment:
    checks = tuple(check_criterion(c, readings.get(c.fact)) for c in service.criteria)
    outcome = decide(checks)
    if outcome is Outcome.INELIGIBLE:
        return Assessment(
            service, outcome, checks, (), NextStep("NONE", "not eligible: see the failed criteria")
        )
    step = next_step(service, stations, near, town_hint)
    return Assessment(service, outcome, checks, service.required_documents, step)


def decide(checks: Sequence[CriterionCheck]) -> Outcome:
    if any(c.check is Check.FAIL for c in checks):
        return Outcome.INELIGIBLE
    if any(c.check is Check.UNKNOWN for c in checks):
        return Outcome.UNKNOWN
    return Outcome.ELIGIBLE


def check_criterion(criterion: Criterion, reading: FactReading | None) -> CriterionCheck:
    if reading is None or not reading.known:
        why = (
            reading.unknown
            if reading is not None and reading.unknown
            else f"{criterion.fact} was not asked for"
        )
        return CriterionCheck(criterion, Check.UNKNOWN, None, None, None, why)
    used = None if reading.value is None else show(reading.value)
    try:
        holds = holds_for(criterion, reading.value)
    except ValueError as exc:
        why = f"the criterion's value {criterion.value!r} cannot be read as {criterion.fact}: {exc}"
        return CriterionCheck(criterion, Check.UNKNOWN, used, reading.department, reading.fetched_at, why)
    shown = "not on record" if used is None else used
    expected = f"{criterion.fact} {criterion.op} {criterion.value}"
    why = f"{criterion.fact} is {shown} ({reading.department}); required {expected}"
    check = Check.PASS if holds else Check.FAIL
    return CriterionCheck(criterion, check, used, reading.department, reading.fetched_at, why)


def holds_for(criterion: Criterion, value: Any) -> bool:
    """``value op expected``; an absent value (None) meets nothing but ``!=``."""
    if value is None:
        return criterion.op == "!="
    kind = FACT_TYPES.get(criterion.fact, str)
    actual = read_value(kind, value)
    if criterion.op == "in":
        return actual in {read_value(kind, part) for part in criterion.value.split(",") if part.strip()}
    expected = read_value(kind, criterion.value)
    if criterion.op == "==":
        return bool(actual == expected)
    if criterion.op == "!=":
        return bool(actual != expected)
    if kind is str or kind is bool:
        raise ValueError(f"{criterion.op} compares numbers or dates only")
    if criterion.op == ">=":
        return bool(actual >= expected)
    if criterion.op == "<=":
        return bool(actual <= expected)
    raise ValueError(f"unknown operator {criterion.op!r}")


def read_value(kind: type, value: Any) -> Any:
    """A fact value or a criterion's text, as ``kind``."""
    if kind is bool:
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("true", "1", "yes"):
            return True
        if text in ("false", "0", "no"):
            return False
        raise ValueError(f"{value!r} is not true or false")
    if kind is int or kind is float:
        number = float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
        if not math.isfinite(number):
            raise ValueError(f"{value!r} is not a number")
        return number
    if kind is date:
        return value if isinstance(value, date) else date.fromisoformat(str(value).strip())
    return str(value).strip()


def show(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, date):
        return value.isoformat()
    return str(value)


def next_step(
    service: ServiceRecord,
    stations: Sequence[StationRecord],
    near: tuple[float, float] | None,
    town_hint: str | None,
) -> NextStep:
    """Online where the service allows it; otherwise the nearest station offering it (or one in the
    resident's town when no location was given)."""
    online = next((c for c in ONLINE_CHANNELS if c in service.channels), None)
    if online is not None:
        return NextStep("APPLY_ONLINE", f"apply through {online.value}", channel=online)
    offering = [s for s in stations if service.id in s.service_ids]
    if near is not None and offering:
        best = min(offering, key=lambda s: haversine_m(near[0], near[1], s.latitude, s.longitude))
        metres = haversine_m(near[0], near[1], best.latitude, best.longitude) * DETOUR_FACTOR
        minutes = math.ceil(metres / WALK_M_PER_MIN)
        return NextStep("VISIT_STATION", f"visit {best.name}", Channel.STATION, best, minutes)
    local = [s for s in offering if town_hint and s.town and s.town in town_hint]
    if local:
        station = min(local, key=lambda s: s.id)
        return NextStep("VISIT_STATION", f"visit {station.name}", Channel.STATION, station)
    return NextStep("VISIT_STATION", "visit any one-stop station offering it", Channel.STATION)


# -- orchestration: fetch what the assessment needs, all departments at once ---------------------------

PROFILE_FACTS = ("address",)  # read alongside the criteria facts: where the resident lives (next steps)


@dataclass(frozen=True, slots=True)
class EligibilityRequest:
    service_ids: Sequence[str] | None  # None: every service in the catalogue
    near: tuple[float, float] | None = None


async def resident_eligibility(
    loaders: Loaders, personal: PersonalLoaders, resident_id: str, request: EligibilityRequest, path: Path
) -> tuple[list[Assessment], set[str]]:
    """Assessments in catalogue order, and the departments whose facts were used.

    Each department's facts are asked once (batched), whatever the number of services. For every
    service (no ids) everything is fetched at once — catalogues, every fact-owning department, the
    stations — so the answer takes about one department's latency; for some services the catalogue
    comes first, to ask only the departments their criteria need. Service ids no catalogue lists are
    left out (a department whose catalogue failed is named in ``errors``).
    """
    if request.service_ids is None:
        owners = {d for fact in personal.owners.values() for d in fact}
        await asyncio.gather(
            loaders.service_index(path),
            personal.facts(resident_id, sorted(owners), path),
            loaders.all_stations(path),
        )
    index = await loaders.service_index(path)
    if request.service_ids is None:
        services = sorted(index.values(), key=lambda s: s.id)
    else:
        services = [index[i] for i in dict.fromkeys(request.service_ids) if i in index]
    readings = await personal.readings(resident_id, [*facts_needed(services), *PROFILE_FACTS], path)
    address = readings["address"].value if readings["address"].known else None
    stations: list[StationRecord] = []
    if any(not any(c in s.channels for c in ONLINE_CHANNELS) for s in services):
        stations = await loaders.all_stations(path)
    assessments = [assess(s, readings, stations, request.near, address) for s in services]
    used = {c.department for a in assessments for c in a.checks if c.department is not None}
    return assessments, used
