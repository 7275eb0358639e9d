"""Eligibility, explained, as GraphQL types (the reasoning is in resolvers/eligibility.py)."""

from __future__ import annotations

from datetime import datetime

import strawberry

from domain.records import Channel
from resolvers.eligibility import Assessment, Check, CriterionCheck, NextStep, Outcome
from schema.context import Info
from schema.departments import Department, department_by_id
from schema.described import described_enum
from schema.services import Service
from schema.stations import Station

described_enum(
    Outcome,
    "资格结论 / Outcome: UNKNOWN when a fact could not be fetched",
    {
        "ELIGIBLE": "符合条件 / Eligible: every criterion holds",
        "INELIGIBLE": "不符合条件 / Not eligible: a criterion fails on a fact a department reported",
        "UNKNOWN": "暂无法判断 / Unknown: a fact could not be fetched or is not on record",
    },
    name="EligibilityOutcome",
)
described_enum(
    Check,
    "条件核验 / Criterion result: UNKNOWN when its fact could not be fetched",
    {
        "PASS": "符合 / Holds",
        "FAIL": "不符合 / Does not hold",
        "UNKNOWN": "未知 / Its fact could not be fetched or is not on record",
    },
    name="CriterionResult",
)


@strawberry.type(description="One criterion of a service, checked against one fact about the resident.")
class CriterionEvaluation:
    fact: str = strawberry.field(description="what was checked: a canonical fact (age, income_band, ...)")
    op: str = strawberry.field(description="==, !=, >=, <= or in")
    expected: str = strawberry.field(description="the criterion's value, as the department wrote it")
    text: str = strawberry.field(description="the department's own words")
    result: Check = strawberry.field(description="核验结果 / Holds, does not hold, or unknown")
    value_used: str | None = strawberry.field(
        description="the fact's value; null when unknown or not on record"
    )
    fetched_at: datetime | None = strawberry.field(description="when the source department said so")
    reason: str = strawberry.field(description="why it passed, failed or is unknown")
    source_department_id: strawberry.Private[str | None]

    @strawberry.field(description="The department the value came from")
    def source_department(self, info: Info) -> Department | None:
        return (
            None if self.source_department_id is None else department_by_id(info, self.source_department_id)
        )

    @classmethod
    def from_check(cls, check: CriterionCheck) -> CriterionEvaluation:
        c = check.criterion
        return cls(
            fact=c.fact,
            op=c.op,
            expected=c.value,
            text=c.text,
            result=check.check,
            value_used=check.value_used,
            fetched_at=check.fetched_at,
            reason=check.reason,
            source_department_id=check.department,
        )


@strawberry.type(description="What to do next to use a service.")
class EligibilityNextStep:
    action: str = strawberry.field(description="APPLY_ONLINE, VISIT_STATION or NONE")
    text: str = strawberry.field(description="下一步 / What to do, in Chinese, ready to show")
    channel: Channel | None = strawberry.field(description="办理渠道 / Where to do it")
    station: Station | None = strawberry.field(description="where to go (nearest to `near` when given)")
    walk_minutes: int | None = strawberry.field(
        description="Minutes on foot to that station, when `near` was given"
    )

    @classmethod
    def from_step(cls, step: NextStep) -> EligibilityNextStep:
        return cls(
            action=step.action,
            text=step.text,
            channel=step.channel,
            station=None if step.station is None else Station.from_record(step.station),
            walk_minutes=step.walk_minutes,
        )


@strawberry.type(description="Whether the resident may use a service, and why.")
class Eligibility:
    service: Service = strawberry.field(description="The service")
    outcome: Outcome = strawberry.field(description="资格结论 / Eligible, not eligible, or unknown")
    criteria: list[CriterionEvaluation] = strawberry.field(description="Each criterion, checked")
    missing_documents: list[str] = strawberry.field(
        description="documents the application needs that no department holds for the resident"
    )
    next_step: EligibilityNextStep = strawberry.field(description="What the resident can do next")

    @classmethod
    def from_assessment(cls, assessment: Assessment) -> Eligibility:
        return cls(
            service=Service.from_record(assessment.service),
            outcome=assessment.outcome,
            criteria=[CriterionEvaluation.from_check(c) for c in assessment.checks],
            missing_documents=list(assessment.missing_documents),
            next_step=EligibilityNextStep.from_step(assessment.next_step),
        )
