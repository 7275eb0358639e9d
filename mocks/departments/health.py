"""卫生健康委 — the health commission: its catalogue and residents' cases, modern-looking JSON with
HMAC-signed requests.

Its habits: bare camelCase JSON, opaque cursor paging (cursors are signed, so a tampered one is
caught), times as epoch milliseconds, case statuses as camelCase words (`pending` ... `cancelled`),
and every request signed with HMAC-SHA256 over method, path, canonical query and a timestamp that
must be within five minutes of the server clock.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from typing import Any

from aiohttp import web

from mocks import auth
from mocks.clock import epoch_ms
from mocks.criteria import criteria_json
from mocks.cursors import Cursors
from mocks.departments import Department, Mounted, parse_bounded_int
from mocks.openapi import api_key_scheme, query_param, served
from mocks.responses import json_response
from mocks.world import Case, CaseStatus, Channel, Service, World, is_valid_id_number

PREFIX = "/health"
APP_ID = "onestop"
HMAC_SECRET = b"health-hmac-secret"
MAX_LIMIT = 100
DEFAULT_LIMIT = 20

CHANNELS = {
    Channel.WINDOW: "ONSITE",
    Channel.ONLINE: "ONLINE",
    Channel.APP: "APP",
    Channel.WECHAT: "WECHAT",
    Channel.KIOSK: "KIOSK",
}


STATUSES = {
    CaseStatus.SUBMITTED: "pending",
    CaseStatus.ACCEPTED: "accepted",
    CaseStatus.IN_REVIEW: "inProgress",
    CaseStatus.NEEDS_INFO: "awaitingDocuments",
    CaseStatus.APPROVED: "approved",
    CaseStatus.REJECTED: "declined",
    CaseStatus.COMPLETED: "closed",
    CaseStatus.WITHDRAWN: "cancelled",
}


def internal_error() -> web.Response:
    """How this system fails: HTTP 500 with its usual error object."""
    return json_response({"error": "internal_error"}, 500)


def signature(
    method: str, path: str, query: Mapping[str, str], timestamp: str, secret: bytes = HMAC_SECRET
) -> str:
    """The hex HMAC-SHA256 a client must send in `X-Signature` (exported for tests and docs)."""
    return auth.signature(method, path, query, timestamp, secret)


def signed_correctly(request: web.Request, clock: Callable[[], float] = time.time) -> bool:
    return auth.signed_correctly(request, APP_ID, HMAC_SECRET, clock)


def item(service: Service) -> dict[str, Any]:
    """One service in the commission's camelCase vocabulary."""
    return {
        "serviceCode": service.code,
        "nameZh": service.name_zh,
        "nameEn": service.name_en,
        "description": service.description,
        "category": service.category,
        "channels": [CHANNELS[c] for c in service.channels],
        "feeFen": service.fee_fen,
        "processingDays": service.processing_days,
        "requiredDocuments": list(service.documents),
        "lastModified": epoch_ms(service.updated_at),
        "eligibility": criteria_json(service.criteria),
    }


def case_item(case: Case) -> dict[str, Any]:
    """One case in the commission's camelCase vocabulary; dates as `yyyy-MM-dd`, times as epoch ms."""
    return {
        "caseId": case.ref,
        "serviceCode": case.service,
        "status": STATUSES[case.status],
        "submittedAt": epoch_ms(case.submitted_at),
        "lastModified": epoch_ms(case.updated_at),
        "nextStep": case.next_action,
        "expectedDate": None if case.expected_completion is None else case.expected_completion.isoformat(),
        "timeline": [
            {"at": epoch_ms(e.at), "status": STATUSES[e.status], "note": e.note_zh} for e in case.history
        ],
    }


def openapi() -> dict[str, Any]:
    """The OpenAPI 3 description of exactly the routes above."""
    error = {
        "application/json": {
            "schema": {"type": "object", "required": ["error"], "properties": {"error": {"type": "string"}}}
        }
    }
    service_ref = {"$ref": "#/components/schemas/Service"}
    string_list = {"type": "array", "items": {"type": "string"}}
    paging = [
        query_param(
            "limit", {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": DEFAULT_LIMIT}
        ),
        query_param("cursor", {"type": "string"}, "opaque nextCursor of the previous page"),
    ]

    def page_of(item: dict[str, Any]) -> dict[str, Any]:
        """The 200 answer of a cursor-paginated listing of `item`s."""
        properties = {
            "items": {"type": "array", "items": item},
            "nextCursor": {"type": "string", "nullable": True},
        }
        schema = {"type": "object", "required": ["items", "nextCursor"], "properties": properties}
        return {"description": "a page", "content": {"application/json": {"schema": schema}}}

    return {
        "openapi": "3.0.3",
        "info": {
            "title": "浦东新区卫生健康委服务目录",
            "version": "2.0.0",
            "description": "Every request is signed: X-Signature = hex(HMAC-SHA256(secret, "
            "METHOD\\npath\\ncanonical_query\\ntimestamp)), canonical_query = "
            "urlencode(sorted(query)); X-Timestamp within 300 s of server time.",
        },
        "servers": [{"url": PREFIX}],
        "security": [{"appId": [], "timestamp": [], "signature": []}],
        "paths": {
            "/v2/services": {
                "get": {
                    "summary": "服务事项 (services), cursor-paginated",
                    "parameters": paging,
                    "responses": {
                        "200": page_of(service_ref),
                        "400": {"description": "bad_cursor or bad_limit", "content": error},
                        "401": {"description": "bad_signature", "content": error},
                    },
                }
            },
            "/v2/cases": {
                "get": {
                    "summary": "a resident's cases (办件), cursor-paginated; statuses: "
                    + ", ".join(f"{w} ({c.value})" for c, w in STATUSES.items()),
                    "parameters": [
                        query_param("idCard", {"type": "string", "pattern": r"^\d{17}[\dX]$"}),
                        *paging,
                    ],
                    "responses": {
                        "200": page_of({"$ref": "#/components/schemas/Case"}),
                        "400": {"description": "bad_id_card, bad_cursor or bad_limit", "content": error},
                        "401": {"description": "bad_signature", "content": error},
                    },
                }
            },
        },
        "components": {
            "securitySchemes": {
                "appId": api_key_scheme("X-App-Id"),
                "timestamp": api_key_scheme("X-Timestamp"),
                "signature": api_key_scheme("X-Signature"),
            },
            "schemas": {
                "Service": {
                    "type": "object",
                    "required": [
                        "serviceCode",
                        "nameZh",
                        "nameEn",
                        "description",
                        "category",
                        "channels",
                        "feeFen",
                        "processingDays",
                        "requiredDocuments",
                        "lastModified",
                        "eligibility",
                    ],
                    "properties": {
                        "serviceCode": {"type": "string"},
                        "nameZh": {"type": "string"},
                        "nameEn": {"type": "string"},
                        "description": {"type": "string"},
                        "category": {"type": "string", "enum": ["MEDICAL", "PUBLIC_HEALTH", "FAMILY"]},
                        "channels": {
                            "type": "array",
                            "items": {"type": "string", "enum": list(CHANNELS.values())},
                        },
                        "feeFen": {"type": "integer"},
                        "processingDays": {"type": "integer"},
                        "requiredDocuments": string_list,
                        "lastModified": {"type": "integer", "format": "int64", "description": "epoch millis"},
                        "eligibility": {
                            "type": "array",
                            "description": "who may use the service: every criterion must hold",
                            "items": {"$ref": "#/components/schemas/Criterion"},
                        },
                    },
                },
                "Case": {
                    "type": "object",
                    "required": [
                        "caseId",
                        "serviceCode",
                        "status",
                        "submittedAt",
                        "lastModified",
                        "timeline",
                    ],
                    "properties": {
                        "caseId": {"type": "string"},
                        "serviceCode": {"type": "string"},
                        "status": {"type": "string", "enum": list(STATUSES.values())},
                        "submittedAt": {"type": "integer", "format": "int64", "description": "epoch millis"},
                        "lastModified": {"type": "integer", "format": "int64", "description": "epoch millis"},
                        "nextStep": {"type": "string", "nullable": True},
                        "expectedDate": {"type": "string", "format": "date", "nullable": True},
                        "timeline": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "required": ["at", "status", "note"],
                                "properties": {
                                    "at": {"type": "integer", "format": "int64"},
                                    "status": {"type": "string", "enum": list(STATUSES.values())},
                                    "note": {"type": "string"},
                                },
                            },
                        },
                    },
                },
                "Criterion": {
                    "type": "object",
                    "required": ["fact", "op", "value", "text"],
                    "properties": {
                        "fact": {"type": "string", "description": "canonical fact, e.g. age"},
                        "op": {"type": "string", "enum": ["==", "!=", ">=", "<=", "in"]},
                        "value": {"description": "integer, boolean, string, or a list of strings for 'in'"},
                        "text": {"type": "string"},
                    },
                },
            },
        },
    }


def build(world: World) -> Mounted:
    """The signed services and cases listings and the description."""
    items = [item(s) for s in world.services_of("health")]
    cases: dict[str, list[dict[str, Any]]] = {}
    for case in world.cases_of("health"):
        cases.setdefault(case.resident, []).append(case_item(case))
    cursors = Cursors(b"health-cursor-" + str(world.seed).encode())

    def page(request: web.Request, listed: list[dict[str, Any]]) -> web.Response:
        limit = parse_bounded_int(request.query.get("limit"), DEFAULT_LIMIT, 1, MAX_LIMIT)
        if limit is None:
            return json_response({"error": "bad_limit"}, 400)
        raw_cursor = request.query.get("cursor")
        offset = 0 if raw_cursor is None else cursors.decode(raw_cursor)
        if offset is None:
            return json_response({"error": "bad_cursor"}, 400)
        end = offset + limit
        next_cursor = cursors.encode(end) if end < len(listed) else None
        return json_response({"items": listed[offset:end], "nextCursor": next_cursor})

    async def services(request: web.Request) -> web.StreamResponse:
        if not signed_correctly(request):
            return json_response({"error": "bad_signature"}, 401)
        return page(request, items)

    async def list_cases(request: web.Request) -> web.StreamResponse:
        if not signed_correctly(request):
            return json_response({"error": "bad_signature"}, 401)
        id_card = (request.query.get("idCard") or "").upper()
        if not is_valid_id_number(id_card):
            return json_response({"error": "bad_id_card"}, 400)
        return page(request, cases.get(id_card, []))

    return Mounted(
        routes=[
            web.get(f"{PREFIX}/v2/services", services),
            web.get(f"{PREFIX}/v2/cases", list_cases),
            web.get(f"{PREFIX}/openapi.json", served(openapi())),
        ],
        fail=internal_error,
    )


DEPARTMENT = Department(
    id="health",
    name_zh="卫生健康委",
    name_en="Health Commission",
    prefix=PREFIX,
    capabilities=("catalog", "cases"),
    description_path=f"{PREFIX}/openapi.json",
    build=build,
)
