"""志愿服务中心 — the volunteer service centre: its services and residents' volunteer hours.

Its habits: everything is CSV in UTF-8 (no BOM), behind an API key header; the services come in
`offset`/`limit` pages with the total in `X-Total-Count`, lists inside a cell are `;`-separated,
criteria are a cell of compact JSON, dates are `yyyyMMdd`; hours are looked up in batches of up to
100 ID numbers, one row per person it knows.  Errors are small `code,message` CSV documents too.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence

from aiohttp import web

from mocks import auth
from mocks.criteria import criteria_compact_json
from mocks.csv_export import service_cells
from mocks.departments import Department, Mounted, parse_bounded_int, parse_id_list
from mocks.departments.hrss import malform_csv
from mocks.openapi import api_key_scheme, query_param, served
from mocks.world import REFERENCE_DAY, Channel, Resident, Service, World

PREFIX = "/volunteer"
API_KEY = "zy-dev-key"
MAX_LIMIT = 100
DEFAULT_LIMIT = 20
MAX_BATCH = 100
DATE_FORMAT = "%Y%m%d"
CONTENT_TYPE = "text/csv; charset=utf-8"

SERVICE_COLUMNS = (
    "code",
    "name_zh",
    "name_en",
    "description",
    "category",
    "channels",
    "fee_fen",
    "processing_days",
    "documents",
    "updated",
    "criteria",
)
HOURS_COLUMNS = ("id_number", "volunteer_hours", "star_level", "updated")
CHANNELS = {
    Channel.WINDOW: "station",
    Channel.ONLINE: "web",
    Channel.APP: "app",
    Channel.WECHAT: "wechat",
    Channel.KIOSK: "kiosk",
}
#: Hours needed for each star of the national volunteer rating (一星 100 h .. 五星 1500 h).
STAR_HOURS = (100, 300, 600, 1000, 1500)


def to_csv(header: Sequence[str], rows: Iterable[Sequence[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _csv(body: bytes, status: int = 200, headers: dict[str, str] | None = None) -> web.Response:
    return web.Response(body=body, status=status, headers={"Content-Type": CONTENT_TYPE, **(headers or {})})


def error(status: int, message: str) -> web.Response:
    """The centre's error document: a one-row `code,message` CSV."""
    return _csv(to_csv(("code", "message"), [(str(status), message)]), status)


def server_error() -> web.Response:
    """How this system fails: HTTP 500 with its error CSV."""
    return error(500, "系统繁忙")


def star_level(hours: int) -> int:
    """Stars earned by `hours` of service (0 below 100 hours)."""
    return sum(1 for needed in STAR_HOURS if hours >= needed)


def service_row(service: Service) -> list[str]:
    """One service as a row of the export."""
    return service_cells(
        service,
        CHANNELS,
        joiner=";",
        updated=service.updated_at.strftime(DATE_FORMAT),
        criteria=criteria_compact_json(service.criteria),
    )


def hours_row(resident: Resident) -> list[str]:
    """One person's record: hours served, stars, and the day the record was last settled."""
    hours = resident.volunteer_hours
    return [resident.id_number, str(hours), str(star_level(hours)), REFERENCE_DAY.strftime(DATE_FORMAT)]


def parse_ids(raw: str | None) -> list[str] | str:
    """The ID numbers of an hours query, in order without repeats, or why they are refused."""
    return parse_id_list(
        raw,
        MAX_BATCH,
        missing="ids is required",
        too_many=f"at most {MAX_BATCH} ids per request",
        malformed="ids must be 18-character ID numbers",
    )


def openapi() -> dict[str, object]:
    """The OpenAPI 3 description of exactly the routes below."""
    csv_error = {CONTENT_TYPE: {"schema": {"type": "string", "description": "code,message"}}}

    def csv_get(
        summary: str, columns: Sequence[str], parameters: list[dict[str, object]], total: bool
    ) -> dict[str, object]:
        headers = {"X-Total-Count": {"schema": {"type": "integer"}}} if total else {}
        return {
            "get": {
                "summary": summary,
                "parameters": parameters,
                "responses": {
                    "200": {
                        "description": "header row (" + ",".join(columns) + "), then one row per item",
                        "headers": headers,
                        "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
                    },
                    "400": {"description": "bad parameters", "content": csv_error},
                    "401": {"description": "missing or wrong X-Api-Key", "content": csv_error},
                },
            }
        }

    def integer(name: str, low: int, high: int | None, default: int) -> dict[str, object]:
        schema: dict[str, object] = {"type": "integer", "minimum": low, "default": default}
        if high is not None:
            schema["maximum"] = high
        return query_param(name, schema)

    ids = {
        "name": "ids",
        "in": "query",
        "required": True,
        "description": f"1 to {MAX_BATCH} ID numbers, comma-separated; unknown ones get no row",
        "schema": {"type": "string"},
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "浦东新区志愿服务中心数据导出",
            "version": "1.0.7",
            "description": "CSV in UTF-8 without BOM. Services: channels and documents ';'-separated "
            "(channels: " + "|".join(CHANNELS.values()) + "), updated yyyyMMdd, criteria as compact "
            "JSON [{fact, op, value, text}]. Hours: star_level 0-5.",
        },
        "servers": [{"url": PREFIX}],
        "security": [{"apiKey": []}],
        "paths": {
            "/csv/services": csv_get(
                "服务项目 (services)",
                SERVICE_COLUMNS,
                [integer("offset", 0, None, 0), integer("limit", 1, MAX_LIMIT, DEFAULT_LIMIT)],
                total=True,
            ),
            "/csv/hours": csv_get("志愿服务时长 (volunteer hours, batch)", HOURS_COLUMNS, [ids], total=False),
        },
        "components": {"securitySchemes": {"apiKey": api_key_scheme("X-Api-Key")}},
    }


def build(world: World) -> Mounted:
    """The services export, the hours lookup and the description."""
    rows = [service_row(s) for s in world.services_of("volunteer")]

    guarded = auth.guard(
        lambda request: auth.api_key_ok(request, API_KEY), lambda: error(401, "invalid api key")
    )

    @guarded
    async def services(request: web.Request) -> web.StreamResponse:
        offset = parse_bounded_int(request.query.get("offset"), 0, 0, 999_999_999)
        limit = parse_bounded_int(request.query.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
        if offset is None or limit is None:
            return error(400, f"offset must be >= 0 and limit between 1 and {MAX_LIMIT}")
        body = to_csv(SERVICE_COLUMNS, rows[offset : offset + limit])
        return _csv(body, headers={"X-Total-Count": str(len(rows))})

    @guarded
    async def hours(request: web.Request) -> web.StreamResponse:
        ids = parse_ids(request.query.get("ids"))
        if isinstance(ids, str):
            return error(400, ids)
        known = (world.resident(i) for i in ids)
        return _csv(to_csv(HOURS_COLUMNS, [hours_row(r) for r in known if r is not None]))

    return Mounted(
        routes=[
            web.get(f"{PREFIX}/csv/services", services),
            web.get(f"{PREFIX}/csv/hours", hours),
            web.get(f"{PREFIX}/openapi.json", served(openapi())),
        ],
        fail=server_error,
        malform=malform_csv,
    )


DEPARTMENT = Department(
    id="volunteer",
    name_zh="志愿服务中心",
    name_en="Volunteer Service Centre",
    prefix=PREFIX,
    capabilities=("catalog", "facts"),
    description_path=f"{PREFIX}/openapi.json",
    build=build,
)
