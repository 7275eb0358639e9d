"""人力资源和社会保障局 — HR & social security: CSV exports behind OAuth2, and an application endpoint.

Its habits: OAuth2 client-credentials tokens that really expire, GB18030-encoded CSV with Chinese
column headers, `offset`/`limit` paging with the total in `X-Total-Count`, `|`-separated lists and epoch
millisecond timestamps, and anything nested (eligibility criteria, a case's history) as a cell of
compact JSON.  Residents' employment status comes from an export asked for many residents at once
(`sfzh=a|b|c`); cases from an export per resident, statuses in the bureau's own words (已申报 ...
撤件); applications (申报) are a POST of servlet-style parameters, the bureau's business serial number
`ywlsh` making a repeat answer the same case, and the case comes back as the export's CSV row.
Errors are JSON in OAuth2 style; an overloaded server answers with a Tomcat error page.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Mapping, Sequence
from typing import Any

from aiohttp import web

from mocks import auth
from mocks.applications import Accepted, Submissions
from mocks.auth import TokenStore
from mocks.clock import REFERENCE_DAY, day_ms, epoch_ms
from mocks.criteria import criteria_compact_json
from mocks.csv_export import service_cells
from mocks.departments import Department, Mounted, parse_bounded_int, parse_id_list
from mocks.openapi import BASIC_SCHEME, oauth2_scheme, query_param, served
from mocks.responses import json_response
from mocks.world import (
    Case,
    CaseStatus,
    Channel,
    EmploymentStatus,
    Resident,
    Service,
    World,
    is_valid_id_number,
)

PREFIX = "/hrss"
CLIENT_ID = "onestop"
CLIENT_SECRET = "hrss-secret"
TOKEN_TTL_S = 300
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
ENCODING = "GB18030"

COLUMNS = (
    "事项编码",
    "事项名称",
    "英文名称",
    "事项说明",
    "类别",
    "办理渠道",
    "收费标准(分)",
    "办理时限(工作日)",
    "申请材料",
    "更新时间",
    "申请条件",
)
MAX_BATCH = 50
EMPLOYMENT_COLUMNS = ("身份证号", "社会保障号", "就业状态", "更新时间")
#: 就业失业登记 as the bureau words it.
EMPLOYMENT: dict[EmploymentStatus, str] = {
    "EMPLOYED": "就业",
    "UNEMPLOYED": "失业",
    "RETIRED": "退休",
    "STUDENT": "在校学生",
    "FLEXIBLE": "灵活就业",
    "NONE": "无就业登记",
}
CASE_COLUMNS = (
    "办件编号",
    "事项编码",
    "办件状态",
    "申报时间",
    "更新时间",
    "下一步",
    "预计办结日期",
    "办理过程",
)
STATUSES = {
    CaseStatus.SUBMITTED: "已申报",
    CaseStatus.ACCEPTED: "已受理",
    CaseStatus.IN_REVIEW: "核定中",
    CaseStatus.NEEDS_INFO: "待补件",
    CaseStatus.APPROVED: "核准",
    CaseStatus.REJECTED: "不予核准",
    CaseStatus.COMPLETED: "办结",
    CaseStatus.WITHDRAWN: "撤件",
}
#: 申报 parameters: 业务流水号 (the idempotency key), 身份证号, 事项编码, 申请材料 (`|`), 表单信息 (JSON).
APPLICATION_PARAMS = ("ywlsh", "sfzh", "sxbm", "sqcl", "bdxx")

CHANNELS = {
    Channel.WINDOW: "窗口",
    Channel.ONLINE: "网上",
    Channel.APP: "APP",
    Channel.WECHAT: "微信",
    Channel.KIOSK: "自助机",
}


def tomcat_500() -> web.Response:
    """How this system fails: the application server's own error page."""
    page = (
        '<!doctype html><html lang="en"><head><title>HTTP Status 500 – Internal Server Error</title>'
        '</head><body><h1>HTTP Status 500 – Internal Server Error</h1><hr class="line" />'
        "<p><b>Type</b> Exception Report</p><p><b>Message</b> java.sql.SQLTransientConnectionException: "
        "HikariPool-1 - Connection is not available</p><h3>Apache Tomcat/8.5.35</h3></body></html>"
    )
    return web.Response(text=page, status=500, content_type="text/html", charset="utf-8")


def malform_csv(body: bytes) -> bytes:
    """Cut the CSV inside a data row and end on a lone GB18030 lead byte: the last row is short and
    a strict decoder fails, so a gateway cannot mistake it for a smaller page."""
    cut = max(1, len(body) // 2)
    while cut > 1 and body[cut - 1 : cut] in (b"\n", b"\r"):
        cut -= 1
    return body[:cut] + b'"\x81'


def csv_row(service: Service) -> list[str]:
    """One service as a row of the export."""
    return service_cells(
        service,
        CHANNELS,
        joiner="|",
        updated=str(epoch_ms(service.updated_at)),
        criteria=criteria_compact_json(service.criteria),
    )


def employment_row(resident: Resident) -> list[str]:
    """One resident's 就业失业登记 status, as of the nightly synchronisation on the reference day."""
    return [
        resident.id_number,
        resident.social_insurance_no,
        EMPLOYMENT[resident.employment_status],
        str(day_ms(REFERENCE_DAY)),
    ]


def case_row(case: Case) -> list[str]:
    """One case as a row of the cases export: times in epoch ms, the history as compact JSON."""
    history = [{"时间": epoch_ms(e.at), "状态": STATUSES[e.status], "意见": e.note_zh} for e in case.history]
    return [
        case.ref,
        case.service,
        STATUSES[case.status],
        str(epoch_ms(case.submitted_at)),
        str(epoch_ms(case.updated_at)),
        case.next_action or "",
        "" if case.expected_completion is None else str(day_ms(case.expected_completion)),
        json.dumps(history, ensure_ascii=False, separators=(",", ":")),
    ]


def csv_body(columns: Sequence[str], rows: Sequence[Sequence[str]], total: int | None = None) -> web.Response:
    """An export: header row then `rows`, in GB18030, with the total when the export pages."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(columns)
    writer.writerows(rows)
    headers = {"Content-Type": f"text/csv; charset={ENCODING}"}
    if total is not None:
        headers["X-Total-Count"] = str(total)
    return web.Response(body=out.getvalue().encode(ENCODING), headers=headers)


def invalid_request(problem: str, status: int = 400, error: str = "invalid_request") -> web.Response:
    return json_response({"error": error, "error_description": problem}, status)


def asked_ids(raw: str | None) -> list[str] | web.Response:
    """The `|`-separated ID numbers of an employment query (any case), or the 400 refusing them."""
    ids = parse_id_list(
        (raw or "").upper(),
        MAX_BATCH,
        separator="|",
        missing="sfzh is required: ID numbers separated by |",
        too_many=f"at most {MAX_BATCH} ID numbers per request",
        malformed="sfzh holds a malformed ID number",
    )
    return invalid_request(ids) if isinstance(ids, str) else ids


async def servlet_params(request: web.Request) -> Mapping[str, str]:
    """Parameters as the bureau's servlet reads them: the query string, then a form body."""
    params = dict(request.query)
    if request.content_type == "application/x-www-form-urlencoded":
        params |= {k: v for k, v in (await request.post()).items() if isinstance(v, str)}
    return params


def application_of(params: Mapping[str, str]) -> tuple[str | None, str, str, list[str], dict[str, str]] | str:
    """(key, ID number, service, documents, answers) of a 申报, or what is wrong with it."""
    try:
        answers = json.loads(params.get("bdxx") or "{}")
    except ValueError:
        return "bdxx must be a JSON object"
    if not isinstance(answers, dict):
        return "bdxx must be a JSON object"
    documents = [d for d in (params.get("sqcl") or "").split("|") if d]
    key = params.get("ywlsh") or None
    answered = {str(k): str(v) for k, v in answers.items()}
    return key, params.get("sfzh", "").upper(), params.get("sxbm", ""), documents, answered


def _csv_answer(description: str, columns: Sequence[str], paged: bool) -> dict[str, Any]:
    headers = {"X-Total-Count": {"schema": {"type": "integer"}}} if paged else {}
    return {
        "description": f"{description}; columns: {','.join(columns)}",
        "headers": headers,
        "content": {f"text/csv; charset={ENCODING}": {"schema": {"type": "string"}}},
    }


def _resident_paths(error: Any) -> dict[str, Any]:
    """The personal exports and 申报, described."""
    sfzh = {"type": "string", "pattern": r"^\d{17}[\dX]$"}
    paging = [
        query_param("offset", {"type": "integer", "minimum": 0, "default": 0}),
        query_param(
            "limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}
        ),
    ]
    words = ", ".join(f"{w} ({c})" for c, w in EMPLOYMENT.items())
    statuses = ", ".join(f"{w} ({c.value})" for c, w in STATUSES.items())
    refusals = {
        "400": {"description": "invalid_request", "content": error},
        "401": {"description": "missing, unknown or expired token", "content": error},
    }
    case_answer = _csv_answer(
        f"one row per case; 办件状态: {statuses}; times epoch ms; 办理过程 compact JSON "
        "[{时间, 状态, 意见}]",
        CASE_COLUMNS,
        paged=True,
    )
    form = {
        "type": "object",
        "required": ["sfzh", "sxbm"],
        "properties": {
            "ywlsh": {
                "type": "string",
                "maxLength": 64,
                "description": "业务流水号: the same number "
                "with the same application answers the case already made; with another: 409",
            },
            "sfzh": sfzh,
            "sxbm": {"type": "string", "description": "事项编码, one of the bureau's services"},
            "sqcl": {"type": "string", "description": "申请材料, '|'-separated"},
            "bdxx": {"type": "string", "description": "表单信息, a JSON object of answers"},
        },
    }
    return {
        "/export/employment.csv": {
            "get": {
                "summary": "就业失业登记 of 1-50 residents (unknown residents absent)",
                "security": [{"oauth2": []}],
                "parameters": [query_param("sfzh", {"type": "string"}, "ID numbers separated by |")],
                "responses": {
                    "200": _csv_answer(
                        f"one row per known resident; 就业状态: {words}", EMPLOYMENT_COLUMNS, False
                    ),
                    **refusals,
                },
            }
        },
        "/export/cases.csv": {
            "get": {
                "summary": "a resident's cases (办件)",
                "security": [{"oauth2": []}],
                "parameters": [query_param("sfzh", sfzh), *paging],
                "responses": {"200": case_answer, **refusals},
            }
        },
        "/api/shenbao": {
            "post": {
                "summary": "申报: submit an application; parameters in the query string or a form body",
                "security": [{"oauth2": []}],
                "parameters": [query_param(name, {"type": "string"}) for name in APPLICATION_PARAMS],
                "requestBody": {
                    "required": False,
                    "content": {"application/x-www-form-urlencoded": {"schema": form}},
                },
                "responses": {
                    "200": _csv_answer(
                        "the case, one row (header X-Replayed: true for a repeat)", CASE_COLUMNS, False
                    ),
                    **refusals,
                    "409": {
                        "description": "duplicate_request: ywlsh used for another application",
                        "content": error,
                    },
                },
            }
        },
    }


def openapi() -> dict[str, object]:
    """The OpenAPI 3 description of exactly the routes above."""
    error = {
        "application/json": {
            "schema": {
                "type": "object",
                "required": ["error"],
                "properties": {"error": {"type": "string"}, "error_description": {"type": "string"}},
            }
        }
    }
    form = {
        "type": "object",
        "required": ["grant_type"],
        "properties": {
            "grant_type": {"type": "string", "enum": ["client_credentials"]},
            "client_id": {"type": "string"},
            "client_secret": {"type": "string"},
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "浦东新区人社局服务事项导出接口",
            "version": "1.4.0",
            "description": "HRSS catalogue export. CSV encoded in GB18030; columns: "
            + ",".join(COLUMNS)
            + ". Lists are '|'-separated; 更新时间 is epoch milliseconds; 申请条件 is compact JSON, "
            "a list of criteria [{fact, op, value, text}] that must all hold ([] when open to all).",
        },
        "servers": [{"url": PREFIX}],
        "paths": {
            "/oauth/token": {
                "post": {
                    "summary": "OAuth2 client-credentials token",
                    "security": [{}, {"clientBasic": []}],
                    "requestBody": {
                        "required": True,
                        "content": {"application/x-www-form-urlencoded": {"schema": form}},
                    },
                    "responses": {
                        "200": {
                            "description": "token",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["access_token", "token_type", "expires_in"],
                                        "properties": {
                                            "access_token": {"type": "string"},
                                            "token_type": {"type": "string", "enum": ["Bearer"]},
                                            "expires_in": {"type": "integer", "example": TOKEN_TTL_S},
                                        },
                                    }
                                }
                            },
                        },
                        "400": {"description": "invalid_request / unsupported_grant_type", "content": error},
                        "401": {"description": "invalid_client", "content": error},
                    },
                }
            },
            "/export/services.csv": {
                "get": {
                    "summary": "服务事项导出 (services as CSV)",
                    "security": [{"oauth2": []}],
                    "parameters": [
                        query_param("offset", {"type": "integer", "minimum": 0, "default": 0}),
                        query_param(
                            "limit",
                            {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT},
                        ),
                    ],
                    "responses": {
                        "200": {
                            "description": "header row, then one row per service",
                            "headers": {"X-Total-Count": {"schema": {"type": "integer"}}},
                            "content": {f"text/csv; charset={ENCODING}": {"schema": {"type": "string"}}},
                        },
                        "400": {"description": "bad offset/limit", "content": error},
                        "401": {"description": "missing, unknown or expired token", "content": error},
                    },
                }
            },
            **_resident_paths(error),
        },
        "components": {
            "securitySchemes": {
                "oauth2": oauth2_scheme(f"{PREFIX}/oauth/token"),
                "clientBasic": BASIC_SCHEME,
            }
        },
    }


def build(world: World) -> Mounted:
    """Token endpoint, the three CSV exports, 申报 and the description, sharing one token store."""
    tokens = TokenStore(TOKEN_TTL_S)
    rows = [csv_row(s) for s in world.services_of("hrss")]
    cases: dict[str, list[list[str]]] = {}
    for case in world.cases_of("hrss"):
        cases.setdefault(case.resident, []).append(case_row(case))
    submissions = Submissions(world, "hrss")

    def refused() -> web.Response:
        return json_response(
            {"error": "invalid_token"}, 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
        )

    def paging(request: web.Request) -> tuple[int, int] | web.Response:
        offset = parse_bounded_int(request.query.get("offset"), 0, 0, 999_999_999)
        limit = parse_bounded_int(request.query.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
        if offset is None or limit is None:
            return invalid_request(f"offset must be >= 0 and limit between 1 and {MAX_LIMIT}")
        return offset, limit

    async def export(request: web.Request) -> web.StreamResponse:
        if not tokens.bearer_ok(request):
            return refused()
        page = paging(request)
        if isinstance(page, web.Response):
            return page
        offset, limit = page
        return csv_body(COLUMNS, rows[offset : offset + limit], len(rows))

    async def employment(request: web.Request) -> web.StreamResponse:
        """就业失业登记 of many residents at once; residents the bureau does not know are absent."""
        if not tokens.bearer_ok(request):
            return refused()
        ids = asked_ids(request.query.get("sfzh"))
        if isinstance(ids, web.Response):
            return ids
        known = [r for r in (world.resident(i) for i in ids) if r is not None]
        return csv_body(EMPLOYMENT_COLUMNS, [employment_row(r) for r in known])

    async def list_cases(request: web.Request) -> web.StreamResponse:
        if not tokens.bearer_ok(request):
            return refused()
        sfzh = (request.query.get("sfzh") or "").upper()
        if not is_valid_id_number(sfzh):
            return invalid_request("sfzh must be an ID number")
        page = paging(request)
        if isinstance(page, web.Response):
            return page
        offset, limit = page
        mine = cases.get(sfzh, []) + [case_row(c) for c in submissions.cases_of(sfzh)]
        return csv_body(CASE_COLUMNS, mine[offset : offset + limit], len(mine))

    async def apply(request: web.Request) -> web.StreamResponse:
        """申报: the case as a row of the cases export; `ywlsh` again answers the same case."""
        if not tokens.bearer_ok(request):
            return refused()
        form = application_of(await servlet_params(request))
        if isinstance(form, str):
            return invalid_request(form)
        key, resident, service, documents, answers = form
        outcome = submissions.submit(key, resident, service, documents, answers)
        if not isinstance(outcome, Accepted):
            if outcome.conflict:
                return invalid_request(outcome.reason, 409, "duplicate_request")
            return invalid_request(outcome.reason)
        response = csv_body(CASE_COLUMNS, [case_row(outcome.case)])
        response.headers["X-Replayed"] = "true" if outcome.replayed else "false"
        return response

    issue_token = auth.token_endpoint(tokens, CLIENT_ID, CLIENT_SECRET, realm="hrss")
    return Mounted(
        routes=[
            web.post(f"{PREFIX}/oauth/token", issue_token),
            web.get(f"{PREFIX}/export/services.csv", export),
            web.get(f"{PREFIX}/export/employment.csv", employment),
            web.get(f"{PREFIX}/export/cases.csv", list_cases),
            web.post(f"{PREFIX}/api/shenbao", apply),
            web.get(f"{PREFIX}/openapi.json", served(openapi())),
        ],
        fail=tomcat_500,
        malform=malform_csv,
        expire_tokens=tokens.expire_all,
        reset=tokens.reset,
    )


DEPARTMENT = Department(
    id="hrss",
    name_zh="人力资源和社会保障局",
    name_en="Human Resources and Social Security Bureau",
    prefix=PREFIX,
    capabilities=("catalog", "facts", "cases", "applications"),
    description_path=f"{PREFIX}/openapi.json",
    build=build,
)
