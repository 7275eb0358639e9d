"""农业农村委员会 — agriculture and rural affairs: its services and the land-contract register.

Its habits: CSV exports encoded in GB18030 with Chinese column headers, HTTP Basic auth, no paging,
dates as `yyyyMMdd`, lists joined with the Chinese enumeration comma `、`, eligibility criteria as
compact JSON in one column, and one resident per request (the household export answers a header
plus one row, or the header alone for a resident it does not know).  It sits behind an nginx that
answers 502 when the application server is down.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Sequence
from datetime import date

from aiohttp import web

from mocks import auth
from mocks.criteria import criteria_json
from mocks.departments import Department, Mounted
from mocks.departments.hrss import malform_csv
from mocks.openapi import BASIC_SCHEME, CRITERION_SCHEMA, Schema, query_param, served
from mocks.world import Channel, Resident, Service, World, is_valid_id_number

PREFIX = "/agriculture"
USERNAME = "onestop"
PASSWORD = "ny-secret"
ENCODING = "GB18030"
LIST_SEPARATOR = "、"

SERVICE_COLUMNS = (
    "事项编码",
    "事项名称",
    "英文名称",
    "说明",
    "类别",
    "渠道",
    "收费(分)",
    "时限",
    "材料",
    "更新日期",
    "条件",
)
HOUSEHOLD_COLUMNS = ("身份证号", "户号", "农户类型", "承包地面积(亩)", "更新日期")
CHANNELS = {
    Channel.WINDOW: "窗口",
    Channel.ONLINE: "网上",
    Channel.APP: "APP",
    Channel.WECHAT: "微信",
    Channel.KIOSK: "自助机",
}
CONTRACTING = "承包农户"
NOT_CONTRACTING = "非农户"
#: When the land-contract register was last confirmed (the yearly check ends in March).
REGISTER_CONFIRMED = date(2026, 3, 31)


def csv_response(header: Sequence[str], rows: Sequence[Sequence[str]]) -> web.Response:
    """A GB18030 CSV document: the header, then the rows."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return web.Response(
        body=out.getvalue().encode(ENCODING), headers={"Content-Type": f"text/csv; charset={ENCODING}"}
    )


def _text(status: int, message: str, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(
        body=message.encode(ENCODING),
        status=status,
        headers={"Content-Type": f"text/plain; charset={ENCODING}", **(headers or {})},
    )


def bad_gateway() -> web.Response:
    """How this system fails: the nginx in front of it, with its stock 502 page."""
    page = (
        "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n"
        "<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx/1.12.2</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return web.Response(text=page, status=502, content_type="text/html")


def service_row(service: Service) -> list[str]:
    """One service as a row of the services export."""
    return [
        service.code,
        service.name_zh,
        service.name_en,
        service.description,
        service.category,
        LIST_SEPARATOR.join(CHANNELS[c] for c in service.channels),
        str(service.fee_fen),
        str(service.processing_days),
        LIST_SEPARATOR.join(service.documents),
        service.updated_at.strftime("%Y%m%d"),
        json.dumps(criteria_json(service.criteria), ensure_ascii=False, separators=(",", ":")),
    ]


def household_row(resident: Resident) -> list[str]:
    """A resident's line of the land-contract register; no land is an empty area, not zero."""
    land = resident.land_contract_mu
    return [
        resident.id_number,
        resident.household_id,
        NOT_CONTRACTING if land is None else CONTRACTING,
        "" if land is None else f"{land:.1f}",
        REGISTER_CONFIRMED.strftime("%Y%m%d"),
    ]


def _refused() -> web.Response:
    """How the web server refuses a request without the right HTTP Basic credentials."""
    return _text(401, "401 未授权", {"WWW-Authenticate": 'Basic realm="nongye"'})


#: Handlers behind HTTP Basic auth, refused the way the web server refuses.
guarded = auth.guard(lambda request: auth.basic_ok(request, USERNAME, PASSWORD), _refused)


def _csv_get(summary: str, columns: Sequence[str], parameters: list[Schema]) -> Schema:
    text = {"type": "string"}
    return {
        "get": {
            "summary": summary,
            "parameters": parameters,
            "responses": {
                "200": {
                    "description": "header row " + ",".join(columns) + ", then the rows",
                    "content": {f"text/csv; charset={ENCODING}": {"schema": text}},
                },
                "400": {"description": "bad parameters", "content": {"text/plain": {"schema": text}}},
                "401": {"description": "missing or wrong Basic credentials"},
            },
        }
    }


def openapi() -> Schema:
    """The OpenAPI 3 description of exactly the routes below."""
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "浦东新区农业农村委数据导出接口",
            "version": "1.0.3",
            "description": "CSV exports encoded in GB18030. Lists are joined with '、'; dates are yyyyMMdd; "
            "条件 is a JSON array of criteria, each shaped as components.schemas.Criterion. "
            f"农户类型 is {CONTRACTING} or {NOT_CONTRACTING}; "
            "承包地面积(亩) is empty without contracted land.",
        },
        "servers": [{"url": PREFIX}],
        "security": [{"basic": []}],
        "paths": {
            "/export/services.csv": _csv_get("服务事项导出 (services)", SERVICE_COLUMNS, []),
            "/export/household.csv": _csv_get(
                "农户承包信息 (one resident's land contract; header only when unknown)",
                HOUSEHOLD_COLUMNS,
                [query_param("sfzh", {"type": "string", "pattern": r"^\d{17}[\dX]$"}, "身份证号", True)],
            ),
        },
        "components": {
            "securitySchemes": {"basic": BASIC_SCHEME},
            "schemas": {"Criterion": CRITERION_SCHEMA},
        },
    }


def build(world: World) -> Mounted:
    """The two exports and the description; the services export is rendered once."""
    services = [service_row(s) for s in world.services_of("agriculture")]

    async def export_services(_request: web.Request) -> web.StreamResponse:
        return csv_response(SERVICE_COLUMNS, services)

    async def export_household(request: web.Request) -> web.StreamResponse:
        sfzh = request.query.get("sfzh")
        if not sfzh:
            return _text(400, "参数错误：缺少sfzh")
        if not is_valid_id_number(sfzh):
            return _text(400, "参数错误：sfzh不是有效的身份证号")
        resident = world.resident(sfzh)
        return csv_response(HOUSEHOLD_COLUMNS, [] if resident is None else [household_row(resident)])

    return Mounted(
        routes=[
            web.get(f"{PREFIX}/export/services.csv", guarded(export_services)),
            web.get(f"{PREFIX}/export/household.csv", guarded(export_household)),
            web.get(f"{PREFIX}/openapi.json", served(openapi())),
        ],
        fail=bad_gateway,
        malform=malform_csv,
    )


DEPARTMENT = Department(
    id="agriculture",
    name_zh="农业农村委员会",
    name_en="Agriculture and Rural Affairs Commission",
    prefix=PREFIX,
    capabilities=("catalog", "facts"),
    description_path=f"{PREFIX}/openapi.json",
    build=build,
)
