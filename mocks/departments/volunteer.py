"""志愿服务中心 — the volunteer service centre: its services and residents' volunteer hours.

Its habits: everything is CSV in UTF-8 (no BOM), behind an API key header; the services come in
`offset`/`limit` pages with the total in `X-Total-Count`, lists inside a cell are `;`-separated,
criteria are a cell of compact JSON, dates are `yyyyMMdd`; hours are looked up in batches of up to
100 ID numbers, one row per person it knows.  Errors are small `code,message` CSV documents too.

The register of volunteers (注册志愿者) is looked up the same way, one row per registered volunteer
(whoever has served hours on record), with their volunteer number.  Hours served are reported by
POSTing a one-row CSV (`report_no,id_number,hours,served_on,activity`, hours with one decimal); the
centre files each `report_no` once: the same report again answers the receipt it gave (a replay), the
same number with other content is refused (409), and hours of somebody not registered are refused (404).
Reports live as long as the server, or until the admin reset.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime

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
VOLUNTEER_COLUMNS = ("id_number", "volunteer_no", "status", "registered")
REPORT_COLUMNS = ("report_no", "id_number", "hours", "served_on", "activity")
RECEIPT_COLUMNS = ("report_no", "id_number", "hours", "total_hours", "result")
REPORT_NO = re.compile(r"^[A-Za-z0-9_-]{8,64}$")
MAX_REPORT_HOURS = 24.0
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


def hours_row(resident: Resident, reported: float = 0.0) -> list[str]:
    """One person's record: hours served (with those reported since the world was made), stars, and
    the day the record was last settled."""
    hours = resident.volunteer_hours + int(reported)
    return [resident.id_number, str(hours), str(star_level(hours)), REFERENCE_DAY.strftime(DATE_FORMAT)]


def is_registered(resident: Resident) -> bool:
    """Registered volunteers are the people with served hours on record."""
    return resident.volunteer_hours > 0


def volunteer_row(resident: Resident) -> list[str]:
    """One registered volunteer: ID number, volunteer number, status, day registered."""
    number = "ZY" + resident.id_number[6:14] + resident.id_number[-4:]
    return [resident.id_number, number, "正常", REFERENCE_DAY.strftime(DATE_FORMAT)]


@dataclass
class HoursBook:
    """Reports of hours served, filed once per report number, kept for the life of the mock server."""

    world: World
    receipts: dict[str, tuple[tuple[str, ...], list[str]]] = field(default_factory=dict)
    added: dict[str, float] = field(default_factory=dict)

    def file(self, row: Sequence[str]) -> tuple[int, list[str] | str]:
        """(status, receipt row or the reason it is refused) for one report row."""
        if len(row) != len(REPORT_COLUMNS):
            return 400, "one row of " + ",".join(REPORT_COLUMNS) + " expected"
        number, id_number, hours_text, served_on, activity = row
        if not REPORT_NO.match(number):
            return 400, "report_no must be 8-64 letters, digits, '-' or '_'"
        seen = self.receipts.get(number)
        if seen is not None:
            if seen[0] != tuple(row):
                return 409, "report_no already used for another report"
            return 200, [*seen[1][:4], "duplicate"]
        hours = _hours(hours_text)
        if hours is None or not _day(served_on) or not activity:
            return 400, f"hours must be 0.1-{MAX_REPORT_HOURS:g}, served_on yyyyMMdd, activity given"
        resident = self.world.resident(id_number)
        if resident is None or not is_registered(resident):
            return 404, "not a registered volunteer"
        self.added[id_number] = self.added.get(id_number, 0.0) + hours
        total = resident.volunteer_hours + self.added[id_number]
        receipt = [number, id_number, f"{hours:.1f}", f"{total:.1f}", "accepted"]
        self.receipts[number] = (tuple(row), receipt)
        return 200, receipt

    def clear(self) -> None:
        """Forget every report (the admin reset): the world's hours are as seeded again."""
        self.receipts.clear()
        self.added.clear()


def _hours(text: str) -> float | None:
    try:
        hours = round(float(text), 1)
    except ValueError:
        return None
    return hours if 0.1 <= hours <= MAX_REPORT_HOURS else None


def _day(text: str) -> bool:
    try:
        datetime.strptime(text, DATE_FORMAT)
    except ValueError:
        return False
    return True


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
            "/csv/volunteers": csv_get(
                "注册志愿者 (registered volunteers, batch)", VOLUNTEER_COLUMNS, [ids], total=False
            ),
            "/csv/hours/report": {
                "post": {
                    "summary": "志愿服务时长上报 (report hours served; report_no filed once)",
                    "requestBody": {
                        "required": True,
                        "content": {
                            CONTENT_TYPE: {
                                "schema": {"type": "string", "description": ",".join(REPORT_COLUMNS)}
                            }
                        },
                    },
                    "responses": {
                        "200": {
                            "description": "receipt (" + ",".join(RECEIPT_COLUMNS) + "), result "
                            "accepted or duplicate",
                            "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
                        },
                        "400": {"description": "bad report", "content": csv_error},
                        "401": {"description": "missing or wrong X-Api-Key", "content": csv_error},
                        "404": {"description": "not a registered volunteer", "content": csv_error},
                        "409": {"description": "report_no used for another report", "content": csv_error},
                    },
                }
            },
        },
        "components": {"securitySchemes": {"apiKey": api_key_scheme("X-Api-Key")}},
    }


def build(world: World) -> Mounted:
    """The services export, the hours lookup, the volunteer register, hours reports and the description."""
    rows = [service_row(s) for s in world.services_of("volunteer")]
    book = HoursBook(world)

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
        rows = [hours_row(r, book.added.get(r.id_number, 0.0)) for r in known if r is not None]
        return _csv(to_csv(HOURS_COLUMNS, rows))

    @guarded
    async def volunteers(request: web.Request) -> web.StreamResponse:
        ids = parse_ids(request.query.get("ids"))
        if isinstance(ids, str):
            return error(400, ids)
        known = (world.resident(i) for i in ids)
        return _csv(to_csv(VOLUNTEER_COLUMNS, [volunteer_row(r) for r in known if r and is_registered(r)]))

    @guarded
    async def report(request: web.Request) -> web.StreamResponse:
        try:
            rows = list(csv.reader(io.StringIO((await request.read()).decode("utf-8"), newline="")))
        except (UnicodeDecodeError, csv.Error):
            return error(400, "the report must be CSV in UTF-8")
        if len(rows) != 2 or tuple(rows[0]) != REPORT_COLUMNS:
            return error(400, "a header row (" + ",".join(REPORT_COLUMNS) + ") and one report row expected")
        status, outcome = book.file(rows[1])
        if isinstance(outcome, str):
            return error(status, outcome)
        return _csv(to_csv(RECEIPT_COLUMNS, [outcome]))

    return Mounted(
        routes=[
            web.get(f"{PREFIX}/csv/services", services),
            web.get(f"{PREFIX}/csv/hours", hours),
            web.get(f"{PREFIX}/csv/volunteers", volunteers),
            web.post(f"{PREFIX}/csv/hours/report", report),
            web.get(f"{PREFIX}/openapi.json", served(openapi())),
        ],
        fail=server_error,
        malform=malform_csv,
        reset=book.clear,
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
