"""Bills, as the billing department states them: amounts in integer fen, never floats."""

from __future__ import annotations

from datetime import date, datetime

import strawberry

from domain.records import BillRecord
from schema.context import Info
from schema.departments import Department, department_by_id


@strawberry.type(description="One bill of one of the resident's accounts.")
class Bill:
    id: strawberry.ID = strawberry.field(description="`<department>:<the department's bill number>`")
    account: str = strawberry.field(description="the department's own account number")
    utility: str = strawberry.field(description="WATER, POWER or GAS")
    period: str = strawberry.field(description="the month billed, e.g. 2026-10")
    amount_fen: int = strawberry.field(description="in fen (1/100 yuan)")
    due_date: date | None = strawberry.field(description="缴费截止 / Pay by this day")
    paid: bool = strawberry.field(description="已缴 / Paid")
    paid_at: datetime | None = strawberry.field(description="When it was paid; null while unpaid")
    department_id: strawberry.Private[str]

    @strawberry.field(description="The department that bills it")
    def department(self, info: Info) -> Department | None:
        return department_by_id(info, self.department_id)

    @classmethod
    def from_record(cls, record: BillRecord) -> Bill:
        return cls(
            id=strawberry.ID(f"{record.department}:{record.id}"),
            account=record.account,
            utility=record.utility,
            period=record.period,
            amount_fen=record.amount_fen,
            due_date=record.due_date,
            paid=record.paid,
            paid_at=record.paid_at,
            department_id=record.department,
        )
