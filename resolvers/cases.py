"""A resident's cases across every department that keeps cases, filtered, and one case by its id.

``Case.id`` is ``"<department>:<department's own reference>"``: the department is what the gateway
routes by, the reference is what the resident reads on the department's letters.

A case that is not the resident's and a case that does not exist get the same answer, ``FORBIDDEN``:
the gateway only ever asks a department for *this* resident's cases, so it cannot tell the two apart
— and must not, or ids could be probed to learn whose cases exist.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from access.policy import AccessDenied
from domain.records import CaseRecord, CaseStatus
from resolvers.errors import InputError
from resolvers.notices import Path
from resolvers.residents import PersonalLoaders

OPEN_STATUSES = frozenset(
    {CaseStatus.SUBMITTED, CaseStatus.ACCEPTED, CaseStatus.IN_REVIEW, CaseStatus.NEEDS_INFO}
)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
NOT_YOURS = "no case of this resident has that id"


@dataclass(frozen=True, slots=True)
class CaseId:
    department: str
    reference: str

    def __str__(self) -> str:
        return f"{self.department}:{self.reference}"


def case_id(record: CaseRecord) -> str:
    return f"{record.department}:{record.id}"


def parse_case_id(value: str) -> CaseId:
    department, sep, reference = value.partition(":")
    if not sep or not department or not reference or len(value) > 200:
        raise InputError("id", "a case id is '<department>:<reference>'")
    return CaseId(department, reference)


async def resident_cases(
    loaders: PersonalLoaders,
    resident_id: str,
    path: Path,
    statuses: Sequence[CaseStatus] | None = None,
    departments: Sequence[str] | None = None,
) -> list[CaseRecord]:
    """Newest first; departments are asked in parallel, a failing one is named in ``errors``."""
    owners = loaders.case_departments()
    asked = owners if departments is None else [d for d in owners if d in set(departments)]
    records = await loaders.cases(resident_id, asked, path)
    if statuses is not None:
        wanted = set(statuses)
        records = [r for r in records if r.status in wanted]
    return sorted(records, key=_recency, reverse=True)


def _recency(record: CaseRecord) -> tuple[datetime, str]:
    return (record.updated_at or record.submitted_at or EPOCH, case_id(record))


async def one_case(loaders: PersonalLoaders, resident_id: str, value: str, path: Path) -> CaseRecord | None:
    """The resident's case with that id; None when its department failed (the error says so)."""
    wanted = parse_case_id(value)
    if wanted.department not in loaders.case_departments():
        raise AccessDenied("FORBIDDEN", NOT_YOURS)
    records = await loaders.cases_of(resident_id, wanted.department, path)
    if records is None:
        return None
    for record in records:
        if record.id == wanted.reference:
            return record
    raise AccessDenied("FORBIDDEN", NOT_YOURS)
