"""A resident's facts and cases, fetched from the departments that own them — once per request.

``PersonalLoaders`` holds one DataLoader per department for facts (batched: however many fields and
services need a department's facts, it is asked once, in one batch call where it allows batches) and
one for cases. Every department is asked in parallel. A department that fails becomes a notice and
its facts become *unknown* — never absent: an eligibility check must be able to tell the two apart.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from datetime import UTC, date, datetime
from functools import partial
from typing import Any, TypeVar
from zoneinfo import ZoneInfo

from strawberry.dataloader import DataLoader

from connectors.errors import UpstreamCode, UpstreamError
from connectors.registry import Registry
from connectors.resilience import Fetched
from domain.records import CaseRecord, OperationResult, ResidentFacts
from resolvers.notices import Notices, Path
from resolvers.settle import settle, unexpected

log = logging.getLogger(__name__)

A = TypeVar("A")
SHANGHAI = ZoneInfo("Asia/Shanghai")
FactsAnswer = Fetched[OperationResult[ResidentFacts]] | UpstreamError
CasesAnswer = Fetched[OperationResult[CaseRecord]] | UpstreamError
PersonalAnswer = Fetched[OperationResult[Any]] | UpstreamError
DERIVED = {"age": "birth_date"}  # facts computed from another fact
_RECORD_FACTS = frozenset(f.name for f in fields(ResidentFacts)) - {"resident_id", "department"}


def today() -> date:
    """The resident's calendar day: ages and deadlines are counted in Shanghai, not in UTC."""
    return datetime.now(SHANGHAI).date()


def age_on(born: date, day: date) -> int:
    return day.year - born.year - ((day.month, day.day) < (born.month, born.day))


def mask_id_number(id_number: str) -> str:
    """``310***********1234``: enough for a resident to recognise their number, not to use it."""
    return id_number[:3] + "*" * (len(id_number) - 7) + id_number[-4:]


@dataclass(frozen=True, slots=True)
class FactReading:
    """One fact about a resident, with where it came from — or why it is unknown."""

    fact: str
    value: Any  # None: the department answered and has no such thing on record
    department: str | None  # who said so
    fetched_at: datetime | None
    unknown: str | None = None  # set when the value could not be had: why

    @property
    def known(self) -> bool:
        return self.unknown is None


def fact_owners(registry: Registry) -> dict[str, list[str]]:
    """Which departments report which fact: read from their specs' facts mappings (data, not code)."""
    owners: dict[str, list[str]] = {}
    for department in registry.with_capability("facts"):
        mapping = department.spec.operations["facts"].mapping
        for fact in mapping:
            if fact in _RECORD_FACTS:
                owners.setdefault(fact, []).append(department.id)
    for derived, source in DERIVED.items():
        owners[derived] = owners.get(source, [])
    return owners


class PersonalLoaders:
    """Per request: each department's facts and cases about residents, each asked at most once."""

    def __init__(self, registry: Registry, notices: Notices) -> None:
        self.registry = registry
        self.notices = notices
        self._facts: dict[str, DataLoader[str, FactsAnswer]] = {}
        self._personal: dict[tuple[str, str], DataLoader[str, PersonalAnswer]] = {}
        self._owners: dict[str, list[str]] | None = None

    @property
    def owners(self) -> dict[str, list[str]]:
        if self._owners is None:
            self._owners = fact_owners(self.registry)
        return self._owners

    async def facts(self, resident_id: str, departments: Iterable[str], path: Path) -> dict[str, FactsAnswer]:
        """Each named department's answer about the resident, asked in parallel."""
        ids = list(dict.fromkeys(departments))
        answers = await settle(ids, (self._facts_loader(d).load(resident_id) for d in ids))
        for department, answer in zip(ids, answers, strict=True):
            self._notice(department, "facts", answer, path)
        return dict(zip(ids, answers, strict=True))

    async def readings(self, resident_id: str, names: Iterable[str], path: Path) -> dict[str, FactReading]:
        """The named facts, each from the first of its owners that answered with it."""
        wanted = list(dict.fromkeys(names))
        departments = [d for fact in wanted for d in self.owners.get(fact, [])]
        answers = await self.facts(resident_id, departments, path)
        return {fact: self._reading(fact, answers) for fact in wanted}

    async def cases(self, resident_id: str, departments: Iterable[str], path: Path) -> list[CaseRecord]:
        return await self.records("cases", resident_id, departments, path)

    async def cases_of(self, resident_id: str, department: str, path: Path) -> list[CaseRecord] | None:
        """One department's cases of the resident; None when it failed (a notice says why)."""
        [answer] = await settle([department], [self._cases_loader(department).load(resident_id)])
        self._notice(department, "cases", answer, path)
        return None if isinstance(answer, UpstreamError) else list(answer.value.records)

    async def records(
        self, capability: str, resident_id: str, departments: Iterable[str], path: Path
    ) -> list[Any]:
        """A personal operation's records from every named department, in parallel; failures as notices."""
        ids = list(dict.fromkeys(departments))
        answers = await settle(ids, (self._loader(capability, d).load(resident_id) for d in ids))
        records: list[Any] = []
        for department, answer in zip(ids, answers, strict=True):
            self._notice(department, capability, answer, path)
            if not isinstance(answer, UpstreamError):
                records.extend(answer.value.records)
        return records

    def departments_with(self, capability: str) -> list[str]:
        return [d.id for d in self.registry.with_capability(capability)]

    def case_departments(self) -> list[str]:
        return [d.id for d in self.registry.with_capability("cases")]

    # -- readings --------------------------------------------------------------------------------

    def _reading(self, fact: str, answers: dict[str, FactsAnswer]) -> FactReading:
        source = DERIVED.get(fact, fact)
        owners = self.owners.get(fact, [])
        if not owners:
            return FactReading(fact, None, None, None, f"no connected department reports {source}")
        failures: list[str] = []
        answered: FactReading | None = None
        for department in owners:
            answer = answers.get(department)
            if answer is None:
                continue
            if isinstance(answer, UpstreamError):
                failures.append(f"{department}: {answer.code.value}")
                continue
            fetched_at = datetime.fromtimestamp(time.time() - answer.age_s, UTC)
            record = answer.value.records[0] if answer.value.records else None
            value = None if record is None else getattr(record, source)
            if value is not None:
                return FactReading(fact, _derive(fact, value), department, fetched_at)
            answered = answered or FactReading(fact, None, department, fetched_at)
        if failures:
            # a department that failed might have had it: unknown, not absent
            return FactReading(
                fact, None, None, None, f"{source} could not be fetched ({'; '.join(failures)})"
            )
        assert answered is not None
        return answered

    # -- loaders ---------------------------------------------------------------------------------

    def _facts_loader(self, department: str) -> DataLoader[str, FactsAnswer]:
        loader = self._facts.get(department)
        if loader is None:
            loader = self._facts[department] = DataLoader(partial(_load_facts, self.registry, department))
        return loader

    def _cases_loader(self, department: str) -> DataLoader[str, PersonalAnswer]:
        return self._loader("cases", department)

    def _loader(self, capability: str, department: str) -> DataLoader[str, PersonalAnswer]:
        key = (capability, department)
        loader = self._personal.get(key)
        if loader is None:
            load = partial(_load_personal, self.registry, capability, department)
            loader = self._personal[key] = DataLoader(load)
        return loader

    def _notice(
        self, department: str, capability: str, answer: Fetched[Any] | UpstreamError, path: Path
    ) -> None:
        if isinstance(answer, UpstreamError):
            self.notices.failed(answer, path)
        else:
            self.notices.fetched(department, capability, answer, path)


def _derive(fact: str, value: Any) -> Any:
    if fact == "age" and isinstance(value, date):
        return age_on(value, today())
    return value


async def _load_facts(registry: Registry, department: str, resident_ids: Sequence[str]) -> list[FactsAnswer]:
    found = registry.get(department)
    if found is None:
        missing = UpstreamError(UpstreamCode.UNAVAILABLE, department, "not connected")
        return [missing for _ in resident_ids]
    try:
        answers = await found.adapter.facts(resident_ids)
    except UpstreamError as error:
        return [error for _ in resident_ids]
    except Exception as error:
        failure = unexpected(department, error)
        return [failure for _ in resident_ids]
    return [answers[r] for r in resident_ids]


async def _load_personal(
    registry: Registry, capability: str, department: str, resident_ids: Sequence[str]
) -> list[PersonalAnswer]:
    """One resident at a time (cases and bills have no batch form), all in parallel."""
    found = registry.get(department)

    async def one(resident_id: str) -> PersonalAnswer:
        if found is None:
            return UpstreamError(UpstreamCode.UNAVAILABLE, department, "not connected")
        try:
            answer: PersonalAnswer = await found.adapter.run(capability, resident_id)
        except UpstreamError as error:
            return error
        except Exception as error:
            return unexpected(department, error)
        return answer

    return list(await asyncio.gather(*(one(r) for r in resident_ids)))
