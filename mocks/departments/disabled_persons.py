"""残疾人联合会 — the disabled persons' federation: its services and disability certificates.

Its habits: the `{code, msg, data}` envelope (code 0 = ok, business failures as HTTP 200 with another
code), camelCase fields, HTTP Basic auth, no paging, epoch-millisecond dates, certificate levels in
Chinese ordinals (`一级` .. `四级`), and a batch lookup — up to 50 ID numbers comma-separated in one
query parameter, unknown people simply left out of the answer.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mocks import auth
from mocks.clock import day_ms, epoch_ms
from mocks.criteria import criteria_json
from mocks.departments import Department, Mounted, parse_id_list
from mocks.departments.community import busy, envelope
from mocks.openapi import BASIC_SCHEME, loose_criterion_schema, object_schema, ref, served
from mocks.world import Channel, Resident, Service, World

PREFIX = "/disabled-persons"
USERNAME = "onestop"
PASSWORD = "cl-secret"
MAX_BATCH = 50

CHANNELS = {
    Channel.WINDOW: "WINDOW",
    Channel.ONLINE: "WEB",
    Channel.APP: "APP",
    Channel.WECHAT: "WECHAT",
    Channel.KIOSK: "SELF_SERVICE",
}
LEVELS = {1: "一级", 2: "二级", 3: "三级", 4: "四级"}


def service_item(service: Service) -> dict[str, Any]:
    """One service in the federation's camelCase vocabulary."""
    return {
        "serviceCode": service.code,
        "nameZh": service.name_zh,
        "nameEn": service.name_en,
        "description": service.description,
        "category": service.category,
        "channels": [CHANNELS[c] for c in service.channels],
        "feeFen": service.fee_fen,
        "processingDays": service.processing_days,
        "documents": list(service.documents),
        "updatedAt": epoch_ms(service.updated_at),
        "criteria": criteria_json(service.criteria),
    }


def certificate_item(resident: Resident) -> dict[str, Any]:
    """One person's certificate record (a known person without a certificate has nulls)."""
    level = resident.disability_level
    issued = resident.disability_certified_on
    return {
        "idCard": resident.id_number,
        "hasCertificate": level is not None,
        "level": None if level is None else LEVELS[level],
        "certificateNo": resident.disability_certificate_no,
        "issuedAt": None if issued is None else day_ms(issued),
    }


def _refused() -> web.Response:
    response = envelope(None, code=401, msg="认证失败", status=401)
    response.headers["WWW-Authenticate"] = 'Basic realm="canlian"'
    return response


def _bad_request(msg: str) -> web.Response:
    return envelope(None, code=400, msg=msg, status=400)


def parse_id_cards(raw: str | None) -> list[str] | str:
    """The ID numbers of a certificates query, in order without repeats, or why they are refused."""
    return parse_id_list(
        raw,
        MAX_BATCH,
        missing="参数错误：idCards不能为空",
        too_many=f"参数错误：idCards最多{MAX_BATCH}个",
        malformed="参数错误：身份证号格式不正确",
    )


def openapi() -> dict[str, Any]:
    """The OpenAPI 3 description of exactly the routes below."""
    string, integer = {"type": "string"}, {"type": "integer"}
    millis = {"type": "integer", "format": "int64", "description": "epoch milliseconds"}

    def enveloped(data: dict[str, Any], summary: str, extra: dict[str, Any]) -> dict[str, Any]:
        ok = {"allOf": [{"$ref": "#/components/schemas/Envelope"}, {"properties": {"data": data}}]}
        failure = {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}
        return {
            "get": {
                "summary": summary,
                **extra,
                "responses": {
                    "200": {
                        "description": "code 0 on success; a non-zero code (5001 系统繁忙) is a failure",
                        "content": {"application/json": {"schema": ok}},
                    },
                    "400": {"description": "bad parameters (envelope code 400)", "content": failure},
                    "401": {"description": "HTTP Basic refused (envelope code 401)", "content": failure},
                },
            }
        }

    def listing(name: str) -> dict[str, Any]:
        return {"type": "array", "items": ref(name)}

    id_cards = {
        "name": "idCards",
        "in": "query",
        "required": True,
        "description": f"1 to {MAX_BATCH} ID numbers, comma-separated; unknown ones are left out",
        "schema": {"type": "string"},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "浦东新区残疾人联合会数据接口",
            "version": "3.1.0",
            "description": "Disabled Persons' Federation: services and certificates (batch).",
        },
        "servers": [{"url": PREFIX}],
        "security": [{"basic": []}],
        "paths": {
            "/api/services": enveloped(listing("Service"), "服务事项 (services), all at once", {}),
            "/api/certificates": enveloped(
                listing("Certificate"), "残疾人证查询 (certificates, batch)", {"parameters": [id_cards]}
            ),
        },
        "components": {
            "securitySchemes": {"basic": BASIC_SCHEME},
            "schemas": {
                "Envelope": object_schema(
                    {"code": {"type": "integer", "description": "0 = success"}, "msg": string, "data": {}}
                ),
                "Criterion": loose_criterion_schema(),
                "Service": object_schema(
                    {
                        "serviceCode": string,
                        "nameZh": string,
                        "nameEn": string,
                        "description": string,
                        "category": {"type": "string", "enum": ["disability"]},
                        "channels": {
                            "type": "array",
                            "items": {"type": "string", "enum": list(CHANNELS.values())},
                        },
                        "feeFen": integer,
                        "processingDays": integer,
                        "documents": {"type": "array", "items": string},
                        "updatedAt": millis,
                        "criteria": listing("Criterion"),
                    }
                ),
                "Certificate": object_schema(
                    {
                        "idCard": string,
                        "hasCertificate": {"type": "boolean"},
                        "level": {"type": "string", "nullable": True, "enum": [*LEVELS.values(), None]},
                        "certificateNo": {"type": "string", "nullable": True},
                        "issuedAt": {**millis, "nullable": True},
                    }
                ),
            },
        },
    }


def build(world: World) -> Mounted:
    """The services listing, the batch certificate lookup and the description."""
    services_data = [service_item(s) for s in world.services_of("disabled-persons")]

    def authorised(request: web.Request) -> bool:
        return auth.basic_ok(request, USERNAME, PASSWORD)

    guarded = auth.guard(authorised, _refused)

    @guarded
    async def services(request: web.Request) -> web.StreamResponse:
        return envelope(services_data)

    @guarded
    async def certificates(request: web.Request) -> web.StreamResponse:
        ids = parse_id_cards(request.query.get("idCards"))
        if isinstance(ids, str):
            return _bad_request(ids)
        known = (world.resident(i) for i in ids)
        return envelope([certificate_item(r) for r in known if r is not None])

    return Mounted(
        routes=[
            web.get(f"{PREFIX}/api/services", services),
            web.get(f"{PREFIX}/api/certificates", certificates),
            web.get(f"{PREFIX}/openapi.json", served(openapi())),
        ],
        fail=busy,
    )


DEPARTMENT = Department(
    id="disabled-persons",
    name_zh="残疾人联合会",
    name_en="Disabled Persons' Federation",
    prefix=PREFIX,
    capabilities=("catalog", "facts"),
    description_path=f"{PREFIX}/openapi.json",
    build=build,
)
