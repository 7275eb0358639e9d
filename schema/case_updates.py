"""``subscription { caseUpdated(caseIds, resident) { case { ... } previousStatus changedAt source } }``.

Over graphql-transport-ws on ``/graphql``; the bearer token travels in ``connection_init``'s payload
(``{"Authorization": "Bearer ..."}``). See resolvers/case_updates.py for what is watched and who may.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator
from datetime import datetime
from enum import Enum
from typing import Annotated

import strawberry

from domain.records import CaseStatus
from resolvers.case_updates import case_updates
from schema.cases import Case
from schema.context import Info


@strawberry.enum(description="Who noticed the change")
class CaseUpdateSource(Enum):
    POLL = strawberry.enum_value("POLL", description="The gateway asked the department")
    WEBHOOK = strawberry.enum_value(
        "WEBHOOK", description="The department told the gateway (a signed call, then confirmed with it)"
    )


@strawberry.type(description="A case that changed, as the department now tracks it.")
class CaseUpdate:
    case: Case = strawberry.field(description="The case as it is now")
    previous_status: CaseStatus | None = strawberry.field(
        description="the status before, as this subscriber last saw it; null for a new case"
    )
    changed_at: datetime | None = strawberry.field(description="when the department says it changed")
    source: CaseUpdateSource = strawberry.field(description="How the gateway learned of it")


@strawberry.type
class Subscription:
    @strawberry.subscription(
        description="Changes to the resident's cases, as they happen. Without `caseIds`: every case "
        "at every department that keeps cases. `resident` (a Resident.id) is for staff inside an "
        "assisted session the resident consented to; residents leave it out."
    )
    async def case_updated(
        self,
        info: Info,
        case_ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(description="only these cases (`Case.id`); default: all of them"),
        ] = None,
        resident: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="staff: the `Resident.id` of a consented assisted session"),
        ] = None,
    ) -> AsyncGenerator[CaseUpdate, None]:
        ids = None if case_ids is None else [str(i) for i in case_ids]
        async for event in case_updates(info.context, ids, None if resident is None else str(resident)):
            yield CaseUpdate(
                case=Case.from_record(event.record),
                previous_status=event.previous_status,
                changed_at=event.changed_at,
                source=CaseUpdateSource(event.source),
            )
