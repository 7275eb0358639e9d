"""社区治理 — the community-governance system: stations and its own services.

Its habits: a `{code, msg, data}` JSON envelope, pinyin field names, `pageNo`/`pageSize` paging, an
API key header, and business failures reported as HTTP 200 with a non-zero `code` — the gateway must
look inside the envelope, not only at the status line.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web
from aiohttp.typedefs import Handler

from mocks import auth
from mocks.criteria import criteria_json
from mocks.departments import Department, Mounted, parse_bounded_int
from mocks.openapi import api_key_scheme, page_no_params, served
from mocks.world import Channel, Service, Station, World

PREFIX = "/community"
API_KEY = "community-dev-key"
MAX_PAGE_SIZE = 500
DEFAULT_PAGE_SIZE = 20

CHANNELS = {
    Channel.WINDOW: "chuangkou",
    Channel.ONLINE: "wangshang",
    Channel.APP: "app",
    Channel.WECHAT: "weixin",
    Channel.KIOSK: "zizhuji",
}

Row = dict[str, Any]


def envelope(data: Any, code: int = 0, msg: str = "成功", status: int = 200) -> web.Response:
    """The system's one response shape, used for successes and failures alike."""
    body = json.dumps({"code": code, "msg": msg, "data": data}, ensure_ascii=False)
    return web.Response(text=body, status=status, content_type="application/json", charset="utf-8")


def busy() -> web.Response:
    """How this system fails: HTTP 200, envelope code 5001."""
    return envelope(None, code=5001, msg="系统繁忙")


def station_row(station: Station) -> Row:
    """One station in the system's pinyin vocabulary."""
    return {
        "bianhao": station.code,
        "mingcheng": station.name,
        "jiezhen": station.town,
        "dizhi": station.address,
        "jingdu": station.lon,
        "weidu": station.lat,
        "yingye_shijian": station.opening_hours,
        "fuwu_xiangmu": ",".join(station.services),
        "lianxi_dianhua": station.phone,
    }


def service_row(service: Service) -> Row:
    """One service in the system's pinyin vocabulary."""
    return {
        "bianma": service.code,
        "mingcheng": service.name_zh,
        "yingwen_mingcheng": service.name_en,
        "miaoshu": service.description,
        "leibie": service.category,
        "qudao": ",".join(CHANNELS[c] for c in service.channels),
        "shoufei": service.fee_fen,
        "banli_tianshu": service.processing_days,
        "cailiao": ";".join(service.documents),
        "gengxin_riqi": service.updated_at.strftime("%Y%m%d"),
        "tiaojian": criteria_json(service.criteria),
    }


def refused() -> web.Response:
    """The vendor's answer to a missing or wrong API key."""
    return envelope(None, code=401, msg="API密钥无效", status=401)


def bad_request(message: str) -> web.Response:
    """The vendor's answer to a bad parameter, `message` saying which and why."""
    return envelope(None, code=400, msg=f"参数错误：{message}", status=400)


def page_of(
    request: web.Request, rows: list[Row], max_page_size: int, default_page_size: int = DEFAULT_PAGE_SIZE
) -> web.Response:
    """`rows` cut to the page `pageNo`/`pageSize` ask for, in the envelope; a 400 for bad paging."""
    page_no = parse_bounded_int(request.query.get("pageNo"), 1, 1, 1_000_000)
    if page_no is None:
        return bad_request("pageNo必须是正整数")
    page_size = parse_bounded_int(request.query.get("pageSize"), default_page_size, 1, max_page_size)
    if page_size is None:
        return bad_request(f"pageSize必须是1到{max_page_size}之间的整数")
    start = (page_no - 1) * page_size
    return envelope({"total": len(rows), "rows": rows[start : start + page_size]})


def paged_list(rows: list[Row]) -> Handler:
    """A handler serving `rows` with the system's key check and page arithmetic."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return page_of(request, rows, MAX_PAGE_SIZE)

    return auth.guard(lambda request: auth.api_key_ok(request, API_KEY), refused)(handler)


def _row_schema(fields: dict[str, tuple[str, str]]) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(fields),
        "properties": {name: {"type": kind, "description": text} for name, (kind, text) in fields.items()},
    }


def _fuwu_schema() -> dict[str, Any]:
    """A service row; 条件 (`tiaojian`) is a list of criteria, so it needs a schema of its own."""
    schema = _row_schema(
        {
            "bianma": ("string", "事项编码"),
            "mingcheng": ("string", "名称"),
            "yingwen_mingcheng": ("string", "英文名称"),
            "miaoshu": ("string", "描述"),
            "leibie": ("string", "类别: wenhua|yanglao|shequ|shenghuo|zhiyuan"),
            "qudao": ("string", "渠道, comma-separated: chuangkou|app|weixin|zizhuji|wangshang"),
            "shoufei": ("integer", "收费 (fen)"),
            "banli_tianshu": ("integer", "办理天数"),
            "cailiao": ("string", "申请材料, ';'-separated"),
            "gengxin_riqi": ("string", "更新日期 yyyyMMdd"),
        }
    )
    schema["required"].append("tiaojian")
    schema["properties"]["tiaojian"] = {
        "type": "array",
        "description": "申请条件: every one must hold; empty when the service is open to everybody",
        "items": {
            "type": "object",
            "required": ["fact", "op", "value", "text"],
            "properties": {
                "fact": {"type": "string", "description": "canonical fact, e.g. age, hukou_district"},
                "op": {"type": "string", "enum": ["==", "!=", ">=", "<=", "in"]},
                "value": {"description": "integer, boolean, string, or a list of strings for 'in'"},
                "text": {"type": "string", "description": "条件说明"},
            },
        },
    }
    return schema


def openapi() -> dict[str, Any]:
    """The OpenAPI 3 description of exactly the routes above."""
    page_params = page_no_params(MAX_PAGE_SIZE, DEFAULT_PAGE_SIZE)

    envelope_ref = {"$ref": "#/components/schemas/Envelope"}

    def listing(summary: str, row_ref: str) -> dict[str, Any]:
        page = {
            "type": "object",
            "required": ["total", "rows"],
            "properties": {
                "total": {"type": "integer"},
                "rows": {"type": "array", "items": {"$ref": row_ref}},
            },
        }
        return {
            "get": {
                "summary": summary,
                "parameters": page_params,
                "responses": {
                    "200": {
                        "description": "code 0 on success; a non-zero code (e.g. 5001 系统繁忙) is a "
                        "business failure",
                        "content": {
                            "application/json": {
                                "schema": {
                                    "allOf": [envelope_ref, {"type": "object", "properties": {"data": page}}]
                                }
                            }
                        },
                    },
                    "400": {
                        "description": "bad pageNo/pageSize (envelope code 400)",
                        "content": {"application/json": {"schema": envelope_ref}},
                    },
                    "401": {
                        "description": "missing or wrong X-Api-Key (envelope code 401)",
                        "content": {"application/json": {"schema": envelope_ref}},
                    },
                },
            }
        }

    return {
        "openapi": "3.0.3",
        "info": {
            "title": "浦东新区社区治理平台接口",
            "version": "2.3.1",
            "description": "Community governance: one-stop stations and community services.",
        },
        "servers": [{"url": PREFIX}],
        "security": [{"apiKey": []}],
        "paths": {
            "/api/zhandian/list": listing("站点列表 (stations)", "#/components/schemas/Zhandian"),
            "/api/fuwu/list": listing("服务项目列表 (services)", "#/components/schemas/Fuwu"),
        },
        "components": {
            "securitySchemes": {"apiKey": api_key_scheme("X-Api-Key")},
            "schemas": {
                "Envelope": {
                    "type": "object",
                    "required": ["code", "msg", "data"],
                    "properties": {
                        "code": {"type": "integer", "description": "0 = success"},
                        "msg": {"type": "string"},
                        "data": {"nullable": True},
                    },
                },
                "Zhandian": _row_schema(
                    {
                        "bianhao": ("string", "站点编号, e.g. ZD-0001"),
                        "mingcheng": ("string", "站点名称"),
                        "jiezhen": ("string", "所属街镇"),
                        "dizhi": ("string", "地址"),
                        "jingdu": ("number", "经度 (longitude)"),
                        "weidu": ("number", "纬度 (latitude)"),
                        "yingye_shijian": ("string", "营业时间, e.g. '1-5 09:00-17:00;6 09:00-12:00'"),
                        "fuwu_xiangmu": ("string", "服务事项编码, comma-separated"),
                        "lianxi_dianhua": ("string", "联系电话"),
                    }
                ),
                "Fuwu": _fuwu_schema(),
            },
        },
    }


def build(world: World) -> Mounted:
    """Routes over the world's stations and this department's services."""
    stations = [station_row(s) for s in world.stations]
    services = [service_row(s) for s in world.services_of("community")]

    return Mounted(
        routes=[
            web.get(f"{PREFIX}/api/zhandian/list", paged_list(stations)),
            web.get(f"{PREFIX}/api/fuwu/list", paged_list(services)),
            web.get(f"{PREFIX}/openapi.json", served(openapi())),
        ],
        fail=busy,
    )


DEPARTMENT = Department(
    id="community",
    name_zh="社区治理",
    name_en="Community Governance",
    prefix=PREFIX,
    capabilities=("stations", "catalog"),
    description_path=f"{PREFIX}/openapi.json",
    build=build,
)
