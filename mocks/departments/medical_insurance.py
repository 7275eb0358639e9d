"""医疗保障局 — the medical-insurance bureau: catalogue, who is insured how (in batches), and cases.

Its habits: bare snake_case JSON, the API key as a *query parameter* (`appkey=`, as its old gateway
product wanted), `offset`/`limit` paging with `{"total", "items"}`, ISO 8601 timestamps, insurance types
in Chinese words, and case statuses as two-digit *codes* (`"03"`) with the Chinese word beside them in
`status_text`.  Errors are HTTP 4xx/5xx with a small `{"error": ...}` object.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from aiohttp import web

from mocks import auth
from mocks.case_status import CaseStatusBoard, world_case
from mocks.criteria import criteria_json
from mocks.departments import Department, Mounted, parse_bounded_int
from mocks.openapi import api_key_scheme, served
from mocks.responses import json_response
from mocks.world import NOW, Case, CaseStatus, Channel, Resident, Service, World

PREFIX = "/medical-insurance"
APP_KEY = "yb-dev-key"
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_BATCH = 50
#: Insured records are refreshed by the nightly sync with the tax-funded resident scheme at 02:00.
SYNCED_AT = NOW.replace(hour=2, minute=0)

CHANNELS = {
    Channel.WINDOW: "counter",
    Channel.ONLINE: "web",
    Channel.APP: "app",
    Channel.WECHAT: "wechat",
    Channel.KIOSK: "self_service",
}
INSURANCE_TYPES = {"EMPLOYEE": "职工医保", "RESIDENT": "居民医保", "NONE": "未参保"}
#: Canonical status -> (the bureau's code, its Chinese word).
STATUSES: dict[CaseStatus, tuple[str, str]] = {
    CaseStatus.SUBMITTED: ("01", "已申报"),
    CaseStatus.ACCEPTED: ("02", "已受理"),
    CaseStatus.IN_REVIEW: ("03", "审核中"),
    CaseStatus.NEEDS_INFO: ("04", "待补充材料"),
    CaseStatus.APPROVED: ("05", "审核通过"),
    CaseStatus.REJECTED: ("06", "审核不通过"),
    CaseStatus.COMPLETED: ("07", "已办结"),
    CaseStatus.WITHDRAWN: ("09", "已撤销"),
}

Item = dict[str, Any]


def _error(error: str, status: int) -> web.Response:
    return json_response({"error": error}, status)


def system_error() -> web.Response:
    """How this system fails: HTTP 500 with its error object and a database complaint."""
    return json_response({"error": "system_error", "message": "数据库连接超时，请稍后重试"}, 500)


def service_item(service: Service) -> Item:
    """One service in the bureau's snake_case vocabulary."""
    return {
        "service_code": service.code,
        "name_zh": service.name_zh,
        "name_en": service.name_en,
        "description": service.description,
        "category": service.category,
        "channels": [CHANNELS[c] for c in service.channels],
        "fee_fen": service.fee_fen,
        "processing_days": service.processing_days,
        "documents": list(service.documents),
        "updated_at": service.updated_at.isoformat(),
        "criteria": criteria_json(service.criteria),
    }


def insured_item(resident: Resident) -> Item:
    """What the bureau knows of one resident's insurance (an uninsured resident is still known)."""
    return {
        "id_number": resident.id_number,
        "insurance_type": INSURANCE_TYPES[resident.medical_insurance],
        "social_insurance_no": resident.social_insurance_no,
        "updated_at": SYNCED_AT.isoformat(),
    }


def case_item(case: Case) -> Item:
    """One case with its history, every status as the bureau's code."""
    code, text = STATUSES[case.status]
    return {
        "case_no": case.ref,
        "service_code": case.service,
        "status": code,
        "status_text": text,
        "submitted_at": case.submitted_at.isoformat(),
        "updated_at": case.updated_at.isoformat(),
        "next_step": case.next_action,
        "expected_by": None if case.expected_completion is None else case.expected_completion.isoformat(),
        "history": [
            {"at": e.at.isoformat(), "status": STATUSES[e.status][0], "remark": e.note_zh}
            for e in case.history
        ],
    }


def batch_ids(body: bytes) -> list[str] | web.Response:
    """The ID numbers of a batch request, or the 400 that refuses it."""
    try:
        payload = json.loads(body)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error("bad_request", 400)
    ids = payload.get("id_numbers") if isinstance(payload, dict) else None
    if not isinstance(ids, list) or not all(isinstance(i, str) for i in ids):
        return _error("bad_request", 400)
    if not 1 <= len(ids) <= MAX_BATCH:
        return _error("batch_too_large", 400)
    return ids


def _schema(properties: dict[str, Any], nullable: Sequence[str] = ()) -> dict[str, Any]:
    """An object schema whose every property is required (null allowed for `nullable`)."""
    return {
        "type": "object",
        "required": list(properties),
        "properties": {
            name: {**schema, "nullable": True} if name in nullable else schema
            for name, schema in properties.items()
        },
    }


_STRING = {"type": "string"}
_INTEGER = {"type": "integer"}
_DATETIME = {"type": "string", "format": "date-time"}
_STRINGS = {"type": "array", "items": _STRING}


def _content(schema: dict[str, Any]) -> dict[str, Any]:
    return {"application/json": {"schema": schema}}


def openapi() -> dict[str, Any]:
    """The OpenAPI 3 description of exactly the routes served."""
    error = _content({"$ref": "#/components/schemas/Error"})
    refused = {
        "401": {"description": "missing or wrong appkey (invalid_appkey)", "content": error},
    }
    paging = [
        {"name": "offset", "in": "query", "schema": {"type": "integer", "minimum": 0, "default": 0}},
        {
            "name": "limit",
            "in": "query",
            "schema": {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
        },
    ]
    services_page = _schema(
        {"total": _INTEGER, "items": {"type": "array", "items": {"$ref": "#/components/schemas/Service"}}}
    )
    insured = _schema({"items": {"type": "array", "items": {"$ref": "#/components/schemas/Insured"}}})
    cases = _schema({"items": {"type": "array", "items": {"$ref": "#/components/schemas/Case"}}})
    status = {"type": "string", "enum": [code for code, _ in STATUSES.values()]}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "浦东新区医疗保障局数据共享接口",
            "version": "3.1.0",
            "description": "Medical insurance: services, insured status, cases. Every call carries the "
            "query parameter appkey. Case status codes: "
            + ", ".join(f"{code} {text}" for code, text in STATUSES.values()),
        },
        "servers": [{"url": PREFIX}],
        "security": [{"appkey": []}],
        "paths": {
            "/api/services": {
                "get": {
                    "summary": "服务事项 (services), offset/limit",
                    "parameters": paging,
                    "responses": {
                        "200": {"description": "a page", "content": _content(services_page)},
                        "400": {"description": "bad_paging", "content": error},
                        **refused,
                    },
                }
            },
            "/api/insured/batch": {
                "post": {
                    "summary": "参保状态批量查询 (insured status of up to 50 residents)",
                    "requestBody": {
                        "required": True,
                        "content": _content(
                            _schema(
                                {"id_numbers": {**_STRINGS, "minItems": 1, "maxItems": MAX_BATCH}},
                            )
                        ),
                    },
                    "responses": {
                        "200": {"description": "known residents only", "content": _content(insured)},
                        "400": {"description": "batch_too_large / bad_request", "content": error},
                        **refused,
                    },
                }
            },
            "/api/cases": {
                "get": {
                    "summary": "办件查询 (a resident's cases)",
                    "parameters": [{"name": "id_number", "in": "query", "required": True, "schema": _STRING}],
                    "responses": {
                        "200": {"description": "the resident's cases", "content": _content(cases)},
                        "400": {"description": "missing_id_number", "content": error},
                        **refused,
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"appkey": api_key_scheme("appkey", "query")},
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": _STRING, "message": _STRING},
                },
                "Criterion": _schema(
                    {
                        "fact": _STRING,
                        "op": {"type": "string", "enum": ["==", "!=", ">=", "<=", "in"]},
                        "value": {"description": "number, boolean, string, or a list for 'in'"},
                        "text": _STRING,
                    }
                ),
                "Service": _schema(
                    {
                        "service_code": _STRING,
                        "name_zh": _STRING,
                        "name_en": _STRING,
                        "description": _STRING,
                        "category": _STRING,
                        "channels": {
                            "type": "array",
                            "items": {"type": "string", "enum": list(CHANNELS.values())},
                        },
                        "fee_fen": _INTEGER,
                        "processing_days": _INTEGER,
                        "documents": _STRINGS,
                        "updated_at": _DATETIME,
                        "criteria": {"type": "array", "items": {"$ref": "#/components/schemas/Criterion"}},
                    }
                ),
                "Insured": _schema(
                    {
                        "id_number": _STRING,
                        "insurance_type": {"type": "string", "enum": list(INSURANCE_TYPES.values())},
                        "social_insurance_no": _STRING,
                        "updated_at": _DATETIME,
                    }
                ),
                "Case": _schema(
                    {
                        "case_no": _STRING,
                        "service_code": _STRING,
                        "status": status,
                        "status_text": _STRING,
                        "submitted_at": _DATETIME,
                        "updated_at": _DATETIME,
                        "next_step": _STRING,
                        "expected_by": {"type": "string", "format": "date"},
                        "history": {
                            "type": "array",
                            "items": _schema({"at": _DATETIME, "status": status, "remark": _STRING}),
                        },
                    },
                    nullable=("next_step", "expected_by"),
                ),
            },
        },
    }


def _authorised(request: web.Request) -> bool:
    return auth.api_key_ok(request, APP_KEY, query="appkey")


def build(world: World) -> Mounted:
    """The three data routes behind the appkey, and the description."""
    services = [service_item(s) for s in world.services_of("medical-insurance")]

    guarded = auth.guard(_authorised, lambda: _error("invalid_appkey", 401))

    @guarded
    async def list_services(request: web.Request) -> web.StreamResponse:
        offset = parse_bounded_int(request.query.get("offset"), 0, 0, 999_999_999)
        limit = parse_bounded_int(request.query.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
        if offset is None or limit is None:
            return _error("bad_paging", 400)
        return json_response({"total": len(services), "items": services[offset : offset + limit]})

    @guarded
    async def insured(request: web.Request) -> web.StreamResponse:
        ids = batch_ids(await request.read())
        if isinstance(ids, web.Response):
            return ids
        known = (world.resident(i) for i in dict.fromkeys(ids))
        return json_response({"items": [insured_item(r) for r in known if r is not None]})

    live = CaseStatusBoard(
        "medical-insurance",
        lambda ref: world_case(world, ref, "medical-insurance"),
        lambda status: STATUSES[status][0],
    )

    @guarded
    async def cases(request: web.Request) -> web.StreamResponse:
        id_number = request.query.get("id_number", "").strip()
        if not id_number:
            return _error("missing_id_number", 400)
        mine = (c for c in world.cases_of_resident(id_number) if c.department == "medical-insurance")
        return json_response({"items": [case_item(live.current(c)) for c in mine]})

    return Mounted(
        routes=[
            web.get(f"{PREFIX}/api/services", list_services),
            web.post(f"{PREFIX}/api/insured/batch", insured),
            web.get(f"{PREFIX}/api/cases", cases),
            web.get(f"{PREFIX}/openapi.json", served(openapi())),
        ],
        fail=system_error,
        case_status=live,
    )


DEPARTMENT = Department(
    id="medical-insurance",
    name_zh="医疗保障局",
    name_en="Medical Insurance Bureau",
    prefix=PREFIX,
    capabilities=("catalog", "facts", "cases"),
    description_path=f"{PREFIX}/openapi.json",
    build=build,
)
