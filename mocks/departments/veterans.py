"""退役军人事务局 — veterans affairs: its services, and whether a resident is a veteran.

Its habits: bare snake_case JSON, an API key header, no paging, `yyyyMMdd` dates, and one resident
per call (`/api/veterans/{id_number}`), with 404 for a person it has no file on — so the gateway must
fan out one request per resident and read a 404 as "no record", not as a failure.
"""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web

from mocks import auth
from mocks.criteria import criteria_json
from mocks.departments import Department, Mounted
from mocks.openapi import api_key_scheme, served
from mocks.world import Channel, Resident, Service, World, is_valid_id_number

PREFIX = "/veterans"
API_KEY = "ty-dev-key"
DATE_FORMAT = "%Y%m%d"

CHANNELS = {
    Channel.WINDOW: "counter",
    Channel.ONLINE: "web",
    Channel.APP: "app",
    Channel.WECHAT: "wechat",
    Channel.KIOSK: "self_service",
}


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        text=json.dumps(payload, ensure_ascii=False),
        status=status,
        content_type="application/json",
        charset="utf-8",
    )


def server_error() -> web.Response:
    """How this system fails: HTTP 500 with its usual error object."""
    return _json({"error": "internal_error"}, 500)


def service_item(service: Service) -> dict[str, Any]:
    """One service in the bureau's snake_case vocabulary."""
    return {
        "code": service.code,
        "name_cn": service.name_zh,
        "name_en": service.name_en,
        "intro": service.description,
        "category": service.category,
        "channels": [CHANNELS[c] for c in service.channels],
        "fee_fen": service.fee_fen,
        "days": service.processing_days,
        "docs": list(service.documents),
        "updated": service.updated_at.strftime(DATE_FORMAT),
        "criteria": criteria_json(service.criteria),
    }


def veteran_record(resident: Resident) -> dict[str, Any]:
    """What the bureau's register says about one person (non-veterans have no branch or date)."""
    discharged = resident.discharge_date
    return {
        "id_number": resident.id_number,
        "is_veteran": resident.veteran,
        "service_branch": resident.veteran_branch,
        "discharge_date": None if discharged is None else discharged.strftime(DATE_FORMAT),
    }


def _refused() -> web.Response:
    return _json({"error": "unauthorized"}, 401)


_SERVICE_FIELDS = (
    "code",
    "name_cn",
    "name_en",
    "intro",
    "category",
    "channels",
    "fee_fen",
    "days",
    "docs",
    "updated",
    "criteria",
)


def openapi() -> dict[str, Any]:
    """The OpenAPI 3 description of exactly the routes below."""
    error = {
        "application/json": {
            "schema": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
        }
    }
    string, integer, strings = (
        {"type": "string"},
        {"type": "integer"},
        {"type": "array", "items": {"type": "string"}},
    )
    criterion = {
        "type": "object",
        "required": ["fact", "op", "value", "text"],
        "properties": {
            "fact": string,
            "op": {"type": "string", "enum": ["==", "!=", ">=", "<=", "in"]},
            "value": {"description": "integer, boolean, string or list of strings"},
            "text": string,
        },
    }
    service = {
        "type": "object",
        "required": list(_SERVICE_FIELDS),
        "properties": {
            "code": string,
            "name_cn": string,
            "name_en": string,
            "intro": string,
            "category": {"type": "string", "enum": ["veterans"]},
            "channels": {"type": "array", "items": {"type": "string", "enum": list(CHANNELS.values())}},
            "fee_fen": integer,
            "days": integer,
            "docs": strings,
            "updated": {"type": "string", "pattern": "^\\d{8}$", "description": "yyyyMMdd"},
            "criteria": {"type": "array", "items": {"$ref": "#/components/schemas/Criterion"}},
        },
    }
    veteran = {
        "type": "object",
        "required": ["id_number", "is_veteran", "service_branch", "discharge_date"],
        "properties": {
            "id_number": string,
            "is_veteran": {"type": "boolean"},
            "service_branch": {"type": "string", "nullable": True},
            "discharge_date": {"type": "string", "nullable": True, "description": "yyyyMMdd"},
        },
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "浦东新区退役军人事务局接口",
            "version": "1.2.0",
            "description": "Veterans affairs: services, and the veterans register one person at a time.",
        },
        "servers": [{"url": PREFIX}],
        "security": [{"apiKey": []}],
        "paths": {
            "/api/services": {
                "get": {
                    "summary": "服务事项 (services), all at once",
                    "responses": {
                        "200": {
                            "description": "every service",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["services"],
                                        "properties": {
                                            "services": {
                                                "type": "array",
                                                "items": {"$ref": "#/components/schemas/Service"},
                                            }
                                        },
                                    }
                                }
                            },
                        },
                        "401": {"description": "missing or wrong X-Api-Key", "content": error},
                    },
                }
            },
            "/api/veterans/{id_number}": {
                "get": {
                    "summary": "退役军人信息 (one person's veteran status)",
                    "parameters": [
                        {
                            "name": "id_number",
                            "in": "path",
                            "required": True,
                            "schema": {"type": "string", "pattern": "^\\d{17}[\\dX]$"},
                        }
                    ],
                    "responses": {
                        "200": {
                            "description": "the register's record",
                            "content": {
                                "application/json": {"schema": {"$ref": "#/components/schemas/Veteran"}}
                            },
                        },
                        "400": {"description": "bad_id_number", "content": error},
                        "401": {"description": "missing or wrong X-Api-Key", "content": error},
                        "404": {"description": "not_found: no such person", "content": error},
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {"apiKey": api_key_scheme("X-Api-Key")},
            "schemas": {"Service": service, "Criterion": criterion, "Veteran": veteran},
        },
    }


def build(world: World) -> Mounted:
    """The services listing, the one-person lookup and the description."""
    listing = {"services": [service_item(s) for s in world.services_of("veterans")]}

    guarded = auth.guard(lambda request: auth.api_key_ok(request, API_KEY), _refused)

    @guarded
    async def services(request: web.Request) -> web.StreamResponse:
        return _json(listing)

    @guarded
    async def veteran(request: web.Request) -> web.StreamResponse:
        id_number = request.match_info.get("id_number", "")
        if not is_valid_id_number(id_number):
            return _json({"error": "bad_id_number"}, 400)
        resident = world.resident(id_number)
        if resident is None:
            return _json({"error": "not_found"}, 404)
        return _json(veteran_record(resident))

    @guarded
    async def no_id(request: web.Request) -> web.StreamResponse:
        return _json({"error": "id_number_required"}, 400)

    return Mounted(
        routes=[
            web.get(f"{PREFIX}/api/services", services),
            web.get(f"{PREFIX}/api/veterans/{{id_number}}", veteran),
            web.get(f"{PREFIX}/api/veterans/", no_id),
            web.get(f"{PREFIX}/api/veterans", no_id),
            web.get(f"{PREFIX}/openapi.json", served(openapi())),
        ],
        fail=server_error,
    )


DEPARTMENT = Department(
    id="veterans",
    name_zh="退役军人事务局",
    name_en="Veterans Affairs Bureau",
    prefix=PREFIX,
    capabilities=("catalog", "facts"),
    description_path=f"{PREFIX}/openapi.json",
    build=build,
)
