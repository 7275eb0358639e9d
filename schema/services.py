"""Services: the district catalogue across every department, searchable, in cursor pages."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

import strawberry

from domain.records import Category, Channel, ServiceRecord
from resolvers.catalog import ServicePage, ServiceQuery, get_service, list_services
from schema.context import Info, path_of
from schema.departments import Department, department_by_id
from schema.described import described_enum
from schema.views import RecordViews

# The canonical vocabularies are the GraphQL enums as they are: one list of values, not two to keep equal.
described_enum(
    Category,
    "服务类别 / Category: the district's service categories (departments' own words are mapped onto these).",
    {
        "SOCIAL_ASSISTANCE": "社会救助 / Social assistance",
        "SENIOR_CARE": "养老服务 / Senior care",
        "MARRIAGE_FAMILY": "婚姻家庭 / Marriage and family",
        "EMPLOYMENT": "就业创业 / Employment",
        "SOCIAL_INSURANCE": "社会保险 / Social insurance",
        "TALENT": "人才服务 / Talent",
        "HEALTH": "医疗卫生 / Health",
        "PUBLIC_HEALTH": "公共卫生 / Public health",
        "EDUCATION": "教育 / Education",
        "CULTURE": "文化体育 / Culture",
        "COMMUNITY": "社区服务 / Community",
        "DAILY_LIFE": "生活服务 / Daily life",
        "VOLUNTEER": "志愿服务 / Volunteering",
        "HOUSING": "住房保障 / Housing",
        "LEGAL": "法律服务 / Legal aid",
        "UTILITIES": "水电燃气 / Utilities",
        "SUBSIDY": "补贴补助 / Subsidies",
        "RURAL": "农业农村 / Rural affairs",
        "BUSINESS": "企业服务 / Business",
        "CONSUMER": "消费维权 / Consumer protection",
        "TAX": "税务 / Tax",
        "DISABILITY": "助残服务 / Disability",
        "VETERANS": "退役军人 / Veterans",
        "OTHER": "其他 / Other",
    },
)
described_enum(
    Channel,
    "办理渠道 / Channel: where a resident can use a service.",
    {
        "STATION": "窗口办理 / At the window of a one-stop station",
        "APP": "随申办 App / In the district's app",
        "WECHAT": "微信小程序 / In the WeChat mini-program",
        "KIOSK": "自助终端 / At a self-service kiosk",
        "ONLINE": "网上办理 / On the department's website",
    },
)


@strawberry.type(description="One eligibility condition, as the department wrote it: `fact op value`.")
class Criterion:
    fact: str = strawberry.field(description="A canonical fact: age, hukou_district, income_band, ...")
    op: str = strawberry.field(description="==, !=, >=, <= or in")
    value: str = strawberry.field(description="Lists comma-separated, booleans true/false")
    text: str = strawberry.field(description="条件 / Condition: the department's own words (Chinese)")


@strawberry.federation.type(
    keys=["id"], description="服务 / Service: a government service a resident can use."
)
class Service:
    id: strawberry.ID = strawberry.field(description="District-wide catalogue code, e.g. MZ-001")
    name: str = strawberry.field(description="服务名称 / Name, in Chinese")
    name_en: str = strawberry.field(description="Name in English")
    description: str = strawberry.field(description="服务说明 / What it is, as the department describes it")
    category: Category = strawberry.field(description="服务类别 / Category")
    channels: list[Channel] = strawberry.field(description="办理渠道 / Where it can be used")
    fee_fen: int = strawberry.field(description="Fee in fen (1/100 yuan); 0 when free")
    processing_days: int | None = strawberry.field(description="Working days to a decision")
    required_documents: list[str] = strawberry.field(
        description="所需材料 / Documents to bring or upload, in the department's words"
    )
    updated_at: datetime | None = strawberry.field(description="When the department last changed it")
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
        return _service_views(record)

    @classmethod
    def make(cls, record: ServiceRecord) -> Service:
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


_service_views: RecordViews[ServiceRecord, Service] = RecordViews(Service.make)


@strawberry.input(description="Narrow the catalogue; every given field must match.")
class ServiceFilter:
    departments: list[strawberry.ID] | None = strawberry.field(
        default=None, description="Any of these department ids"
    )
    categories: list[Category] | None = strawberry.field(
        default=None, description="In any of these categories"
    )
    channels: list[Channel] | None = strawberry.field(default=None, description="Offered on any of these")


@strawberry.type(description="Where a page of a cursor-paged list sits (Relay's connection spec).")
class PageInfo:
    has_next_page: bool = strawberry.field(description="More after this page: ask with `after: endCursor`")
    has_previous_page: bool = strawberry.field(description="This page is not the first")
    start_cursor: str | None = strawberry.field(description="Cursor of the first item; null on an empty page")
    end_cursor: str | None = strawberry.field(description="Cursor of the last item; null on an empty page")


@strawberry.type(description="One service in a page, with its cursor.")
class ServiceEdge:
    cursor: str = strawberry.field(description="Opaque: pass it as `after` to continue from here")
    node: Service = strawberry.field(description="The service")


@strawberry.type(description="A page of the catalogue.")
class ServiceConnection:
    edges: list[ServiceEdge] = strawberry.field(description="The services of this page, in id order")
    page_info: PageInfo = strawberry.field(description="Where this page sits")
    total_count: int = strawberry.field(description="Services matching the filter and search, on all pages")

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
        filter: Annotated[
            ServiceFilter | None, strawberry.argument(description="departments, categories, channels")
        ] = None,
        search: Annotated[
            str | None,
            strawberry.argument(description="words matched in Chinese or English names and descriptions"),
        ] = None,
        first: Annotated[int | None, strawberry.argument(description="page size, 0..100, default 20")] = None,
        after: Annotated[
            str | None, strawberry.argument(description="a cursor from a previous page: continue after it")
        ] = None,
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
    async def service(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="catalogue code, e.g. MZ-001")],
    ) -> Service | None:
        record = await get_service(info.context.loaders, str(id), path_of(info))
        return None if record is None else Service.from_record(record)
