"""The residents of the seeded world: 3,000 people in households, with the facts each department owns.

Departments know residents by the 18-digit ID number (GB 11643-1999), so every number is valid —
checksum, embedded birth date, gender digit — and unique, exactly what a real household register
would hold.  People are generated household by household (a couple and their children share one
address, town, household type and hukou) so that household-level questions (minimum allowance, the
village house a rural household may build, the utility accounts of a flat) have consistent answers.

The first ten residents are hand-specified *fixtures* (`FIXTURE_RESIDENTS`) covering the profiles
testers reach for — a 70-year-old, a rural household head with land, a disabled adult, a veteran, an
unemployed adult, a resident on minimum allowance, a child, a non-Pudong hukou — so tests need not
search the population; only their names and numbers come from the seed.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import date, timedelta
from itertools import groupby
from typing import Literal, TypeVar

from mocks.catalogue import Fact, FactValue, Service
from mocks.clock import REFERENCE_DAY, add_years
from mocks.places import PLACE_FIRST, PLACE_SECOND, TOWNS, Town

RESIDENT_COUNT = 3000

T = TypeVar("T")

Gender = Literal["M", "F"]
Relation = Literal["HEAD", "SPOUSE", "CHILD", "PARENT"]
HouseholdType = Literal["urban", "rural"]
HukouDistrict = Literal["浦东新区", "黄浦区", "外省市"]
IncomeBand = Literal["LOW", "LOWER_MIDDLE", "MIDDLE", "UPPER_MIDDLE", "HIGH"]
EmploymentStatus = Literal["EMPLOYED", "UNEMPLOYED", "RETIRED", "STUDENT", "FLEXIBLE", "NONE"]
MedicalInsurance = Literal["EMPLOYEE", "RESIDENT", "NONE"]

#: GB 11643-1999 check digit: ISO 7064 MOD 11-2 over the first 17 digits.
ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK_CHARS = "10X98765432"


@dataclass(frozen=True, slots=True)
class Resident:
    """One person as the departments together know them.

    Identity and household come from the household register (public-security); each later field
    is owned by one department: `income_band` (tax, per-capita household income), `employment_status`
    (hrss), `disability_level` (disabled-persons: 1 most severe .. 4, `None` without a certificate),
    `veteran` (veterans), `medical_insurance` (medical-insurance), `volunteer_hours` (volunteer),
    `land_contract_mu` (agriculture: the contracted land of a rural household's head, `None` for
    everyone else), `minimum_allowance` (civil-affairs: the household receives 低保).  The veterans
    and disabled-persons records behind `veteran` and `disability_level` are the last four fields.
    """

    id_number: str
    name: str
    birth_date: date
    gender: Gender
    household_id: str
    relation: Relation
    household_type: HouseholdType
    hukou_district: HukouDistrict
    town: str
    address: str
    phone: str
    social_insurance_no: str
    income_band: IncomeBand
    employment_status: EmploymentStatus
    disability_level: int | None
    veteran: bool
    medical_insurance: MedicalInsurance
    volunteer_hours: int
    land_contract_mu: float | None
    minimum_allowance: bool
    #: veterans: branch of service (陆军, 海军, ...) and discharge date; `None` for non-veterans.
    veteran_branch: str | None
    discharge_date: date | None
    #: disabled-persons: the second-generation certificate number (the ID number, a category digit
    #: 1-7 and the level digit) and its issue date; `None` without a certificate.
    disability_certificate_no: str | None
    disability_certified_on: date | None


def age_on(resident: Resident, day: date) -> int:
    """Whole years of age on `day` (a birthday counts from the day itself)."""
    born = resident.birth_date
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def facts_of(resident: Resident, day: date = REFERENCE_DAY) -> dict[Fact, FactValue]:
    """The canonical facts criteria are written in, as the owning departments would report them."""
    return {
        "age": age_on(resident, day),
        "birth_date": resident.birth_date,
        "hukou_district": resident.hukou_district,
        "household_type": resident.household_type,
        "income_band": resident.income_band,
        "employment_status": resident.employment_status,
        "disability_level": resident.disability_level,
        "veteran": resident.veteran,
        "medical_insurance": resident.medical_insurance,
        "volunteer_hours": resident.volunteer_hours,
        "land_contract_mu": resident.land_contract_mu,
        "minimum_allowance": resident.minimum_allowance,
    }


def is_eligible(resident: Resident, service: Service, day: date = REFERENCE_DAY) -> bool:
    """Whether `resident` meets every criterion of `service` on `day` — the answer the gateway
    should reach when every department answers."""
    facts = facts_of(resident, day)
    return all(c.holds_for(facts[c.fact]) for c in service.criteria)


def id_check_char(first17: str) -> str:
    """The 18th character of an ID number whose first 17 digits are `first17`."""
    total = sum(int(d) * w for d, w in zip(first17, ID_WEIGHTS, strict=True))
    return ID_CHECK_CHARS[total % 11]


def is_valid_id_number(id_number: str) -> bool:
    """18 characters, 17 digits, a real birth date and the right check character."""
    if len(id_number) != 18 or not id_number[:17].isdigit():
        return False
    try:
        id_birth_date(id_number)
    except ValueError:
        return False
    return id_number[17] == id_check_char(id_number[:17])


def id_birth_date(id_number: str) -> date:
    """The birth date embedded in digits 7-14 (`yyyyMMdd`)."""
    return date(int(id_number[6:10]), int(id_number[10:12]), int(id_number[12:14]))


def id_gender(id_number: str) -> Gender:
    """The 17th digit is odd for men and even for women."""
    return "M" if int(id_number[16]) % 2 else "F"


# -- households ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Household:
    """What members of one household share."""

    household_id: str
    town: Town
    household_type: HouseholdType
    hukou_district: HukouDistrict
    income_band: IncomeBand
    minimum_allowance: bool
    address: str
    area_code: str | None  # None: each member's birth-place code is drawn from the hukou


@dataclass(frozen=True, slots=True)
class _Member:
    """Who a person is within the household, before they get a name and numbers."""

    relation: Relation
    age: int
    gender: Gender


@dataclass(frozen=True, slots=True)
class _Facts:
    """The per-person department facts (household-level ones live on `_Household`)."""

    employment_status: EmploymentStatus
    medical_insurance: MedicalInsurance
    disability_level: int | None
    veteran: bool
    volunteer_hours: int
    land_contract_mu: float | None


class _Registry:
    """Hands out unique numbers (ID, social insurance, household) and names from one rng."""

    def __init__(self, rng: random.Random) -> None:
        self.rng = rng
        self.id_numbers: set[str] = set()
        self.si_numbers: set[str] = set()
        self.household_ids: set[str] = set()

    def id_number(self, area_code: str, birth_date: date, gender: Gender) -> str:
        """A fresh valid ID number: area, birth date, two-digit station code, gender digit, check."""
        while True:
            digit = self.rng.choice("13579" if gender == "M" else "02468")
            first17 = f"{area_code}{birth_date:%Y%m%d}{self.rng.randint(0, 99):02d}{digit}"
            number = first17 + id_check_char(first17)
            if number not in self.id_numbers:
                self.id_numbers.add(number)
                return number

    def si_number(self) -> str:
        """A fresh social insurance number: "SI" and ten digits."""
        while True:
            number = f"SI{self.rng.randint(0, 9_999_999_999):010d}"
            if number not in self.si_numbers:
                self.si_numbers.add(number)
                return number

    def household_id(self) -> str:
        """A fresh household number: "HH-" and six digits."""
        while True:
            number = f"HH-{self.rng.randint(100_000, 999_999)}"
            if number not in self.household_ids:
                self.household_ids.add(number)
                return number

    def phone(self) -> str:
        """A mobile number of 11 digits: 13, 15 or 18 and nine more."""
        return f"1{self.rng.choice('358')}{self.rng.randint(0, 999_999_999):09d}"

    def given_name(self, gender: Gender) -> str:
        """One or two characters from the common given-name characters of that gender."""
        chars = _MALE_CHARS if gender == "M" else _FEMALE_CHARS
        count = 1 if self.rng.random() < 0.4 else 2
        return "".join(self.rng.choice(chars) for _ in range(count))


# Surnames repeat in proportion to how common they are in Shanghai.
_SURNAMES = "张张张王王王陈陈陈李李徐徐朱朱周周沈沈陆陆顾吴钱黄杨金孙胡姚蔡施唐汤刘赵高林何郭马罗倪龚"
_MALE_CHARS = "伟强磊军勇杰涛明超华斌浩俊峰建国志刚文辉鹏宇晨昊睿轩嘉毅"
_FEMALE_CHARS = "芳敏静丽艳娟霞燕玲婷雪琳倩颖佳慧洁萍红梅兰凤秀英欣怡"

#: Towns far from the city centre, where about half the households are still rural (村).
_OUTER_TOWNS = (
    "合庆镇",
    "惠南镇",
    "新场镇",
    "大团镇",
    "航头镇",
    "祝桥镇",
    "泥城镇",
    "宣桥镇",
    "书院镇",
    "万祥镇",
    "老港镇",
    "南汇新城镇",
)

#: (household size, weight): Shanghai's average household is about 2.6 people.
_HOUSEHOLD_SIZES = ((1, 18), (2, 32), (3, 30), (4, 12), (5, 8))

#: (lowest age, highest age, weight) of adults living alone or heading a household.
_ADULT_AGE_BANDS = ((18, 29, 14), (30, 44, 24), (45, 59, 25), (60, 74, 24), (75, 89, 10), (90, 100, 3))

_INCOME_BANDS: tuple[IncomeBand, ...] = ("LOW", "LOWER_MIDDLE", "MIDDLE", "UPPER_MIDDLE", "HIGH")
_URBAN_INCOME_WEIGHTS = (7, 19, 40, 23, 11)
_RURAL_INCOME_WEIGHTS = (14, 30, 40, 13, 3)

#: Birth-place codes of people whose hukou is outside Shanghai (Nanjing, Hefei, Hangzhou, ...).
_PROVINCIAL_AREA_CODES = ("320102", "340102", "330102", "410102", "420102", "510104", "360102", "370102")

_MEDICAL_BY_STATUS: dict[EmploymentStatus, tuple[tuple[MedicalInsurance, int], ...]] = {
    "EMPLOYED": (("EMPLOYEE", 94), ("RESIDENT", 3), ("NONE", 3)),
    "FLEXIBLE": (("EMPLOYEE", 60), ("RESIDENT", 30), ("NONE", 10)),
    "UNEMPLOYED": (("EMPLOYEE", 50), ("RESIDENT", 35), ("NONE", 15)),
    "RETIRED": (("EMPLOYEE", 85), ("RESIDENT", 15), ("NONE", 0)),
    "STUDENT": (("EMPLOYEE", 0), ("RESIDENT", 96), ("NONE", 4)),
    "NONE": (("EMPLOYEE", 0), ("RESIDENT", 85), ("NONE", 15)),
}


#: (branch, weight) of veterans' service.
_BRANCHES = (("陆军", 55), ("海军", 12), ("空军", 12), ("火箭军", 6), ("武警部队", 15))
#: (category digit, weight): 1 vision, 2 hearing, 3 speech, 4 physical, 5 intellectual, 6 mental,
#: 7 multiple — physical disability is by far the most common.
_DISABILITY_CATEGORIES = ((1, 14), (2, 16), (3, 2), (4, 45), (5, 8), (6, 9), (7, 6))


def _rural_share(town: Town) -> float:
    """How likely a household of `town` is rural: never in a subdistrict, often in outer towns."""
    if town.is_subdistrict:
        return 0.0
    return 0.5 if town.name_zh in _OUTER_TOWNS else 0.2


def _weighted(rng: random.Random, table: tuple[tuple[T, int], ...]) -> T:
    """One value of a `(value, weight)` table."""
    return rng.choices([v for v, _ in table], [w for _, w in table])[0]


def _age_between(rng: random.Random, low: int, high: int) -> int:
    """An adult age in [low, high] (within 18..100), following the age bands where they overlap."""
    spans: list[tuple[int, int]] = []
    weights: list[float] = []
    for first, last, weight in _ADULT_AGE_BANDS:
        start, end = max(first, low), min(last, high)
        if start <= end:
            spans.append((start, end))
            weights.append(weight * (end - start + 1) / (last - first + 1))
    start, end = rng.choices(spans, weights)[0]
    return rng.randint(start, end)


def _child_age(rng: random.Random, parent_age: int) -> int:
    """A child born when the parent was 22-38 (or as late as the parent's age allows)."""
    latest = min(38, parent_age)
    return parent_age - rng.randint(min(22, latest), latest)


def _parent_age(rng: random.Random, child_age: int) -> int:
    """A parent 22-34 years older than the child, at most 100."""
    return min(100, child_age + rng.randint(22, 34))


def _other(gender: Gender) -> Gender:
    return "F" if gender == "M" else "M"


def _gender(rng: random.Random) -> Gender:
    return "M" if rng.random() < 0.5 else "F"


def _couple(rng: random.Random, low: int, high: int) -> list[_Member]:
    """A household head aged in [low, high] and a spouse of the other gender within a few years."""
    head = _Member("HEAD", _age_between(rng, low, high), _gender(rng))
    spouse_age = min(100, max(20, head.age + rng.randint(-4, 4)))
    return [head, _Member("SPOUSE", spouse_age, _other(head.gender))]


def _members(rng: random.Random) -> list[_Member]:
    """The people of one household, head first: singles, couples, parents with children, and
    three generations, in proportions that give Shanghai's ageing pyramid."""
    size = _weighted(rng, _HOUSEHOLD_SIZES)
    if size == 1:
        return [_Member("HEAD", _age_between(rng, 18, 100), _gender(rng))]
    if size == 2 and rng.random() < 0.75:
        return _couple(rng, 22, 100)
    if size == 2:
        head = _Member("HEAD", _age_between(rng, 40, 95), _gender(rng))
        return [head, _Member("CHILD", _child_age(rng, head.age), _gender(rng))]
    if size == 3 or (size == 4 and rng.random() < 0.6):
        members = _couple(rng, 24, 62)
        oldest_child = _child_age(rng, members[0].age)
        members.append(_Member("CHILD", oldest_child, _gender(rng)))
        if size == 4:
            members.append(_Member("CHILD", rng.randint(0, oldest_child), _gender(rng)))
        return members
    members = _couple(rng, 28, 60)
    members.append(_Member("CHILD", _child_age(rng, members[0].age), _gender(rng)))
    father = _parent_age(rng, members[0].age)
    members.append(_Member("PARENT", father, "M"))
    if size == 5:
        members.append(_Member("PARENT", min(100, father + rng.randint(-5, 2)), "F"))
    return members


def _address(rng: random.Random, town: Town, household_type: HouseholdType) -> str:
    """A flat in a 弄 off one of the town's roads, or a house in a village group (村民小组)."""
    if household_type == "rural":
        village = rng.choice(PLACE_FIRST) + rng.choice(PLACE_SECOND)
        return f"上海市浦东新区{town.name_zh}{village}村{rng.randint(1, 15)}组{rng.randint(1, 299)}号"
    road = rng.choice(town.roads)
    room = rng.randint(1, 18) * 100 + rng.randint(1, 6)
    return f"上海市浦东新区{road}{rng.randint(1, 2999)}弄{rng.randint(1, 80)}号{room}室"


def _household(rng: random.Random, registry: _Registry) -> _Household:
    """A household somewhere in Pudong: towns weighted by population, rural more likely far out."""
    town = rng.choices(TOWNS, [t.weight for t in TOWNS])[0]
    household_type: HouseholdType = "rural" if rng.random() < _rural_share(town) else "urban"
    hukou: HukouDistrict = "浦东新区"
    if household_type == "urban":
        hukou = _weighted(rng, (("浦东新区", 82), ("黄浦区", 5), ("外省市", 13)))
    weights = _RURAL_INCOME_WEIGHTS if household_type == "rural" else _URBAN_INCOME_WEIGHTS
    income = rng.choices(_INCOME_BANDS, weights)[0]
    allowance = income == "LOW" and hukou != "外省市" and rng.random() < 0.45
    return _Household(
        household_id=registry.household_id(),
        town=town,
        household_type=household_type,
        hukou_district=hukou,
        income_band=income,
        minimum_allowance=allowance,
        address=_address(rng, town, household_type),
        area_code=None,
    )


def _area_code(rng: random.Random, hukou: HukouDistrict) -> str:
    """Where a person's ID number was first issued: mostly Pudong for Pudong hukou."""
    if hukou == "外省市":
        return rng.choice(_PROVINCIAL_AREA_CODES)
    if hukou == "黄浦区":
        return "310101"
    return _weighted(rng, (("310115", 94), ("310101", 3), ("310104", 3)))


def _employment(rng: random.Random, member: _Member, household_type: HouseholdType) -> EmploymentStatus:
    """Employment consistent with age: pupils, students, workers, and retirement at 60 (men) / 55
    (women); rural households work flexibly more often."""
    age, retirement = member.age, 60 if member.gender == "M" else 55
    table: tuple[tuple[EmploymentStatus, int], ...]
    if age < 6:
        return "NONE"
    if age < 16:
        return "STUDENT"
    if age < 19:
        table = (("STUDENT", 85), ("EMPLOYED", 8), ("UNEMPLOYED", 4), ("NONE", 3))
    elif age < 23:
        table = (("STUDENT", 55), ("EMPLOYED", 30), ("FLEXIBLE", 5), ("UNEMPLOYED", 6), ("NONE", 4))
    elif age < retirement and household_type == "rural":
        table = (("EMPLOYED", 52), ("FLEXIBLE", 26), ("UNEMPLOYED", 8), ("NONE", 14))
    elif age < retirement:
        table = (("EMPLOYED", 74), ("FLEXIBLE", 10), ("UNEMPLOYED", 6), ("NONE", 10))
    else:
        table = (
            ("RETIRED", 80 if household_type == "rural" else 90),
            ("NONE", 20 if household_type == "rural" else 10),
        )
    return _weighted(rng, table)


def _disability_level(rng: random.Random, age: int) -> int | None:
    """About 5% hold a disability certificate, more of the old, none under three (assessment
    waits until then); level 1 is the most severe."""
    chance = 0.0 if age < 3 else 0.015 if age < 18 else 0.04 if age < 60 else 0.09
    if rng.random() >= chance:
        return None
    return _weighted(rng, ((1, 12), (2, 20), (3, 30), (4, 38)))


def _is_veteran(rng: random.Random, member: _Member) -> bool:
    """About 2% of residents: adults who served (nearly all men), never anyone under 20."""
    if member.age < 20:
        return False
    return rng.random() < (0.045 if member.gender == "M" else 0.003)


def _volunteer_hours(rng: random.Random, age: int) -> int:
    """Most people log none; the active few (retirees especially) log tens to hundreds of hours."""
    chance = 0.0 if age < 14 else 0.35 if age >= 60 else 0.18
    if rng.random() >= chance:
        return 0
    return min(800, 1 + int(rng.expovariate(1 / 40)))


def _facts(rng: random.Random, household: _Household, member: _Member) -> _Facts:
    """The department facts of one randomly generated person."""
    status = _employment(rng, member, household.household_type)
    land = None
    if household.household_type == "rural" and member.relation == "HEAD":
        land = round(rng.uniform(1.0, 12.0), 1)
    return _Facts(
        employment_status=status,
        medical_insurance=_weighted(rng, _MEDICAL_BY_STATUS[status]),
        disability_level=_disability_level(rng, member.age),
        veteran=_is_veteran(rng, member),
        volunteer_hours=_volunteer_hours(rng, member.age),
        land_contract_mu=land,
    )


def _day_between(rng: random.Random, first: date, last: date) -> date:
    return date.fromordinal(rng.randint(first.toordinal(), last.toordinal()))


def _service_record(rng: random.Random, born: date) -> tuple[str, date]:
    """A veteran's branch and discharge date: two to sixteen years of service from 18, and
    discharged at least a month before the reference day."""
    branch = _weighted(rng, _BRANCHES)
    discharged = add_years(born, 18 + rng.randint(2, 16))
    latest = REFERENCE_DAY - timedelta(days=30)
    return branch, min(_day_between(rng, discharged, discharged + timedelta(days=200)), latest)


def _certificate(rng: random.Random, id_number: str, level: int, born: date) -> tuple[str, date]:
    """A second-generation disability certificate (issued since 2008): number and issue date."""
    category = _weighted(rng, _DISABILITY_CATEGORIES)
    first = max(date(2008, 7, 1), born + timedelta(days=365))
    return f"{id_number}{category}{level}", _day_between(rng, first, REFERENCE_DAY - timedelta(days=7))


def _birth_date(rng: random.Random, age: int) -> date:
    """A birth date that makes the person exactly `age` on the reference day."""
    latest = add_years(REFERENCE_DAY, -age)
    earliest = add_years(REFERENCE_DAY, -age - 1) + timedelta(days=1)
    return date.fromordinal(rng.randint(earliest.toordinal(), latest.toordinal()))


def _resident(
    registry: _Registry,
    household: _Household,
    member: _Member,
    facts: _Facts,
    surname: str,
    guardian_phone: str,
) -> Resident:
    """Put one person together: identity from the registry, the rest from household and facts.
    Children under 12 have no phone of their own and are reached through the household head's."""
    rng = registry.rng
    born = _birth_date(rng, member.age)
    area = household.area_code or _area_code(rng, household.hukou_district)
    if member.relation == "SPOUSE" or (member.relation == "PARENT" and member.gender == "F"):
        surname = rng.choice(_SURNAMES)  # Chinese women keep their own surname
    id_number = registry.id_number(area, born, member.gender)
    branch, discharged = _service_record(rng, born) if facts.veteran else (None, None)
    certificate, certified = None, None
    if facts.disability_level is not None:
        certificate, certified = _certificate(rng, id_number, facts.disability_level, born)
    return Resident(
        id_number=id_number,
        name=surname + registry.given_name(member.gender),
        birth_date=born,
        gender=member.gender,
        household_id=household.household_id,
        relation=member.relation,
        household_type=household.household_type,
        hukou_district=household.hukou_district,
        town=household.town.name_zh,
        address=household.address,
        phone=guardian_phone if member.age < 12 else registry.phone(),
        social_insurance_no=registry.si_number(),
        income_band=household.income_band,
        employment_status=facts.employment_status,
        disability_level=facts.disability_level,
        veteran=facts.veteran,
        medical_insurance=facts.medical_insurance,
        volunteer_hours=facts.volunteer_hours,
        land_contract_mu=facts.land_contract_mu,
        minimum_allowance=household.minimum_allowance,
        veteran_branch=branch,
        discharge_date=discharged,
        disability_certificate_no=certificate,
        disability_certified_on=certified,
    )


def _people_of(
    registry: _Registry, household: _Household, people: list[tuple[_Member, _Facts]]
) -> Iterator[Resident]:
    """The residents of one household, head first; members share the head's surname by default."""
    surname = registry.rng.choice(_SURNAMES)
    guardian_phone = ""
    for member, facts in people:
        resident = _resident(registry, household, member, facts, surname, guardian_phone)
        if member.relation == "HEAD":
            guardian_phone = resident.phone
        yield resident


# -- fixtures ------------------------------------------------------------------------------------


def _fixture_household(
    town: str,
    household_type: HouseholdType,
    hukou: HukouDistrict,
    income: IncomeBand,
    area_code: str,
    minimum_allowance: bool = False,
) -> _Household:
    """A fixture household; its number and address are filled in from the seed when built."""
    found = next(t for t in TOWNS if t.name_zh == town)
    return _Household("", found, household_type, hukou, income, minimum_allowance, "", area_code)


def _fixture_facts(
    status: EmploymentStatus,
    medical: MedicalInsurance,
    *,
    disability_level: int | None = None,
    veteran: bool = False,
    volunteer_hours: int = 0,
    land_contract_mu: float | None = None,
) -> _Facts:
    return _Facts(status, medical, disability_level, veteran, volunteer_hours, land_contract_mu)


_SENIOR = _fixture_household("陆家嘴街道", "urban", "浦东新区", "MIDDLE", "310115")
_FARM = _fixture_household("川沙新镇", "rural", "浦东新区", "LOWER_MIDDLE", "310115")
_DISABLED = _fixture_household("花木街道", "urban", "浦东新区", "LOWER_MIDDLE", "310115")
_VETERAN = _fixture_household("洋泾街道", "urban", "浦东新区", "MIDDLE", "310115")
_FAMILY = _fixture_household("潍坊新村街道", "urban", "浦东新区", "MIDDLE", "310115")
_ALLOWANCE = _fixture_household("周家渡街道", "urban", "浦东新区", "LOW", "310115", minimum_allowance=True)
_MIGRANT = _fixture_household("张江镇", "urban", "外省市", "UPPER_MIDDLE", "340102")
_HUANGPU = _fixture_household("塘桥街道", "urban", "黄浦区", "MIDDLE", "310101")

#: The fixture residents, in tuple order: (short name, household, member, facts).  Members of one
#: household follow each other, head first.  Every fixture differs from an ordinary resident only in
#: the fact its name announces, so it is eligible for exactly the services that fact opens.
_FIXTURES: tuple[tuple[str, _Household, _Member, _Facts], ...] = (
    (
        "senior_pudong",
        _SENIOR,
        _Member("HEAD", 70, "F"),
        _fixture_facts("RETIRED", "EMPLOYEE", volunteer_hours=120),
    ),
    (
        "rural_head",
        _FARM,
        _Member("HEAD", 55, "M"),
        _fixture_facts("FLEXIBLE", "RESIDENT", land_contract_mu=6.5),
    ),
    ("rural_spouse", _FARM, _Member("SPOUSE", 53, "F"), _fixture_facts("EMPLOYED", "EMPLOYEE")),
    (
        "disabled_adult",
        _DISABLED,
        _Member("HEAD", 42, "M"),
        _fixture_facts("NONE", "RESIDENT", disability_level=2),
    ),
    ("veteran", _VETERAN, _Member("HEAD", 46, "M"), _fixture_facts("EMPLOYED", "EMPLOYEE", veteran=True)),
    ("unemployed", _FAMILY, _Member("HEAD", 36, "F"), _fixture_facts("UNEMPLOYED", "EMPLOYEE")),
    ("child", _FAMILY, _Member("CHILD", 8, "M"), _fixture_facts("STUDENT", "RESIDENT")),
    ("minimum_allowance", _ALLOWANCE, _Member("HEAD", 58, "M"), _fixture_facts("NONE", "RESIDENT")),
    ("non_pudong_hukou", _MIGRANT, _Member("HEAD", 31, "F"), _fixture_facts("EMPLOYED", "EMPLOYEE")),
    ("huangpu_senior", _HUANGPU, _Member("HEAD", 68, "M"), _fixture_facts("RETIRED", "EMPLOYEE")),
)

#: Short name -> index in `World.residents` of the hand-specified residents testers start from:
#: senior_pudong (70, urban, Pudong hukou: 老年综合津贴), rural_head (55, rural household head with
#: 6.5 mu of contracted land, flexibly employed: 村民建房, 就业参保), rural_spouse (his wife),
#: disabled_adult (42, disability level 2, lower-middle income), veteran (46), unemployed (36, the
#: child's mother), child (8, pupil), minimum_allowance (58, low income, household on 低保),
#: non_pudong_hukou (31, hukou outside Shanghai, ID issued in Hefei), huangpu_senior (68, Huangpu
#: hukou living in Pudong: old enough, wrong district).
FIXTURE_RESIDENTS: dict[str, int] = {name: index for index, (name, *_) in enumerate(_FIXTURES)}


def _fixture_residents(rng: random.Random, registry: _Registry) -> list[Resident]:
    """The fixtures, each household given its number and address from the seed."""
    residents: list[Resident] = []
    for template, group in groupby(_FIXTURES, key=lambda fixture: fixture[1]):
        address = _address(rng, template.town, template.household_type)
        household = replace(template, household_id=registry.household_id(), address=address)
        residents.extend(_people_of(registry, household, [(m, f) for _, _, m, f in group]))
    return residents


def build_residents(rng: random.Random) -> tuple[Resident, ...]:
    """`RESIDENT_COUNT` residents: the fixtures first, then random households until the count is
    reached (the last household is cut short if needed — its head always comes first)."""
    registry = _Registry(rng)
    residents = _fixture_residents(rng, registry)
    while len(residents) < RESIDENT_COUNT:
        household = _household(rng, registry)
        members = _members(rng)[: RESIDENT_COUNT - len(residents)]
        people = [(m, _facts(rng, household, m)) for m in members]
        residents.extend(_people_of(registry, household, people))
    return tuple(residents)
