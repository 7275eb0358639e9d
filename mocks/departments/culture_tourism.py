"""文化体育和旅游局 — the culture, sports and tourism bureau: its catalogue as one CSV file.

Its habits: a spreadsheet export saved "as CSV UTF-8" by office software, so the file starts with a
byte-order mark; no authentication, no paging; dates as `yyyy-MM-dd`; channels and documents
`;`-separated; eligibility criteria as compact JSON inside a CSV column.  When it fails, the nginx in
front answers with its own HTML error page.
"""

from __future__ import annotations

import csv
import io
from typing import Any

from aiohttp import web

from mocks.criteria import criteria_compact_json
from mocks.csv_export import service_cells
from mocks.departments import Department, Mounted
from mocks.openapi import served
from mocks.world import Channel, Service, World

PREFIX = "/culture-tourism"
BOM = "\ufeff"
COLUMNS = (
    "code",
    "name",
    "name_en",
    "description",
    "category",
    "channels",
    "fee_fen",
    "days",
    "documents",
    "updated",
    "criteria",
)
CHANNELS = {
    Channel.WINDOW: "现场",
    Channel.ONLINE: "网站",
    Channel.APP: "App",
    Channel.WECHAT: "微信公众号",
    Channel.KIOSK: "自助终端",
}
CONTENT_TYPE = "text/csv; charset=utf-8"


def nginx_500() -> web.Response:
    """How this system fails: the reverse proxy's own error page."""
    page = (
        "<html>\r\n<head><title>500 Internal Server Error</title></head>\r\n<body>\r\n"
        "<center><h1>500 Internal Server Error</h1></center>\r\n<hr><center>nginx/1.12.2</center>\r\n"
        "</body>\r\n</html>\r\n"
    )
    return web.Response(text=page, status=500, content_type="text/html")


def malform_csv(body: bytes) -> bytes:
    """Cut the file inside a row and end on a byte that is never UTF-8 (0xFF): decoding fails, so a
    gateway cannot mistake the cut file for a shorter catalogue."""
    cut = max(1, len(body) // 2)
    while cut > 1 and body[cut - 1 : cut] in (b"\n", b"\r"):
        cut -= 1
    return body[:cut] + b"\xff"


def csv_row(service: Service) -> list[str]:
    """One service as a row of the export."""
    return service_cells(
        service,
        CHANNELS,
        joiner=";",
        updated=service.updated_at.date().isoformat(),
        criteria=criteria_compact_json(service.criteria),
    )


def services_csv(services: tuple[Service, ...]) -> bytes:
    """The whole export: BOM, header row, one row per service, CRLF line ends (as spreadsheets write)."""
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    writer.writerows(csv_row(s) for s in services)
    return (BOM + out.getvalue()).encode("utf-8")


def openapi() -> dict[str, Any]:
    """The OpenAPI 3 description of exactly the route served."""
    channels = "|".join(CHANNELS.values())
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "浦东新区文化体育和旅游局服务事项导出",
            "version": "1.0.0",
            "description": "Culture, sports and tourism services as CSV (UTF-8 with BOM). Columns: "
            + ",".join(COLUMNS)
            + f". channels ';'-separated from {channels}; documents ';'-separated; fee_fen in fen; "
            "days = processing days; updated yyyy-MM-dd; criteria = compact JSON list of "
            "{fact, op, value, text}.",
        },
        "servers": [{"url": PREFIX}],
        "paths": {
            "/data/services.csv": {
                "get": {
                    "summary": "服务事项 (services), the whole file",
                    "security": [],
                    "responses": {
                        "200": {
                            "description": "header row, then one row per service",
                            "content": {CONTENT_TYPE: {"schema": {"type": "string"}}},
                        },
                        "500": {
                            "description": "the proxy's HTML error page",
                            "content": {"text/html": {"schema": {"type": "string"}}},
                        },
                    },
                }
            }
        },
    }


def build(world: World) -> Mounted:
    """The export and its description, both rendered once."""
    document = services_csv(world.services_of("culture-tourism"))

    async def services(_request: web.Request) -> web.StreamResponse:
        return web.Response(body=document, headers={"Content-Type": CONTENT_TYPE})

    return Mounted(
        routes=[
            web.get(f"{PREFIX}/data/services.csv", services),
            web.get(f"{PREFIX}/openapi.json", served(openapi())),
        ],
        fail=nginx_500,
        malform=malform_csv,
    )


DEPARTMENT = Department(
    id="culture-tourism",
    name_zh="文化体育和旅游局",
    name_en="Culture, Sports and Tourism Bureau",
    prefix=PREFIX,
    capabilities=("catalog",),
    description_path=f"{PREFIX}/openapi.json",
    build=build,
)
