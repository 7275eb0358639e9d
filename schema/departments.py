"""Departments: who owns what, and how each one is doing right now."""

from __future__ import annotations

from enum import Enum

import strawberry

from connectors.breaker import BreakerState
from connectors.registry import Department as DepartmentConnector
from schema.context import Info


@strawberry.enum(description="How a department's connector is doing, from its circuit breaker.")
class DepartmentStatus(Enum):
    UP = strawberry.enum_value("UP", description="正常 / Answering")
    RECOVERING = strawberry.enum_value(
        "RECOVERING", description="恢复中 / Paused after failures; one probe call allowed"
    )
    DOWN = strawberry.enum_value(
        "DOWN", description="暂不可用 / Failing: calls paused, its data is missing or served stale"
    )


_STATUS = {
    BreakerState.CLOSED: DepartmentStatus.UP,
    BreakerState.HALF_OPEN: DepartmentStatus.RECOVERING,
    BreakerState.OPEN: DepartmentStatus.DOWN,
}


@strawberry.federation.type(
    keys=["id"], description="部门 / Department: a government department connected to Onestop."
)
class Department:
    id: strawberry.ID = strawberry.field(description="Department id, e.g. civil-affairs")
    name: str = strawberry.field(description="部门名称 / Name, in Chinese")
    name_en: str = strawberry.field(description="Name in English")
    capabilities: list[str] = strawberry.field(description="What Onestop asks it for: catalog, stations, ...")
    status: DepartmentStatus = strawberry.field(description="运行状态 / How its connector is doing right now")
    connector_version: int = strawberry.field(description="Version of its connector spec being served")

    @classmethod
    def resolve_reference(cls, info: Info, id: strawberry.ID) -> Department | None:
        """A federation router's reference (``_entities``): answered from the registry, no upstream call."""
        return department_by_id(info, str(id))

    @classmethod
    def from_connector(cls, connector: DepartmentConnector) -> Department:
        spec = connector.spec
        return cls(
            id=strawberry.ID(spec.id),
            name=spec.name.zh,
            name_en=spec.name.en,
            capabilities=list(spec.capabilities),
            status=_STATUS[connector.resilience.breaker.state],
            connector_version=connector.version,
        )


def department_by_id(info: Info, department_id: str) -> Department | None:
    """One view per department per request, however many services point at it (and one status)."""
    views = info.context.views
    if department_id not in views:
        connector = info.context.registry.get(department_id)
        views[department_id] = None if connector is None else Department.from_connector(connector)
    view: Department | None = views[department_id]
    return view


@strawberry.type
class Query:
    @strawberry.field(description="Every connected department. Answered by the gateway, no upstream call.")
    def departments(self, info: Info) -> list[Department]:
        return [Department.from_connector(d) for d in info.context.registry.all()]
