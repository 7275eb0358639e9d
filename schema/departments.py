"""Departments: who owns what, and how each one is doing right now."""

from __future__ import annotations

from enum import Enum

import strawberry

from connectors.breaker import BreakerState
from connectors.registry import Department as DepartmentConnector
from schema.context import Info


@strawberry.enum(description="How a department's connector is doing, from its circuit breaker.")
class DepartmentStatus(Enum):
    UP = "UP"
    RECOVERING = "RECOVERING"  # paused after failures, one probe call allowed
    DOWN = "DOWN"  # failing: calls paused, its data is missing or served stale


_STATUS = {
    BreakerState.CLOSED: DepartmentStatus.UP,
    BreakerState.HALF_OPEN: DepartmentStatus.RECOVERING,
    BreakerState.OPEN: DepartmentStatus.DOWN,
}


@strawberry.federation.type(
    keys=["id"], description="部门 / Department: a government department connected to Onestop."
)
class Department:
    id: strawberry.ID
    name: str = strawberry.field(description="Chinese name")
    name_en: str
    capabilities: list[str] = strawberry.field(description="catalog, stations, ...")
    status: DepartmentStatus
    connector_version: int

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
