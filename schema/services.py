"""Services: the district catalogue across every department, searchable, in cursor pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from connectors.records import Category, Channel, ServiceRecord
from resolvers.catalog import ServicePage, ServiceQuery, get_service, list_services
from schema.context import Info, path_of
from schema.departments import Department, department_by_id

# The canonical vocabularies are the GraphQL enums as they are: one list of values, not two to keep equal.
strawberry.enum(Category, description="The district's service categories.")
strawberry.enum(Channel, description="Where a resident can use a service.")


@strawberry.type(description="One eligibility condition, as the department wrote it: `fact op value`.")
class Criterion:
    fact: str = strawberry.field(description="a canonical fact: age, hukou_district, income_band, ...")
    op: str = strawberry.field(description="==, !=, >=, <= or in")
    value: str = strawberry.field(description="lists comma-separated, booleans true/false")
    text: str = strawberry.field(description="the department's own words (Chinese)")


@strawberry.federation.type(
    keys=["id"], description="服务 / Service: a government service a resident can use."
)
class Service:
    id: strawberry.ID = strawberry.field(description="District-wide catalogue code, e.g. MZ-001")
    name: str = strawberry.field(description="Chinese name")
    name_en: str
    description: str
    category: Category
    channels: list[Channel]
    fee_fen: int = strawberry.field(description="Fee in fen (1/100 yuan); 0 when free")
    processing_days: int | None = strawberry.field(description="Working days to a decision")
    required_documents: list[str]
    updated_at: datetime | None
    criteria: list[Criterion] = strawberry.field(description="Who may use it; all must hold")
    department_id: strawberry.Private[str]

    @strawberry.field(description="The department that provides it")
    def department(self, info: Info) -> Department | None:
        return department_by_id(info, self.department_id)

    @classmethod
    async def resolve_reference(cls, info: Info, id: strawberry.ID) -> Service | None:
        """A federation router's reference (``_entities``): every reference of a request shares one
        catalogue index, so each department is asked once however many services the router sends."""
        record = await get_service(info.context.loaders, str(id), path_of(info))
        return None if record is None else cls.from_record(record)

    @classmethod
    def from_record(cls, record: ServiceRecord) -> Service:
        return cls(
            id=strawberry.ID(record.id),
            name=record.name_zh,
            name_en=record.name_en,
            description=record.description,
            category=record.category,
            channels=record.channels,  # type: ignore[arg-type]  # any iterable serves a GraphQL list
            fee_fen=record.fee_fen,
            processing_days=record.processing_days,
            required_documents=record.required_documents,  # type: ignore[arg-type]
            updated_at=record.updated_at,
            criteria=[Criterion(fact=c.fact, op=c.op, value=c.value, text=c.text) for c in record.criteria],
            department_id=record.department,
        )


@strawberry.input(description="Narrow the catalogue; every given field must match.")
class ServiceFilter:
    departments: list[strawberry.ID] | None = None
    categories: list[Category] | None = None
    channels: list[Channel] | None = strawberry.field(default=None, description="offered on any of these")


@strawberry.type
class PageInfo:
    has_next_page: bool
    has_previous_page: bool
    start_cursor: str | None
    end_cursor: str | None


@strawberry.type
class ServiceEdge:
    cursor: str
    node: Service


@strawberry.type
class ServiceConnection:
    edges: list[ServiceEdge]
    page_info: PageInfo
    total_count: int

    @classmethod
    def from_page(cls, page: ServicePage) -> ServiceConnection:
        edges = [ServiceEdge(cursor=page.cursor(r), node=Service.from_record(r)) for r in page.records]
        return cls(
            edges=edges,
            page_info=PageInfo(
                has_next_page=page.has_next,
                has_previous_page=page.has_previous,
                start_cursor=edges[0].cursor if edges else None,
                end_cursor=edges[-1].cursor if edges else None,
            ),
            total_count=page.total,
        )


@strawberry.type
class Query:
    @strawberry.field(
        description="The catalogue of all departments, in id order. Departments are asked in "
        "parallel; one that fails is missing from the list and named in `errors`."
    )
    async def services(
        self,
        info: Info,
        filter: ServiceFilter | None = None,
        search: Annotated[
            str | None,
            strawberry.argument(description="words matched in Chinese or English names and descriptions"),
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="page size, 0..100, default 20")] = None,
        after: str | None = None,
    ) -> ServiceConnection:
        query = ServiceQuery(
            departments=[str(d) for d in filter.departments] if filter and filter.departments else None,
            categories=filter.categories if filter else None,
            channels=filter.channels if filter else None,
            search=search,
        )
        page = await list_services(info.context.loaders, query, first, after, path_of(info))
        return ServiceConnection.from_page(page)

    @strawberry.field(description="One service by its catalogue code; null when no department has it.")
    async def service(self, info: Info, id: strawberry.ID) -> Service | None:
        record = await get_service(info.context.loaders, str(id), path_of(info))
        return None if record is None else Service.from_record(record)
