"""司法局 — the justice bureau's open catalogue: public data, so no auth at all.

Its habits: bare camelCase JSON from a Spring Boot service, keyset cursor paging (`paging.next` is
an opaque token naming the last item sent; the next page starts after it), epoch *seconds* for dates,
and Spring's own error object (`{status, error, message, path}`) for bad requests and failures.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web

from mocks.criteria import criteria_json
from mocks.cursors import b64url, from_b64url
from mocks.departments import Department, Mounted, parse_bounded_int
from mocks.openapi import (
    CRITERION_SCHEMA,
    Schema,
    integer,
    json_content,
    object_schema,
    query_param,
    served,
    string,
    string_list,
)
from mocks.responses import json_response
from mocks.world import Channel, Service, World

PREFIX = "/justice"
SERVICES_PATH = f"{PREFIX}/open/v1/services"
MAX_SIZE = 50
DEFAULT_SIZE = 10

CHANNELS = {
    Channel.WINDOW: "counter",
    Channel.ONLINE: "web",
    Channel.APP: "app",
    Channel.WECHAT: "wechat",
    Channel.KIOSK: "kiosk",
}


def spring_error(status: int, error: str, message: str, path: str) -> web.Response:
    """Spring Boot's default error body."""
    return json_response({"status": status, "error": error, "message": message, "path": path}, status)


def unavailable() -> web.Response:
    """How this system fails: 503 from the application, in Spring's shape."""
    return spring_error(503, "Service Unavailable", "数据库连接池已满，请稍后重试", SERVICES_PATH)


def item(service: Service) -> dict[str, Any]:
    """One service in the bureau's camelCase vocabulary."""
    return {
        "code": service.code,
        "title": service.name_zh,
        "titleEn": service.name_en,
        "summary": service.description,
        "type": service.category,
        "channels": [CHANNELS[c] for c in service.channels],
        "feeFen": service.fee_fen,
        "workingDays": service.processing_days,
        "requiredMaterials": list(service.documents),
        "updatedAt": int(service.updated_at.timestamp()),
        "eligibility": criteria_json(service.criteria),
    }


def encode_cursor(code: str) -> str:
    """The opaque token for "after the item with this code"."""
    return b64url(code.encode())


def decode_cursor(cursor: str, codes: list[str]) -> int | None:
    """Where the page after `cursor` starts in `codes`, or `None` when it names no item of ours."""
    raw = from_b64url(cursor)
    if raw is None:
        return None
    try:
        code = raw.decode()
    except UnicodeDecodeError:
        return None
    return codes.index(code) + 1 if code in codes else None


def openapi() -> Schema:
    """The OpenAPI 3 description of exactly the route below."""
    error = json_content(
        object_schema(
            {
                "status": integer("HTTP status"),
                "error": string("reason phrase"),
                "message": string("what went wrong"),
                "path": string("request path"),
            }
        )
    )
    service = object_schema(
        {
            "code": string("事项编码, e.g. SF-001"),
            "title": string("名称"),
            "titleEn": string("英文名称"),
            "summary": string("说明"),
            "type": string("类别"),
            "channels": {"type": "array", "items": {"type": "string", "enum": list(CHANNELS.values())}},
            "feeFen": integer("收费 (fen)"),
            "workingDays": integer("办理时限 (working days)"),
            "requiredMaterials": string_list("申请材料"),
            "updatedAt": {"type": "integer", "format": "int64", "description": "epoch seconds"},
            "eligibility": {"type": "array", "items": {"$ref": "#/components/schemas/Criterion"}},
        }
    )
    page = object_schema(
        {
            "data": {"type": "array", "items": {"$ref": "#/components/schemas/Service"}},
            "paging": object_schema({"next": {"type": "string", "nullable": True}}),
        }
    )
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "浦东新区司法局开放数据接口",
            "version": "1.0.0",
            "description": "Public catalogue, no authentication. Follow paging.next until it is null.",
        },
        "servers": [{"url": PREFIX}],
        "paths": {
            "/open/v1/services": {
                "get": {
                    "summary": "服务事项 (services), cursor-paginated",
                    "parameters": [
                        query_param("cursor", {"type": "string"}, "paging.next of the previous page"),
                        query_param(
                            "size",
                            {"type": "integer", "minimum": 1, "maximum": MAX_SIZE, "default": DEFAULT_SIZE},
                            "items per page",
                        ),
                    ],
                    "responses": {
                        "200": {"description": "a page", "content": json_content(page)},
                        "400": {"description": "bad cursor or size", "content": error},
                        "503": {"description": "temporarily unavailable", "content": error},
                    },
                }
            }
        },
        "components": {"schemas": {"Service": service, "Criterion": CRITERION_SCHEMA}},
    }


def build(world: World) -> Mounted:
    """The cursor-paged catalogue and its description."""
    services = world.services_of("justice")
    items = [item(s) for s in services]
    codes = [s.code for s in services]

    async def list_services(request: web.Request) -> web.StreamResponse:
        size = parse_bounded_int(request.query.get("size"), DEFAULT_SIZE, 1, MAX_SIZE)
        if size is None:
            return spring_error(400, "Bad Request", f"size must be between 1 and {MAX_SIZE}", request.path)
        cursor = request.query.get("cursor")
        start = 0 if cursor is None else decode_cursor(cursor, codes)
        if start is None:
            return spring_error(400, "Bad Request", "invalid cursor", request.path)
        page = items[start : start + size]
        end = start + len(page)
        next_cursor = encode_cursor(codes[end - 1]) if page and end < len(items) else None
        return json_response({"data": page, "paging": {"next": next_cursor}})

    return Mounted(
        routes=[web.get(SERVICES_PATH, list_services), web.get(f"{PREFIX}/openapi.json", served(openapi()))],
        fail=unavailable,
    )


DEPARTMENT = Department(
    id="justice",
    name_zh="司法局",
    name_en="Justice Bureau",
    prefix=PREFIX,
    capabilities=("catalog",),
    description_path=f"{PREFIX}/openapi.json",
    build=build,
)
