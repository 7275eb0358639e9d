"""教育局 — the education bureau: its catalogue and residents' enrolment cases, behind OAuth2.

Its habits: every answer in a `{"code": 200, "message": "OK", "result": ...}` envelope — including
failures, which arrive as HTTP 200 with `code: 500` (so a gateway must read the envelope, not only the
status line); camelCase field names; OAuth2 client-credentials tokens that expire after ten minutes;
`pageNum`/`pageSize` paging with `result: {total, list}`; every time as epoch milliseconds; case states
as English words of its own (`REVIEWING`, `SUPPLEMENT`, `PASSED`...).
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from mocks import auth
from mocks.applications import Accepted, Submissions, json_object
from mocks.auth import TokenStore
from mocks.clock import day_ms, epoch_ms
from mocks.criteria import criteria_json
from mocks.departments import Department, Mounted, parse_bounded_int
from mocks.openapi import BASIC_SCHEME, oauth2_scheme, query_param, served
from mocks.world import Case, CaseStatus, Channel, Service, World

PREFIX = "/education"
CLIENT_ID = "onestop"
CLIENT_SECRET = "edu-secret"
TOKEN_TTL_S = 600
MAX_PAGE_SIZE = 100
DEFAULT_PAGE_SIZE = 20

CHANNELS = {
    Channel.WINDOW: "window",
    Channel.ONLINE: "website",
    Channel.APP: "mobileApp",
    Channel.WECHAT: "weChat",
    Channel.KIOSK: "selfService",
}
STATES = {
    CaseStatus.SUBMITTED: "RECEIVED",
    CaseStatus.ACCEPTED: "ACCEPTED",
    CaseStatus.IN_REVIEW: "REVIEWING",
    CaseStatus.NEEDS_INFO: "SUPPLEMENT",
    CaseStatus.APPROVED: "PASSED",
    CaseStatus.REJECTED: "REJECTED",
    CaseStatus.COMPLETED: "FINISHED",
    CaseStatus.WITHDRAWN: "CANCELLED",
}

Item = dict[str, Any]


def envelope(result: Any, code: int = 200, message: str = "OK", status: int = 200) -> web.Response:
    """The bureau's one response shape, for successes and failures alike."""
    body = json.dumps({"code": code, "message": message, "result": result}, ensure_ascii=False)
    return web.Response(text=body, status=status, content_type="application/json", charset="utf-8")


def system_error() -> web.Response:
    """How this system fails: HTTP 200, envelope code 500."""
    return envelope(None, code=500, message="系统异常，请稍后重试")


def service_item(service: Service) -> Item:
    """One service in the bureau's camelCase vocabulary."""
    return {
        "itemCode": service.code,
        "itemName": service.name_zh,
        "itemNameEn": service.name_en,
        "itemDesc": service.description,
        "itemType": service.category,
        "channelList": [CHANNELS[c] for c in service.channels],
        "feeFen": service.fee_fen,
        "limitDays": service.processing_days,
        "materialList": list(service.documents),
        "modifyTime": epoch_ms(service.updated_at),
        "conditions": criteria_json(service.criteria),
    }


def case_item(case: Case) -> Item:
    """One case with its flow, every state in the bureau's words."""
    return {
        "caseNo": case.ref,
        "itemCode": case.service,
        "state": STATES[case.status],
        "applyTime": epoch_ms(case.submitted_at),
        "updateTime": epoch_ms(case.updated_at),
        "nextStep": case.next_action,
        "expectTime": None if case.expected_completion is None else day_ms(case.expected_completion),
        "flowList": [
            {"time": epoch_ms(e.at), "state": STATES[e.status], "remark": e.note_zh} for e in case.history
        ],
    }


def page_of(request: web.Request, items: list[Item]) -> web.Response:
    """`pageNum`/`pageSize` paging over `items`, or the 400 that refuses bad numbers."""
    page_num = parse_bounded_int(request.query.get("pageNum"), 1, 1, 1_000_000)
    page_size = parse_bounded_int(request.query.get("pageSize"), DEFAULT_PAGE_SIZE, 1, MAX_PAGE_SIZE)
    if page_num is None or page_size is None:
        return envelope(
            None, code=400, message=f"参数错误：pageNum≥1，pageSize为1-{MAX_PAGE_SIZE}", status=400
        )
    start = (page_num - 1) * page_size
    return envelope({"total": len(items), "list": items[start : start + page_size]})


async def _json_body(request: web.Request) -> dict[str, Any] | None:
    """The application as a JSON object, or None for anything else (the bureau answers 400 then)."""
    body = await json_object(request)
    if body is None or not isinstance(body.get("materialList") or [], list):
        return None
    return body if isinstance(body.get("formData") or {}, dict) else None


def _object(properties: dict[str, Any], nullable: tuple[str, ...] = ()) -> dict[str, Any]:
    return {
        "type": "object",
        "required": list(properties),
        "properties": {k: {**v, "nullable": True} if k in nullable else v for k, v in properties.items()},
    }


_STR = {"type": "string"}
_INT = {"type": "integer"}
_MS = {"type": "integer", "format": "int64", "description": "epoch milliseconds"}


def _enveloped(result: dict[str, Any]) -> dict[str, Any]:
    return {
        "application/json": {
            "schema": {"allOf": [{"$ref": "#/components/schemas/Envelope"}, _object({"result": result})]}
        }
    }


def _listing(summary: str, row: str, extra: list[dict[str, Any]]) -> dict[str, Any]:
    page = _object({"total": _INT, "list": {"type": "array", "items": {"$ref": row}}})
    plain = {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}
    return {
        "get": {
            "summary": summary,
            "security": [{"oauth2": []}],
            "parameters": [
                *extra,
                query_param("pageNum", {"type": "integer", "minimum": 1, "default": 1}),
                query_param(
                    "pageSize",
                    {"type": "integer", "minimum": 1, "maximum": MAX_PAGE_SIZE, "default": DEFAULT_PAGE_SIZE},
                ),
            ],
            "responses": {
                "200": {
                    "description": "code 200 on success; code 500 (HTTP 200) when the system fails",
                    "content": _enveloped(page),
                },
                "400": {"description": "bad paging or missing idCard (code 400)", "content": plain},
                "401": {"description": "missing, unknown or expired token (code 401)", "content": plain},
            },
        }
    }


def _application() -> dict[str, Any]:
    """POST /api/v1/applications: a new application, answered with the case it became."""
    form = _object({"idCard": _STR, "itemCode": _STR, "materialList": {"type": "array", "items": _STR}})
    form["properties"]["formData"] = {"type": "object", "additionalProperties": _STR}
    plain = {"application/json": {"schema": {"$ref": "#/components/schemas/Envelope"}}}
    key = query_param(
        "Idempotency-Key",
        {"type": "string", "maxLength": 64},
        "the same key with the same application answers the case already made",
        where="header",
    )
    return {
        "post": {
            "summary": "申请 (submit an application)",
            "security": [{"oauth2": []}],
            "parameters": [key],
            "requestBody": {"required": True, "content": {"application/json": {"schema": form}}},
            "responses": {
                "200": {
                    "description": "the new case (state RECEIVED), or the one made before with this key",
                    "content": _enveloped({"$ref": "#/components/schemas/Case"}),
                },
                "400": {"description": "unknown item, bad idCard or body (code 400)", "content": plain},
                "401": {"description": "missing, unknown or expired token (code 401)", "content": plain},
                "409": {"description": "the key was used for another application", "content": plain},
            },
        }
    }


def openapi() -> dict[str, Any]:
    """The OpenAPI 3 description of exactly the routes served."""
    token_form = _object({"grant_type": {"type": "string", "enum": ["client_credentials"]}})
    token_form["properties"] |= {"client_id": _STR, "client_secret": _STR}
    state = {"type": "string", "enum": list(STATES.values())}
    oauth_error = {"application/json": {"schema": _object({"error": _STR})}}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "浦东新区教育局政务服务接口",
            "version": "1.2.0",
            "description": "Education bureau: services and enrolment cases. Times are epoch "
            "milliseconds; answers are wrapped in {code, message, result} (code 200 = OK).",
        },
        "servers": [{"url": PREFIX}],
        "paths": {
            "/oauth2/token": {
                "post": {
                    "summary": "OAuth2 client-credentials token",
                    "security": [{}, {"clientBasic": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/x-www-form-urlencoded": {"schema": token_form}},
                    },
                    "responses": {
                        "200": {
                            "description": "token",
                            "content": {
                                "application/json": {
                                    "schema": _object(
                                        {
                                            "access_token": _STR,
                                            "token_type": {"type": "string", "enum": ["Bearer"]},
                                            "expires_in": {"type": "integer", "example": TOKEN_TTL_S},
                                        }
                                    )
                                }
                            },
                        },
                        "400": {
                            "description": "invalid_request / unsupported_grant_type",
                            "content": oauth_error,
                        },
                        "401": {"description": "invalid_client", "content": oauth_error},
                    },
                }
            },
            "/api/v1/services": _listing("服务事项 (services)", "#/components/schemas/Item", []),
            "/api/v1/cases": _listing(
                "办件 (a resident's cases)",
                "#/components/schemas/Case",
                [query_param("idCard", _STR, required=True)],
            ),
            "/api/v1/applications": _application(),
        },
        "components": {
            "securitySchemes": {
                "oauth2": oauth2_scheme(f"{PREFIX}/oauth2/token"),
                "clientBasic": BASIC_SCHEME,
            },
            "schemas": {
                "Envelope": _object({"code": _INT, "message": _STR, "result": {"nullable": True}}),
                "Condition": _object(
                    {
                        "fact": _STR,
                        "op": {"type": "string", "enum": ["==", "!=", ">=", "<=", "in"]},
                        "value": {"description": "number, boolean, string, or a list for 'in'"},
                        "text": _STR,
                    }
                ),
                "Item": _object(
                    {
                        "itemCode": _STR,
                        "itemName": _STR,
                        "itemNameEn": _STR,
                        "itemDesc": _STR,
                        "itemType": _STR,
                        "channelList": {
                            "type": "array",
                            "items": {"type": "string", "enum": list(CHANNELS.values())},
                        },
                        "feeFen": _INT,
                        "limitDays": _INT,
                        "materialList": {"type": "array", "items": _STR},
                        "modifyTime": _MS,
                        "conditions": {"type": "array", "items": {"$ref": "#/components/schemas/Condition"}},
                    }
                ),
                "Case": _object(
                    {
                        "caseNo": _STR,
                        "itemCode": _STR,
                        "state": state,
                        "applyTime": _MS,
                        "updateTime": _MS,
                        "nextStep": _STR,
                        "expectTime": _MS,
                        "flowList": {
                            "type": "array",
                            "items": _object({"time": _MS, "state": state, "remark": _STR}),
                        },
                    },
                    nullable=("nextStep", "expectTime"),
                ),
            },
        },
    }


def build(world: World) -> Mounted:
    """Token endpoint, the two listings and the description, sharing one token store."""
    tokens = TokenStore(TOKEN_TTL_S)
    services = [service_item(s) for s in world.services_of("education")]
    submissions = Submissions(world, "education")

    guarded = auth.guard(  # handlers behind the bearer-token check
        tokens.bearer_ok, lambda: envelope(None, code=401, message="token无效或已过期", status=401)
    )

    async def list_services(request: web.Request) -> web.StreamResponse:
        return page_of(request, services)

    async def cases(request: web.Request) -> web.StreamResponse:
        id_card = request.query.get("idCard", "").strip()
        if not id_card:
            return envelope(None, code=400, message="参数错误：idCard不能为空", status=400)
        mine = [case_item(c) for c in world.cases_of_resident(id_card) if c.department == "education"]
        mine += [case_item(c) for c in submissions.cases_of(id_card)]
        return page_of(request, mine)

    async def apply(request: web.Request) -> web.StreamResponse:
        """A new application; the `Idempotency-Key` header makes a repeated one answer the same case."""
        body = await _json_body(request)
        if body is None:
            return envelope(None, code=400, message="参数错误：请求体须为JSON对象", status=400)
        outcome = submissions.submit(
            request.headers.get("Idempotency-Key"),
            str(body.get("idCard", "")),
            str(body.get("itemCode", "")),
            [str(m) for m in body.get("materialList") or []],
            {str(k): str(v) for k, v in (body.get("formData") or {}).items()},
        )
        if isinstance(outcome, Accepted):
            return envelope(case_item(outcome.case))
        status = 409 if outcome.conflict else 400
        return envelope(None, code=status, message=outcome.reason, status=status)

    issue_token = auth.token_endpoint(tokens, CLIENT_ID, CLIENT_SECRET, realm=None)
    return Mounted(
        routes=[
            web.post(
                f"{PREFIX}/oauth2/token",
                issue_token,
            ),
            web.get(f"{PREFIX}/api/v1/services", guarded(list_services)),
            web.get(f"{PREFIX}/api/v1/cases", guarded(cases)),
            web.post(f"{PREFIX}/api/v1/applications", guarded(apply)),
            web.get(f"{PREFIX}/openapi.json", served(openapi())),
        ],
        fail=system_error,
        expire_tokens=tokens.expire_all,
        reset=tokens.reset,
    )


DEPARTMENT = Department(
    id="education",
    name_zh="教育局",
    name_en="Education Bureau",
    prefix=PREFIX,
    capabilities=("catalog", "cases", "applications"),
    description_path=f"{PREFIX}/openapi.json",
    build=build,
)
