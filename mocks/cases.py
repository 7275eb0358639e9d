"""Residents' cases (办件) at the eight departments that track applications.

About 2,000 cases, each with a full history in canonical statuses; the department mocks translate
those into their own vocabularies (`"03"`, `REVIEWING`, `审核中`, `30`, ...), so the gateway's status mapping
can be tested against a known truth.  Applicants are residents who meet the service's criteria
(checked on the reference day), so a case never contradicts the eligibility the gateway computes —
except for the fixture cases that were rejected precisely because the applicant was not eligible.
Every status occurs in every department, open cases are recent, and nothing happens after `NOW`.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum
from itertools import pairwise

from mocks.catalogue import Fact, FactValue, Service
from mocks.clock import NOW, REFERENCE_DAY, at_cst
from mocks.people import FIXTURE_RESIDENTS, Resident, facts_of


class CaseStatus(StrEnum):
    """The canonical case statuses every department's own vocabulary maps onto."""

    SUBMITTED = "SUBMITTED"
    ACCEPTED = "ACCEPTED"
    IN_REVIEW = "IN_REVIEW"
    NEEDS_INFO = "NEEDS_INFO"
    APPROVED = "APPROVED"
    REJECTED = "REJECTED"
    COMPLETED = "COMPLETED"
    WITHDRAWN = "WITHDRAWN"


#: Statuses after which nothing more happens: no next action, no expected completion.
FINAL_STATUSES = frozenset({CaseStatus.REJECTED, CaseStatus.COMPLETED, CaseStatus.WITHDRAWN})


@dataclass(frozen=True, slots=True)
class CaseEvent:
    """One step of a case: when (Shanghai time), the status it reached, and the clerk's note."""

    at: datetime
    status: CaseStatus
    note_zh: str


@dataclass(frozen=True, slots=True)
class Case:
    """One application as its department tracks it.  `resident` is the applicant's ID number;
    `history` is in time order and ends at `status`; `next_action` says what happens next (what the
    resident must do, for NEEDS_INFO) and is `None` once the case is final."""

    ref: str
    department: str
    service: str
    resident: str
    status: CaseStatus
    history: tuple[CaseEvent, ...]
    submitted_at: datetime
    updated_at: datetime
    next_action: str | None
    expected_completion: date | None


#: (department, number of cases): the case-owning departments, busiest first in real life.
CASE_COUNTS: tuple[tuple[str, int], ...] = (
    ("civil-affairs", 320),
    ("hrss", 380),
    ("health", 260),
    ("medical-insurance", 300),
    ("education", 220),
    ("housing", 160),
    ("planning-land", 140),
    ("market-regulation", 220),
)
CASE_DEPARTMENTS: tuple[str, ...] = tuple(d for d, _ in CASE_COUNTS)

#: Each department numbers its cases its own way (`str.format` with `at` the submission time and
#: `n` the department's running number of that year).
REF_FORMATS: dict[str, str] = {
    "civil-affairs": "MZ{at:%Y%m%d}{n:05d}",
    "hrss": "RS-{at:%Y%m%d}-{n:06d}",
    "health": "WJ{at:%y%m%d}-{n:05d}",
    "medical-insurance": "YB-{at:%Y}-{n:06d}",
    "education": "JY{at:%Y}{n:06d}",
    "housing": "ZJ{at:%Y}-{n:05d}",
    "planning-land": "GH/{at:%Y}/{n:05d}",
    "market-regulation": "SC310115-{at:%Y}-{n:05d}",
}

_S, _A, _R, _N = CaseStatus.SUBMITTED, CaseStatus.ACCEPTED, CaseStatus.IN_REVIEW, CaseStatus.NEEDS_INFO
_AP, _RJ, _C, _W = CaseStatus.APPROVED, CaseStatus.REJECTED, CaseStatus.COMPLETED, CaseStatus.WITHDRAWN

#: How often each status is a case's current one (most cases are done).
_STATUS_WEIGHTS: tuple[tuple[CaseStatus, int], ...] = (
    (_S, 7),
    (_A, 9),
    (_R, 14),
    (_N, 8),
    (_AP, 10),
    (_RJ, 7),
    (_C, 40),
    (_W, 5),
)

#: The ways a case reaches each status, with weights: a detour through NEEDS_INFO, or rejection
#: at the window (不予受理) rather than after review.
_PATHS: dict[CaseStatus, tuple[tuple[tuple[CaseStatus, ...], int], ...]] = {
    _S: (((_S,), 1),),
    _A: (((_S, _A), 1),),
    _R: (((_S, _A, _R), 3), ((_S, _A, _R, _N, _R), 1)),
    _N: (((_S, _A, _R, _N), 3), ((_S, _A, _N), 1)),
    _AP: (((_S, _A, _R, _AP), 3), ((_S, _A, _R, _N, _R, _AP), 1)),
    _RJ: (((_S, _A, _R, _RJ), 3), ((_S, _RJ), 1)),
    _C: (((_S, _A, _R, _AP, _C), 4), ((_S, _A, _R, _N, _R, _AP, _C), 1)),
    _W: (((_S, _W), 1), ((_S, _A, _W), 1), ((_S, _A, _R, _N, _W), 1)),
}

#: (fewest, most) hours from the previous event to an event of this status.
_GAP_HOURS: dict[CaseStatus, tuple[int, int]] = {
    _A: (1, 48),
    _R: (4, 120),
    _N: (24, 240),
    _AP: (24, 480),
    _RJ: (24, 240),
    _C: (24, 168),
    _W: (24, 240),
}
_RESUBMISSION_GAP_HOURS = (24, 336)  # back IN_REVIEW once the resident sends the papers

#: How a case was submitted: (note, whether it happened at a station window, in office hours).
_SUBMISSIONS: tuple[tuple[str, bool], ...] = (
    ("居民在服务站窗口提交申请", True),
    ("服务站工作人员代为提交申请", True),
    ("通过“浦东易生活”APP提交申请", False),
    ("通过微信提交申请", False),
)
_NOTES: dict[CaseStatus, tuple[str, ...]] = {
    _A: ("材料齐全，予以受理", "窗口受理，已转业务科室"),
    _R: ("业务科室审核中", "已转街镇复核"),
    _AP: ("审核通过", "审批通过，待发放结果"),
    _RJ: ("经审核不符合申请条件，不予批准",),
    _C: ("已办结，结果已送达", "已办结，证件已邮寄", "已办结，待遇按月发放"),
    _W: ("申请人主动撤回申请",),
}
_REJECTED_AT_WINDOW = "不符合受理条件，不予受理"
_REVIEW_RESUMED = "补充材料已收到，继续审核"
_NEEDS_INFO_PREFIX = "材料不全，需补充提交："

#: Offices work Monday to Friday, 08:30-17:30; residents use the app from 07:00 to midnight.
_OFFICE_HOURS = (8 * 60 + 30, 17 * 60 + 30)
_ONLINE_HOURS = (7 * 60, 24 * 60)

_NEXT_ACTIONS: dict[CaseStatus, str] = {
    _S: "等待窗口受理（通常1个工作日内）",
    _A: "已受理，等待业务科室审核",
    _R: "审核中，请留意短信通知",
    _AP: "审批通过，请携带居民身份证到服务站领取办理结果",
}

#: Hand-picked cases of the fixture residents, so testers find a known case behind each profile:
#: (fixture name, service code, status).  Two were rejected because the applicant is ineligible.
FIXTURE_CASES: tuple[tuple[str, str, CaseStatus], ...] = (
    ("senior_pudong", "MZ-003", _R),
    ("rural_head", "GH-001", _N),
    ("unemployed", "RS-001", _AP),
    ("child", "JY-001", _C),
    ("minimum_allowance", "MZ-001", _C),
    ("disabled_adult", "YB-002", _S),
    ("veteran", "SC-001", _A),
    ("rural_spouse", "WJ-001", _W),
    ("non_pudong_hukou", "ZJ-001", _RJ),
    ("huangpu_senior", "MZ-003", _RJ),
)


@dataclass(frozen=True, slots=True)
class _Draft:
    """A case before its department has numbered it."""

    service: Service
    resident: str
    status: CaseStatus
    history: tuple[CaseEvent, ...]
    next_action: str | None
    expected_completion: date | None


def add_working_days(day: date, days: int) -> date:
    """`day` plus `days` working days (Monday to Friday; public holidays ignored)."""
    while days > 0:
        day += timedelta(days=1)
        if day.isoweekday() <= 5:
            days -= 1
    return day


def _gap(rng: random.Random, previous: CaseStatus, status: CaseStatus) -> timedelta:
    """The time between two events, in whole minutes."""
    low, high = _RESUBMISSION_GAP_HOURS if (previous, status) == (_N, _R) else _GAP_HOURS[status]
    return timedelta(minutes=rng.randint(low * 60, high * 60))


def _within(rng: random.Random, at: datetime, hours: tuple[int, int], weekdays_only: bool) -> datetime:
    """`at` if it falls within `hours` (minutes of the day), else some time in the next open hours."""
    opens, closes = hours
    minute = at.hour * 60 + at.minute
    day = at.date()
    working = not weekdays_only or day.isoweekday() <= 5
    if working and opens <= minute < closes:
        return at
    if not working or minute >= closes:
        day = add_working_days(day, 1) if weekdays_only else day + timedelta(days=1)
    return at_cst(day, rng.randrange(opens, closes))


def _start(rng: random.Random, span: timedelta, final: bool) -> datetime:
    """When a case whose events take about `span` was submitted: open cases within the last month
    or so, final ones within the last year."""
    latest = NOW - span - timedelta(days=2)
    earliest = latest - timedelta(days=330 if final else 30)
    minutes = int((latest - earliest).total_seconds() // 60)
    return earliest.replace(second=0, microsecond=0) + timedelta(minutes=rng.randint(0, minutes))


def _timeline(
    rng: random.Random,
    service: Service,
    path: Sequence[CaseStatus],
    gaps: Sequence[timedelta],
    start: datetime,
) -> list[CaseEvent]:
    """The events along `path` from `start`: the submission in its channel's hours, every later
    step at least its gap after the one before, moved into office hours."""
    note, at_window = rng.choice(_SUBMISSIONS)
    at = _within(rng, start, _OFFICE_HOURS if at_window else _ONLINE_HOURS, at_window)
    events = [CaseEvent(at, _S, note)]
    for (previous, status), gap in zip(pairwise(path), gaps, strict=True):
        at = _within(rng, at + gap, _OFFICE_HOURS, True)
        events.append(CaseEvent(at, status, _note(rng, service, previous, status, len(events))))
    return events


def _history(rng: random.Random, service: Service, status: CaseStatus) -> tuple[CaseEvent, ...]:
    """The events that led a case of `service` to `status`, in time order, all before `NOW`."""
    paths = _PATHS[status]
    path = rng.choices([p for p, _ in paths], [w for _, w in paths])[0]
    gaps = [_gap(rng, previous, following) for previous, following in pairwise(path)]
    start = _start(rng, sum(gaps, timedelta(0)), status in FINAL_STATUSES)
    events = _timeline(rng, service, path, gaps, start)
    while events[-1].at >= NOW:  # office hours pushed it past NOW: start earlier
        start -= events[-1].at - NOW + timedelta(days=3)
        events = _timeline(rng, service, path, gaps, start)
    return tuple(events)


def _note(rng: random.Random, service: Service, previous: CaseStatus, status: CaseStatus, step: int) -> str:
    """The clerk's note for event number `step`: NEEDS_INFO names a missing document (other than
    the ID card everybody brings), a review after it says the papers arrived."""
    if status is _N:
        missing = [d for d in service.documents if d != "居民身份证"] or list(service.documents)
        return _NEEDS_INFO_PREFIX + rng.choice(missing)
    if status is _R and previous is _N:
        return _REVIEW_RESUMED
    if status is _RJ and step == 1:
        return _REJECTED_AT_WINDOW
    return rng.choice(_NOTES[status])


def _next_action(history: tuple[CaseEvent, ...]) -> str | None:
    """What happens next; for NEEDS_INFO the resident's to-do, taken from the last note."""
    last = history[-1]
    if last.status in FINAL_STATUSES:
        return None
    if last.status is _N:
        missing = last.note_zh.removeprefix(_NEEDS_INFO_PREFIX)
        return f"请在10个工作日内补交：{missing}（可到服务站窗口或在APP上传）"
    return _NEXT_ACTIONS[last.status]


def _expected_completion(service: Service, history: tuple[CaseEvent, ...]) -> date | None:
    """The promised completion date of an open case: submission plus the processing days, put off
    a week at a time while that promise is not after the reference day."""
    if history[-1].status in FINAL_STATUSES:
        return None
    promised = add_working_days(history[0].at.date(), service.processing_days)
    while promised <= REFERENCE_DAY:
        promised = add_working_days(promised, 5)
    return promised


def _draft(rng: random.Random, service: Service, resident: str, status: CaseStatus) -> _Draft:
    history = _history(rng, service, status)
    return _Draft(
        service, resident, status, history, _next_action(history), _expected_completion(service, history)
    )


def _statuses(rng: random.Random, count: int) -> list[CaseStatus]:
    """`count` statuses: one of each first (so every department shows every status), then by weight."""
    statuses = list(CaseStatus)[:count]
    weights = [w for _, w in _STATUS_WEIGHTS]
    statuses += rng.choices([s for s, _ in _STATUS_WEIGHTS], weights, k=count - len(statuses))
    return statuses


class _Applicants:
    """Who applies: a random resident meeting the service's criteria.  Drawn by trying random
    residents (cheap: most services are open to many), falling back to a full scan for rare ones.
    Fixture residents never apply at random: they have exactly their `FIXTURE_CASES`."""

    TRIES = 200

    def __init__(self, residents: Sequence[Resident]) -> None:
        self.residents = residents
        self.facts: dict[int, dict[Fact, FactValue]] = {}
        self.scanned: dict[str, list[int]] = {}

    def _meets(self, index: int, service: Service) -> bool:
        if index not in self.facts:
            self.facts[index] = facts_of(self.residents[index])
        facts = self.facts[index]
        return all(c.holds_for(facts[c.fact]) for c in service.criteria)

    def pick(self, rng: random.Random, service: Service) -> str:
        """The ID number of an eligible resident (of anyone, should nobody be eligible)."""
        for _ in range(self.TRIES):
            index = rng.randrange(len(FIXTURE_RESIDENTS), len(self.residents))
            if self._meets(index, service):
                return self.residents[index].id_number
        if service.code not in self.scanned:
            everyone = range(len(FIXTURE_RESIDENTS), len(self.residents))
            self.scanned[service.code] = [i for i in everyone if self._meets(i, service)] or list(everyone)
        return self.residents[rng.choice(self.scanned[service.code])].id_number


def _fixture_drafts(
    rng: random.Random, department: str, residents: Sequence[Resident], services: dict[str, Service]
) -> list[_Draft]:
    drafts: list[_Draft] = []
    for name, code, status in FIXTURE_CASES:
        service = services[code]
        if service.department == department:
            drafts.append(_draft(rng, service, residents[FIXTURE_RESIDENTS[name]].id_number, status))
    return drafts


def _numbered(rng: random.Random, department: str, drafts: list[_Draft]) -> list[Case]:
    """Number a department's cases in submission order, a running number per year with the gaps
    left by the district's other applications, and return them in that order."""
    drafts = sorted(drafts, key=lambda d: (d.history[0].at, d.service.code, d.resident))
    counters: dict[int, int] = {}
    cases: list[Case] = []
    for draft in drafts:
        submitted = draft.history[0].at
        counters[submitted.year] = counters.get(submitted.year, 0) + rng.randint(1, 9)
        cases.append(
            Case(
                ref=REF_FORMATS[department].format(at=submitted, n=counters[submitted.year]),
                department=department,
                service=draft.service.code,
                resident=draft.resident,
                status=draft.status,
                history=draft.history,
                submitted_at=submitted,
                updated_at=draft.history[-1].at,
                next_action=draft.next_action,
                expected_completion=draft.expected_completion,
            )
        )
    return cases


def build_cases(
    rng: random.Random, residents: Sequence[Resident], catalogue: Sequence[Service]
) -> tuple[Case, ...]:
    """Every case-owning department's cases, department by department, each in submission order."""
    applicants = _Applicants(residents)
    by_code = {s.code: s for s in catalogue}
    cases: list[Case] = []
    for department, count in CASE_COUNTS:
        services = [s for s in catalogue if s.department == department]
        drafts = _fixture_drafts(rng, department, residents, by_code)
        for status in _statuses(rng, count - len(drafts)):
            service = rng.choice(services)
            drafts.append(_draft(rng, service, applicants.pick(rng, service), status))
        cases.extend(_numbered(rng, department, drafts))
    return tuple(cases)
