"""The seeded world every mock department serves from.

One immutable `World` per seed: the district-wide service catalogue of all 19 departments (static,
hand-written from Pudong's one-stop service stations, with eligibility criteria), 1,300 stations
spread over Pudong's 36 towns and subdistricts, 3,000 residents in their households, ~2,000 cases at
the eight departments that track applications, and every household's water, power and gas accounts
with a year of bills.  Departments only *format* this data; they never invent any.

Determinism: the stations come from `random.Random(seed)` consumed exactly as in the first release
(the gateway's tests pin their contents); residents, cases and utilities each come from their own
`random.Random` seeded with a string derived from the seed (string seeds are hashed with SHA-512,
so they are stable across processes and Python versions).  Separate streams mean that a change to,
say, how bills are drawn leaves every resident and case of a seed as it was.

The pieces live in small modules — `clock` (time), `catalogue` (services and criteria), `places`
(towns and stations), `people` (residents), `cases`, `utilities` — and everything a department needs
is re-exported here, so `from mocks.world import ...` is the one import to know.
"""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Hashable, Iterable
from dataclasses import dataclass, field
from functools import lru_cache
from typing import TypeVar

from mocks.cases import (
    CASE_COUNTS,
    CASE_DEPARTMENTS,
    FINAL_STATUSES,
    FIXTURE_CASES,
    REF_FORMATS,
    Case,
    CaseEvent,
    CaseStatus,
    add_working_days,
    build_cases,
)
from mocks.catalogue import (
    CATALOGUE,
    DEPARTMENTS,
    FACT_OWNERS,
    FACTS,
    FIRST_DEPARTMENTS,
    OPS,
    Channel,
    Criterion,
    CriterionValue,
    DepartmentInfo,
    Fact,
    FactValue,
    Op,
    Service,
)
from mocks.clock import CST, NOW, REFERENCE_DAY
from mocks.people import (
    FIXTURE_RESIDENTS,
    RESIDENT_COUNT,
    EmploymentStatus,
    Gender,
    HouseholdType,
    HukouDistrict,
    IncomeBand,
    MedicalInsurance,
    Relation,
    Resident,
    age_on,
    build_residents,
    facts_of,
    id_birth_date,
    id_check_char,
    id_gender,
    is_eligible,
    is_valid_id_number,
)
from mocks.places import BBOX, OPENING_HOURS, STATION_COUNT, TOWNS, Station, Town, build_stations
from mocks.utilities import (
    AMOUNT_RANGES,
    BILL_PERIODS,
    UTILITIES,
    Bill,
    Utility,
    UtilityAccount,
    build_utilities,
)

__all__ = [
    "AMOUNT_RANGES",
    "BBOX",
    "BILL_PERIODS",
    "CASE_COUNTS",
    "CASE_DEPARTMENTS",
    "CATALOGUE",
    "CST",
    "DEFAULT_SEED",
    "DEPARTMENTS",
    "FACTS",
    "FACT_OWNERS",
    "FINAL_STATUSES",
    "FIRST_DEPARTMENTS",
    "FIXTURE_CASES",
    "FIXTURE_RESIDENTS",
    "NOW",
    "OPENING_HOURS",
    "OPS",
    "REFERENCE_DAY",
    "REF_FORMATS",
    "RESIDENT_COUNT",
    "SERVICES",
    "STATION_COUNT",
    "TOWNS",
    "UTILITIES",
    "Bill",
    "Case",
    "CaseEvent",
    "CaseStatus",
    "Channel",
    "Criterion",
    "CriterionValue",
    "DepartmentInfo",
    "EmploymentStatus",
    "Fact",
    "FactValue",
    "Gender",
    "HouseholdType",
    "HukouDistrict",
    "IncomeBand",
    "MedicalInsurance",
    "Op",
    "Relation",
    "Resident",
    "Service",
    "Station",
    "Town",
    "Utility",
    "UtilityAccount",
    "World",
    "add_working_days",
    "age_on",
    "build_world",
    "facts_of",
    "id_birth_date",
    "id_check_char",
    "id_gender",
    "is_eligible",
    "is_valid_id_number",
]

DEFAULT_SEED = 20181125

#: The 27 services of the five departments served since the first release.  `World.services` stays
#: exactly this until the other 14 departments are served and the gateway's tests know them; the
#: whole catalogue is `World.catalogue`.  Stations offer only these, for the same reason.
SERVICES: tuple[Service, ...] = tuple(s for s in CATALOGUE if s.department in FIRST_DEPARTMENTS)

K = TypeVar("K", bound=Hashable)
V = TypeVar("V")


def _group(items: Iterable[V], key: Callable[[V], K]) -> dict[K, tuple[V, ...]]:
    """Items grouped by `key`, each group in the items' order."""
    groups: defaultdict[K, list[V]] = defaultdict(list)
    for item in items:
        groups[key(item)].append(item)
    return {k: tuple(v) for k, v in groups.items()}


class _Index:
    """The lookups department handlers need, built once per world so each answer is a dict get."""

    def __init__(self, world: World) -> None:
        self.services = {s.code: s for s in world.catalogue}
        self.services_by_department = _group(world.catalogue, lambda s: s.department)
        self.residents = {r.id_number: r for r in world.residents}
        self.residents_by_si = {r.social_insurance_no: r for r in world.residents}
        self.households = _group(world.residents, lambda r: r.household_id)
        self.cases = {c.ref: c for c in world.cases}
        self.cases_by_department = _group(world.cases, lambda c: c.department)
        self.cases_by_resident = _group(world.cases, lambda c: c.resident)
        self.accounts = {a.account_no: a for a in world.accounts}
        self.accounts_by_household = _group(world.accounts, lambda a: a.household_id)
        self.bills = {b.id: b for b in world.bills}
        self.bills_by_account = _group(world.bills, lambda b: b.account_no)


@dataclass(frozen=True)
class World:
    """Everything the mocks serve for one seed.  Treat it as read-only: it is shared (cached)."""

    seed: int
    #: Every department's services (the same as `catalogue`, kept for older callers).
    services: tuple[Service, ...]
    stations: tuple[Station, ...]
    #: Every service of all 19 departments, in code order within each department.
    catalogue: tuple[Service, ...]
    #: Fixtures first (`FIXTURE_RESIDENTS`), then household by household, head first.
    residents: tuple[Resident, ...]
    #: Department by department (`CASE_DEPARTMENTS` order), each in submission (= ref) order.
    cases: tuple[Case, ...]
    #: Household by household, water / power / gas.
    accounts: tuple[UtilityAccount, ...]
    #: Account by account, oldest period first.
    bills: tuple[Bill, ...]
    _index: _Index = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_index", _Index(self))

    def services_of(self, department: str) -> tuple[Service, ...]:
        """The catalogue of one department (any of the 19), in code order."""
        return self._index.services_by_department.get(department, ())

    def service(self, code: str) -> Service | None:
        """A service of the whole catalogue by its code."""
        return self._index.services.get(code)

    def resident(self, id_number: str) -> Resident | None:
        """A resident by 18-digit ID number (the check character `X` is upper case)."""
        return self._index.residents.get(id_number)

    def resident_by_social_insurance_no(self, social_insurance_no: str) -> Resident | None:
        """A resident by the number hrss and medical-insurance key their records by."""
        return self._index.residents_by_si.get(social_insurance_no)

    def household(self, household_id: str) -> tuple[Resident, ...]:
        """The members of a household, head first; empty for an unknown number."""
        return self._index.households.get(household_id, ())

    def case(self, ref: str) -> Case | None:
        """A case by its department reference."""
        return self._index.cases.get(ref)

    def cases_of(self, department: str) -> tuple[Case, ...]:
        """One department's cases in submission order; empty for departments without cases."""
        return self._index.cases_by_department.get(department, ())

    def cases_of_resident(self, id_number: str) -> tuple[Case, ...]:
        """A resident's cases at every department."""
        return self._index.cases_by_resident.get(id_number, ())

    def account(self, account_no: str) -> UtilityAccount | None:
        """A utility account by number."""
        return self._index.accounts.get(account_no)

    def accounts_of(self, household_id: str) -> tuple[UtilityAccount, ...]:
        """A household's utility accounts (water, power, gas — those it has)."""
        return self._index.accounts_by_household.get(household_id, ())

    def bill(self, bill_id: str) -> Bill | None:
        """A bill by id (`<account_no>-<yyyyMM>`)."""
        return self._index.bills.get(bill_id)

    def bills_of(self, account_no: str) -> tuple[Bill, ...]:
        """An account's twelve bills, oldest first."""
        return self._index.bills_by_account.get(account_no, ())


def _stream(seed: int, part: str) -> random.Random:
    """An independent random stream for one part of the world."""
    return random.Random(f"onestop/{seed}/{part}")


@lru_cache(maxsize=8)
def build_world(seed: int = DEFAULT_SEED) -> World:
    """Build the world for `seed`.  Pure, and cached: the same seed gives the same (equal) world."""
    stations = build_stations(random.Random(seed), [s.code for s in CATALOGUE])
    residents = build_residents(_stream(seed, "residents"))
    cases = build_cases(_stream(seed, "cases"), residents, CATALOGUE)
    accounts, bills = build_utilities(_stream(seed, "utilities"), residents)
    return World(
        seed=seed,
        services=CATALOGUE,
        stations=stations,
        catalogue=CATALOGUE,
        residents=residents,
        cases=cases,
        accounts=accounts,
        bills=bills,
    )
