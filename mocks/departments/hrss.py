"""人力资源和社会保障局 — the HR & social-security catalogue, a CSV export behind OAuth2.

Its habits: OAuth2 client-credentials tokens that really expire, a GB18030-encoded CSV with Chinese
column headers, `offset`/`limit` paging with the total in `X-Total-Count`, `|`-separated lists and epoch
millisecond timestamps, and the eligibility criteria as a cell of compact JSON.  Errors are JSON in
OAuth2 style; an overloaded server answers with a Tomcat error page.
"""

from __future__ import annotations

import csv
import io

from aiohttp import web

from mocks import auth
from mocks.auth import TokenStore
from mocks.clock import epoch_ms
from mocks.criteria import criteria_compact_json
from mocks.csv_export import service_cells
from mocks.departments import Department, Mounted, parse_bounded_int
from mocks.openapi import BASIC_SCHEME, oauth2_scheme, query_param, served
from mocks.responses import json_response
from mocks.world import Channel, Service, World

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
        },
        "components": {
            "securitySchemes": {
                "oauth2": oauth2_scheme(f"{PREFIX}/oauth/token"),
                "clientBasic": BASIC_SCHEME,
            }
        },
    }


def build(world: World) -> Mounted:
    """Token endpoint, CSV export and description, sharing one token store."""
    tokens = TokenStore(TOKEN_TTL_S)
    rows = [csv_row(s) for s in world.services_of("hrss")]

    async def export(request: web.Request) -> web.StreamResponse:
        if not tokens.bearer_ok(request):
            return json_response(
                {"error": "invalid_token"}, 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
            )
        offset = parse_bounded_int(request.query.get("offset"), 0, 0, 999_999_999)
        limit = parse_bounded_int(request.query.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
        if offset is None or limit is None:
            problem = f"offset must be >= 0 and limit between 1 and {MAX_LIMIT}"
            return json_response({"error": "invalid_request", "error_description": problem}, 400)
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(COLUMNS)
        writer.writerows(rows[offset : offset + limit])
        return web.Response(
            body=out.getvalue().encode(ENCODING),
            headers={"Content-Type": f"text/csv; charset={ENCODING}", "X-Total-Count": str(len(rows))},
        )

    issue_token = auth.token_endpoint(tokens, CLIENT_ID, CLIENT_SECRET, realm="hrss")
    return Mounted(
        routes=[
            web.post(
                f"{PREFIX}/oauth/token",
                issue_token,
            ),
            web.get(f"{PREFIX}/export/services.csv", export),
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
    capabilities=("catalog",),
    description_path=f"{PREFIX}/openapi.json",
    build=build,
)
