"""市场监督管理局 — market regulation: its services and residents' cases, behind OAuth2.

Its habits: a `{success, errorCode, errorMsg, data}` JSON envelope in which failures are HTTP 200 with
`success: false`, camelCase fields, OAuth2 client-credentials tokens whose client credentials must
come as HTTP Basic (form fields are refused), `offset`/`limit` paging (`data: {total, rows}`, at most
100), ISO 8601 dates, and case statuses as integer codes (10 submitted ... 90 withdrawn).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from aiohttp import web

from mocks import auth
from mocks.applications import Accepted, Submissions, application_path, json_object
from mocks.auth import TokenStore
from mocks.criteria import criteria_json
from mocks.departments import Department, Mounted, parse_bounded_int
from mocks.openapi import (
    BASIC_SCHEME,
    CRITERION_SCHEMA,
    Schema,
    integer,
    json_content,
    oauth2_scheme,
    object_schema,
    query_param,
    served,
    string,
    string_list,
)
from mocks.responses import json_response
from mocks.world import Case, CaseStatus, Channel, Service, World, is_valid_id_number

PREFIX = "/market-regulation"
CLIENT_ID = "onestop"
CLIENT_SECRET = "sc-secret"
TOKEN_TTL_S = 600
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_OFFSET = 999_999_999

CHANNELS = {
    Channel.WINDOW: "OFFLINE",
    Channel.ONLINE: "PC",
    Channel.APP: "APP",
    Channel.WECHAT: "WECHAT",
    Channel.KIOSK: "SELF_SERVICE",
}
STATUSES = {
    CaseStatus.SUBMITTED: 10,
    CaseStatus.ACCEPTED: 20,
    CaseStatus.IN_REVIEW: 30,
    CaseStatus.NEEDS_INFO: 35,
    CaseStatus.APPROVED: 40,
    CaseStatus.REJECTED: 50,
    CaseStatus.COMPLETED: 60,
    CaseStatus.WITHDRAWN: 90,
}

Row = dict[str, Any]


def ok(data: Any) -> web.Response:
    return json_response({"success": True, "errorCode": None, "errorMsg": None, "data": data})


def refused(
    error_code: str, message: str, status: int = 200, headers: dict[str, str] | None = None
) -> web.Response:
    """The envelope saying no; the system uses it for business failures (200) and refusals (4xx)."""
    body = {"success": False, "errorCode": error_code, "errorMsg": message, "data": None}
    return json_response(body, status, headers)


def busy() -> web.Response:
    """How this system fails: HTTP 200 with `success: false`."""
    return refused("SYS_BUSY", "系统繁忙，请稍后重试")


def service_row(service: Service) -> Row:
    """One service in the administration's camelCase vocabulary."""
    return {
        "serviceNo": service.code,
        "serviceName": service.name_zh,
        "serviceNameEn": service.name_en,
        "remark": service.description,
        "kind": service.category,
        "channels": [CHANNELS[c] for c in service.channels],
        "feeFen": service.fee_fen,
        "days": service.processing_days,
        "materials": list(service.documents),
        "lastUpdate": service.updated_at.isoformat(),
        "rules": criteria_json(service.criteria),
    }


def case_row(case: Case) -> Row:
    """One case with its events, every status as the administration's integer code."""
    deadline = case.expected_completion
    return {
        "caseId": case.ref,
        "serviceNo": case.service,
        "statusCode": STATUSES[case.status],
        "createdAt": case.submitted_at.isoformat(),
        "updatedAt": case.updated_at.isoformat(),
        "nextAction": case.next_action,
        "deadline": None if deadline is None else deadline.isoformat(),
        "events": [
            {"time": e.at.isoformat(), "statusCode": STATUSES[e.status], "comment": e.note_zh}
            for e in case.history
        ],
    }


def rows_by_resident(cases: Iterable[Case]) -> dict[str, list[Row]]:
    """Each applicant's case rows, in submission order, rendered once at start-up."""
    grouped: dict[str, list[Row]] = {}
    for case in cases:
        grouped.setdefault(case.resident, []).append(case_row(case))
    return grouped


def page_of(request: web.Request, rows: list[Row]) -> web.Response:
    """`rows` cut by `offset`/`limit`, or the administration's 400 for bad paging parameters."""
    offset = parse_bounded_int(request.query.get("offset"), 0, 0, MAX_OFFSET)
    limit = parse_bounded_int(request.query.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
    if offset is None or limit is None:
        return refused("PARAM_INVALID", f"offset必须≥0，limit必须在1到{MAX_LIMIT}之间", 400)
    return ok({"total": len(rows), "rows": rows[offset : offset + limit]})


def _invalid_token() -> web.Response:
    challenge = {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    return refused("UNAUTHORIZED", "令牌无效或已过期", 401, challenge)


def _paging_params() -> list[Schema]:
    return [
        query_param("offset", {"type": "integer", "minimum": 0, "default": 0}, "rows to skip"),
        query_param(
            "limit",
            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
            "rows per page",
        ),
    ]


def _listing(summary: str, row_ref: str, extra_params: list[Schema]) -> Schema:
    envelope_ref = {"$ref": "#/components/schemas/Envelope"}
    page = object_schema({"total": integer("总条数"), "rows": {"type": "array", "items": {"$ref": row_ref}}})
    return {
        "get": {
            "summary": summary,
            "security": [{"oauth2": []}],
            "parameters": extra_params + _paging_params(),
            "responses": {
                "200": {
                    "description": "success true; success false (e.g. SYS_BUSY) is a business failure",
                    "content": json_content({"allOf": [envelope_ref, {"properties": {"data": page}}]}),
                },
                "400": {"description": "PARAM_INVALID", "content": json_content(envelope_ref)},
                "401": {
                    "description": "UNAUTHORIZED: missing or expired token",
                    "content": json_content(envelope_ref),
                },
            },
        }
    }


def _token_path() -> Schema:
    oauth_error = json_content(
        object_schema(
            {"error": string("OAuth2 error"), "error_description": string("")}, ["error_description"]
        )
    )
    form = object_schema({"grant_type": {"type": "string", "enum": ["client_credentials"]}})
    token = object_schema(
        {
            "access_token": string("bearer token"),
            "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_in": integer("seconds"),
        }
    )
    return {
        "post": {
            "summary": "OAuth2 client-credentials token (client credentials as HTTP Basic only)",
            "security": [{"clientBasic": []}],
            "requestBody": {
                "required": True,
                "content": {"application/x-www-form-urlencoded": {"schema": form}},
            },
            "responses": {
                "200": {"description": "token", "content": json_content(token)},
                "400": {"description": "invalid_request / unsupported_grant_type", "content": oauth_error},
                "401": {"description": "invalid_client", "content": oauth_error},
            },
        }
    }


def openapi() -> Schema:
    """The OpenAPI 3 description of exactly the routes below."""
    codes = list(STATUSES.values())
    event = object_schema(
        {
            "time": string("ISO 8601"),
            "statusCode": {"type": "integer", "enum": codes},
            "comment": string("备注"),
        }
    )
    nullable_text = {"type": "string", "nullable": True}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "浦东新区市场监督管理局政务服务接口",
            "version": "3.1.0",
            "description": "Services and residents' cases. Case status codes: 10 submitted, 20 accepted, "
            "30 in review, 35 needs information, 40 approved, 50 rejected, 60 completed, 90 withdrawn.",
        },
        "servers": [{"url": PREFIX}],
        "paths": {
            "/auth/token": _token_path(),
            "/api/services": _listing("服务事项 (services)", "#/components/schemas/Service", []),
            "/api/cases": _listing(
                "办件 (a resident's cases)",
                "#/components/schemas/Case",
                [query_param("idCard", {"type": "string", "pattern": r"^\d{17}[\dX]$"}, "身份证号", True)],
            ),
            "/api/applications": application_path(
                "申请 (submit an application)",
                object_schema(
                    {
                        "idCard": string("身份证号"),
                        "serviceNo": string("事项编码"),
                        "materials": string_list("材料"),
                        "answers": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                    optional=("materials", "answers"),
                ),
                "#/components/schemas/Case",
                "X-Request-Id",
            ),
        },
        "components": {
            "securitySchemes": {
                "oauth2": oauth2_scheme(f"{PREFIX}/auth/token"),
                "clientBasic": BASIC_SCHEME,
            },
            "schemas": {
                "Envelope": object_schema(
                    {
                        "success": {"type": "boolean"},
                        "errorCode": nullable_text,
                        "errorMsg": nullable_text,
                        "data": {"nullable": True},
                    }
                ),
                "Criterion": CRITERION_SCHEMA,
                "Service": object_schema(
                    {
                        "serviceNo": string("事项编码, e.g. SC-001"),
                        "serviceName": string("名称"),
                        "serviceNameEn": string("英文名称"),
                        "remark": string("说明"),
                        "kind": string("类别"),
                        "channels": {
                            "type": "array",
                            "items": {"type": "string", "enum": list(CHANNELS.values())},
                        },
                        "feeFen": integer("收费 (fen)"),
                        "days": integer("办理时限 (working days)"),
                        "materials": string_list("申请材料"),
                        "lastUpdate": string("ISO 8601"),
                        "rules": {"type": "array", "items": {"$ref": "#/components/schemas/Criterion"}},
                    }
                ),
                "Case": object_schema(
                    {
                        "caseId": string("办件编号, e.g. SC310115-2026-00042"),
                        "serviceNo": string("事项编码"),
                        "statusCode": {"type": "integer", "enum": codes},
                        "createdAt": string("ISO 8601"),
                        "updatedAt": string("ISO 8601"),
                        "nextAction": nullable_text,
                        "deadline": nullable_text | {"description": "promised completion, ISO date"},
                        "events": {"type": "array", "items": event},
                    }
                ),
            },
        },
    }


def build(world: World) -> Mounted:
    """Token endpoint, services, cases and description, sharing one token store."""
    tokens = TokenStore(TOKEN_TTL_S)
    bearer_guarded = auth.guard(tokens.bearer_ok, _invalid_token)
    services = [service_row(s) for s in world.services_of("market-regulation")]
    cases = rows_by_resident(world.cases_of("market-regulation"))
    submissions = Submissions(world, "market-regulation")

    async def list_services(request: web.Request) -> web.StreamResponse:
        return page_of(request, services)

    async def list_cases(request: web.Request) -> web.StreamResponse:
        id_card = request.query.get("idCard")
        if not id_card:
            return refused("PARAM_MISSING", "缺少参数idCard", 400)
        if not is_valid_id_number(id_card):
            return refused("PARAM_INVALID", "idCard不是有效的身份证号", 400)
        return page_of(request, cases.get(id_card, []) + [case_row(c) for c in submissions.cases_of(id_card)])

    async def apply(request: web.Request) -> web.StreamResponse:
        """A new application; the `X-Request-Id` header makes a repeated one answer the same case."""
        body = await json_object(request)
        if body is None or not isinstance(body.get("materials") or [], list):
            return refused("PARAM_INVALID", "请求体须为JSON对象", 400)
        answers = body.get("answers") or {}
        if not isinstance(answers, dict):
            return refused("PARAM_INVALID", "answers须为对象", 400)
        outcome = submissions.submit(
            request.headers.get("X-Request-Id"),
            str(body.get("idCard", "")),
            str(body.get("serviceNo", "")),
            [str(m) for m in body.get("materials") or []],
            {str(k): str(v) for k, v in answers.items()},
        )
        if isinstance(outcome, Accepted):
            return ok(case_row(outcome.case))
        if outcome.conflict:
            return refused("REQUEST_ID_CONFLICT", outcome.reason, 409)
        return refused("PARAM_INVALID", outcome.reason, 400)

    issue_token = auth.token_endpoint(tokens, CLIENT_ID, CLIENT_SECRET, realm="scjg", form_credentials=False)
    return Mounted(
        routes=[
            web.post(
                f"{PREFIX}/auth/token",
                issue_token,
            ),
            web.get(f"{PREFIX}/api/services", bearer_guarded(list_services)),
            web.get(f"{PREFIX}/api/cases", bearer_guarded(list_cases)),
            web.post(f"{PREFIX}/api/applications", bearer_guarded(apply)),
            web.get(f"{PREFIX}/v3/api-docs", served(openapi())),
        ],
        fail=busy,
        expire_tokens=tokens.expire_all,
        reset=tokens.reset,
    )


DEPARTMENT = Department(
    id="market-regulation",
    name_zh="市场监督管理局",
    name_en="Market Regulation Administration",
    prefix=PREFIX,
    capabilities=("catalog", "cases", "applications"),
    description_path=f"{PREFIX}/v3/api-docs",
    build=build,
)
