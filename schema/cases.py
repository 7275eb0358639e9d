"""Cases: a resident's applications as each department tracks them, in one vocabulary.

Only the types: cases are reached through a ``Resident`` (``me { cases }``, ``resident(id) { case(id) }``)
or the top-level ``case(id)``, so the access policy and the access log always stand in front of them
(schema/residents.py).
"""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.records import CaseRecord, CaseStatus
from resolvers.cases import case_id
from schema.context import Info, path_of
from schema.departments import Department, department_by_id
from schema.described import described_enum
from schema.services import Service

described_enum(
    CaseStatus,
    "办件状态 / Case status: where a case is, whatever the department calls it.",
    {
        "SUBMITTED": "已提交 / Submitted, not yet taken up",
        "ACCEPTED": "已受理 / Accepted by the department",
        "IN_REVIEW": "审核中 / Being reviewed",
        "NEEDS_INFO": "待补正 / The department needs more from the resident",
        "APPROVED": "已批准 / Approved",
        "REJECTED": "未通过 / Rejected",
        "COMPLETED": "已办结 / Completed",
        "WITHDRAWN": "已撤回 / Withdrawn",
    },
)


@strawberry.type(description="One step in a case's history.")
class CaseEvent:
    at: datetime = strawberry.field(description="When it happened")
    status: CaseStatus = strawberry.field(description="办件状态 / The status it reached")
    department_status: str = strawberry.field(description="the department's own word for it")
    note: str = strawberry.field(description="备注 / The department's note, in its words (may be empty)")


@strawberry.type(description="An application of a resident, as the department that handles it tracks it.")
class Case:
    id: strawberry.ID = strawberry.field(description="`<department>:<the department's reference>`")
    reference: str = strawberry.field(description="the department's own reference, as on its letters")
    status: CaseStatus = strawberry.field(description="办件状态 / Where it is")
    department_status: str = strawberry.field(description="the department's own status text")
    history: list[CaseEvent] = strawberry.field(description="oldest first")
    submitted_at: datetime | None = strawberry.field(description="When it was submitted")
    updated_at: datetime | None = strawberry.field(description="When the department last changed it")
    next_action: str | None = strawberry.field(description="what happens next, or what the resident must do")
    expected_completion: datetime | None = strawberry.field(
        description="预计办结 / When the department expects to finish"
    )
    service_id: strawberry.ID = strawberry.field(description="The catalogue code of the service applied for")
    department_id: strawberry.Private[str]

    @strawberry.field(description="The department handling it")
    def department(self, info: Info) -> Department | None:
        return department_by_id(info, self.department_id)

    @strawberry.field(description="The service applied for; null when no catalogue lists it")
    async def service(self, info: Info) -> Service | None:
        index = await info.context.loaders.service_index(path_of(info))
        record = index.get(str(self.service_id))
        return None if record is None else Service.from_record(record)

    @classmethod
    def from_record(cls, record: CaseRecord) -> Case:
        return cls(
            id=strawberry.ID(case_id(record)),
            reference=record.id,
            status=record.status,
            department_status=record.department_status,
            history=[
                CaseEvent(at=e.at, status=e.status, department_status=e.department_status, note=e.note)
                for e in record.history
            ],
            submitted_at=record.submitted_at,
            updated_at=record.updated_at,
            next_action=record.next_action,
            expected_completion=record.expected_completion,
            service_id=strawberry.ID(record.service_id),
            department_id=record.department,
        )
