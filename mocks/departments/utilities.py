"""公用事业（水电气） — water, power and gas: their services, accounts and monthly bills.

Its habits: bare camelCase JSON behind OAuth2 client-credentials tokens that really expire, money in
fen, ISO 8601 dates, and residents known by the utilities' **own account numbers**: a resident's ID
number only finds the accounts they hold (`/api/accounts?holderIdCard=`); bills are then asked per
account, in opaque-cursor pages of at most twelve.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from aiohttp import web

from mocks import auth
from mocks.auth import TokenStore
from mocks.criteria import criteria_json
from mocks.cursors import Cursors
from mocks.departments import Department, Mounted, parse_bounded_int
from mocks.openapi import (
    BASIC_SCHEME,
    loose_criterion_schema,
    oauth2_scheme,
    object_schema,
    query_param,
    ref,
    served,
)
from mocks.responses import json_response
from mocks.world import Bill, Channel, Service, UtilityAccount, World, is_valid_id_number

PREFIX = "/utilities"
CLIENT_ID = "onestop"
CLIENT_SECRET = "gy-secret"
TOKEN_TTL_S = 300
MAX_BILLS = 12

CHANNELS = {
    Channel.WINDOW: "counter",
    Channel.ONLINE: "online",
    Channel.APP: "app",
    Channel.WECHAT: "wechatPay",
    Channel.KIOSK: "selfServiceTerminal",
}
UTILITY_NAMES = {"water": "WATER", "power": "POWER", "gas": "GAS"}


def server_error() -> web.Response:
    """How this system fails: HTTP 500 with an OAuth2-style error object."""
    return json_response({"error": "server_error", "error_description": "系统繁忙，请稍后再试"}, 500)


def _invalid_request(description: str) -> web.Response:
    return json_response({"error": "invalid_request", "error_description": description}, 400)


def _invalid_token() -> web.Response:
    return json_response(
        {"error": "invalid_token"}, 401, {"WWW-Authenticate": 'Bearer error="invalid_token"'}
    )


def service_item(service: Service) -> dict[str, Any]:
    """One service in the utilities' camelCase vocabulary."""
    return {
        "code": service.code,
        "nameZh": service.name_zh,
        "nameEn": service.name_en,
        "description": service.description,
        "category": service.category,
        "channels": [CHANNELS[c] for c in service.channels],
        "feeFen": service.fee_fen,
        "processingDays": service.processing_days,
        "documents": list(service.documents),
        "updatedAt": service.updated_at.isoformat(),
        "criteria": criteria_json(service.criteria),
    }


def account_item(account: UtilityAccount) -> dict[str, Any]:
    return {
        "accountNo": account.account_no,
        "utility": UTILITY_NAMES[account.utility],
        "householdId": account.household_id,
        "address": account.address,
    }


def bill_item(bill: Bill) -> dict[str, Any]:
    return {
        "billId": bill.id,
        "accountNo": bill.account_no,
        "utility": UTILITY_NAMES[bill.utility],
        "period": bill.period,
        "amountFen": bill.amount_fen,
        "dueDate": bill.due_date.isoformat(),
        "paid": bill.paid,
        "paidAt": None if bill.paid_at is None else bill.paid_at.isoformat(),
    }


@dataclass(frozen=True, slots=True)
class Payment:
    """A payment reported by a channel: the bill reads as paid from then on."""

    bill_id: str
    channel_txn: str
    amount_fen: int
    paid_at: datetime
    receipt_no: str


class PaymentDesk:
    """The payments reported so far, by bill and by channel transaction (cleared by admin reset)."""

    def __init__(self) -> None:
        self.by_bill: dict[str, Payment] = {}

    def reset(self) -> None:
        self.by_bill.clear()

    def bill_now(self, bill: Bill) -> Bill:
        payment = self.by_bill.get(bill.id)
        return bill if payment is None else replace(bill, paid=True, paid_at=payment.paid_at)

    def report(self, bill: Bill, txn: str, amount: int, paid_at: datetime) -> Payment | str:
        """The payment (the same one when told again), or why it is refused."""
        known = self.by_bill.get(bill.id)
        if known is not None:
            return known if known.channel_txn == txn else "bill_already_paid"
        if bill.paid:
            return "bill_already_paid"
        if amount != bill.amount_fen:
            return "amount_mismatch"
        payment = Payment(bill.id, txn, amount, paid_at, f"GY{len(self.by_bill) + 1:08d}{bill.id[-6:]}")
        self.by_bill[bill.id] = payment
        return payment


def _payment_fields(body: object) -> tuple[str, int, datetime] | str:
    """(channelTxnNo, amountFen, paidAt) from a payment report, or what is wrong with it."""
    if not isinstance(body, dict):
        return "body must be a JSON object"
    txn, amount, when = body.get("channelTxnNo"), body.get("amountFen"), body.get("paidAt")
    if not isinstance(txn, str) or not 1 <= len(txn) <= 64:
        return "channelTxnNo is required"
    if isinstance(amount, bool) or not isinstance(amount, int) or amount <= 0:
        return "amountFen must be a positive integer (fen)"
    try:
        paid_at = datetime.fromisoformat(when) if isinstance(when, str) else None
    except ValueError:
        paid_at = None
    if paid_at is None or paid_at.tzinfo is None:
        return "paidAt must be an ISO 8601 time with its offset"
    return txn, amount, paid_at


def held_by(world: World, id_number: str) -> tuple[UtilityAccount, ...]:
    """The accounts in this person's name: their household's accounts if they head it, else none."""
    resident = world.resident(id_number)
    if resident is None:
        return ()
    return tuple(a for a in world.accounts_of(resident.household_id) if a.holder == id_number)


def _listing(item: str, cursor: bool = False) -> dict[str, Any]:
    fields: dict[str, dict[str, Any]] = {"items": {"type": "array", "items": ref(item)}}
    if cursor:
        fields["nextCursor"] = {"type": "string", "nullable": True}
    return {"application/json": {"schema": object_schema(fields)}}


def _get(summary: str, parameters: list[dict[str, Any]], ok: dict[str, Any], **more: str) -> dict[str, Any]:
    error = {"application/json": {"schema": ref("Error")}}
    responses: dict[str, Any] = {
        "200": {"description": "ok", "content": ok},
        "401": {"description": "missing, unknown or expired token", "content": error},
    }
    responses.update({status: {"description": text, "content": error} for status, text in more.items()})
    return {
        "get": {
            "summary": summary,
            "security": [{"oauth2": []}],
            "parameters": parameters,
            "responses": responses,
        }
    }


def _token_path() -> dict[str, Any]:
    form = object_schema(
        {"grant_type": {"type": "string", "enum": ["client_credentials"]}}
        | {"client_id": {"type": "string"}, "client_secret": {"type": "string"}}
    )
    form["required"] = ["grant_type"]
    token = object_schema(
        {
            "access_token": {"type": "string"},
            "token_type": {"type": "string", "enum": ["Bearer"]},
            "expires_in": {"type": "integer", "example": TOKEN_TTL_S},
        }
    )
    error = {"application/json": {"schema": ref("Error")}}
    return {
        "post": {
            "summary": "OAuth2 client-credentials token (credentials by HTTP Basic or in the form)",
            "security": [{}, {"clientBasic": []}],
            "requestBody": {
                "required": True,
                "content": {"application/x-www-form-urlencoded": {"schema": form}},
            },
            "responses": {
                "200": {"description": "token", "content": {"application/json": {"schema": token}}},
                "400": {"description": "invalid_request / unsupported_grant_type", "content": error},
                "401": {"description": "invalid_client", "content": error},
            },
        }
    }


def _payment_path() -> dict[str, Any]:
    error = {"application/json": {"schema": ref("Error")}}
    report = object_schema(
        {
            "channelTxnNo": {"type": "string", "description": "the paying channel's transaction number"},
            "amountFen": {"type": "integer", "minimum": 1},
            "paidAt": {"type": "string", "format": "date-time"},
            "orderNo": {"type": "string", "description": "the channel's own order number"},
        },
        optional=("orderNo",),
    )
    receipt = object_schema({"bill": ref("Bill"), "receiptNo": {"type": "string"}})
    return {
        "post": {
            "summary": "缴费销账 (a payment made through a channel; idempotent on channelTxnNo)",
            "security": [{"oauth2": []}],
            "parameters": [query_param("billId", {"type": "string"}, required=True, where="path")],
            "requestBody": {"required": True, "content": {"application/json": {"schema": report}}},
            "responses": {
                "200": {
                    "description": "the bill, now paid",
                    "content": {"application/json": {"schema": receipt}},
                },
                "400": {"description": "invalid_request", "content": error},
                "401": {"description": "missing, unknown or expired token", "content": error},
                "404": {"description": "bill_not_found", "content": error},
                "409": {"description": "bill_already_paid / amount_mismatch", "content": error},
            },
        }
    }


def openapi() -> dict[str, Any]:
    """The OpenAPI 3 description of exactly the routes below."""
    string, integer, iso = {"type": "string"}, {"type": "integer"}, {"type": "string", "format": "date-time"}
    utility = {"type": "string", "enum": list(UTILITY_NAMES.values())}
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "浦东新区公用事业（水电气）开放接口",
            "version": "4.0.2",
            "description": "Water, power and gas: services, a resident's accounts, and bills per account "
            "(oldest period first, cursor-paginated). Money in fen; dates ISO 8601.",
        },
        "servers": [{"url": PREFIX}],
        "paths": {
            "/oauth/token": _token_path(),
            "/api/services": _get("服务事项 (services), all at once", [], _listing("Service")),
            "/api/accounts": _get(
                "户号查询 (the accounts held by a resident)",
                [
                    query_param(
                        "holderIdCard", {"type": "string", "pattern": "^\\d{17}[\\dX]$"}, required=True
                    )
                ],
                _listing("Account"),
                **{"400": "holderIdCard missing or not an ID number"},
            ),
            "/api/bills/{billId}/payments": _payment_path(),
            "/api/accounts/{accountNo}/bills": _get(
                "账单 (an account's monthly bills)",
                [
                    query_param("accountNo", string, required=True, where="path"),
                    query_param("cursor", {"type": "string", "description": "opaque nextCursor"}),
                    query_param(
                        "limit", {"type": "integer", "minimum": 1, "maximum": MAX_BILLS, "default": MAX_BILLS}
                    ),
                ],
                _listing("Bill", cursor=True),
                **{"400": "bad_cursor or bad limit", "404": "account_not_found"},
            ),
        },
        "components": {
            "securitySchemes": {
                "oauth2": oauth2_scheme(f"{PREFIX}/oauth/token"),
                "clientBasic": BASIC_SCHEME,
            },
            "schemas": {
                "Error": {
                    "type": "object",
                    "required": ["error"],
                    "properties": {"error": string, "error_description": string},
                },
                "Criterion": loose_criterion_schema(),
                "Service": object_schema(
                    {
                        "code": string,
                        "nameZh": string,
                        "nameEn": string,
                        "description": string,
                        "category": {"type": "string", "enum": ["utilities"]},
                        "channels": {
                            "type": "array",
                            "items": {"type": "string", "enum": list(CHANNELS.values())},
                        },
                        "feeFen": integer,
                        "processingDays": integer,
                        "documents": {"type": "array", "items": string},
                        "updatedAt": iso,
                        "criteria": {"type": "array", "items": ref("Criterion")},
                    }
                ),
                "Account": object_schema(
                    {"accountNo": string, "utility": utility, "householdId": string, "address": string}
                ),
                "Bill": object_schema(
                    {
                        "billId": string,
                        "accountNo": string,
                        "utility": utility,
                        "period": {"type": "string", "pattern": "^\\d{4}-\\d{2}$"},
                        "amountFen": integer,
                        "dueDate": {"type": "string", "format": "date"},
                        "paid": {"type": "boolean"},
                        "paidAt": {**iso, "nullable": True},
                    }
                ),
            },
        },
    }


def _reset_all(tokens: TokenStore, desk: PaymentDesk) -> None:
    tokens.reset()
    desk.reset()


def build(world: World) -> Mounted:
    """Token endpoint, services, accounts, bills and the description, sharing one token store."""
    tokens = TokenStore(TOKEN_TTL_S)
    cursors = Cursors(b"utilities-cursor-" + str(world.seed).encode())
    listing = {"items": [service_item(s) for s in world.services_of("utilities")]}
    desk = PaymentDesk()
    bills_by_id = {b.id: b for b in world.bills}

    guarded = auth.guard(tokens.bearer_ok, _invalid_token)

    @guarded
    async def services(request: web.Request) -> web.StreamResponse:
        return json_response(listing)

    @guarded
    async def accounts(request: web.Request) -> web.StreamResponse:
        holder = request.query.get("holderIdCard")
        if holder is None or not is_valid_id_number(holder):
            return _invalid_request("holderIdCard must be an 18-character ID number")
        return json_response({"items": [account_item(a) for a in held_by(world, holder)]})

    @guarded
    async def bills(request: web.Request) -> web.StreamResponse:
        account = world.account(request.match_info["account_no"])
        if account is None:
            return json_response({"error": "account_not_found"}, 404)
        limit = parse_bounded_int(request.query.get("limit"), MAX_BILLS, 1, MAX_BILLS)
        if limit is None:
            return _invalid_request(f"limit must be between 1 and {MAX_BILLS}")
        raw_cursor = request.query.get("cursor")
        offset = 0 if raw_cursor is None else cursors.decode(raw_cursor)
        if offset is None:
            return json_response({"error": "bad_cursor"}, 400)
        all_bills = world.bills_of(account.account_no)
        end = offset + limit
        next_cursor = cursors.encode(end) if end < len(all_bills) else None
        return json_response(
            {"items": [bill_item(desk.bill_now(b)) for b in all_bills[offset:end]], "nextCursor": next_cursor}
        )

    @guarded
    async def pay(request: web.Request) -> web.StreamResponse:
        bill = bills_by_id.get(request.match_info["bill_id"])
        if bill is None:
            return json_response({"error": "bill_not_found"}, 404)
        try:
            body = await request.json()
        except ValueError:
            body = None
        report = _payment_fields(body)
        if isinstance(report, str):
            return _invalid_request(report)
        outcome = desk.report(bill, *report)
        if isinstance(outcome, str):
            return json_response({"error": outcome, "error_description": "账单状态不允许销账"}, 409)
        return json_response({"bill": bill_item(desk.bill_now(bill)), "receiptNo": outcome.receipt_no})

    issue_token = auth.token_endpoint(tokens, CLIENT_ID, CLIENT_SECRET, realm="gongyong")
    return Mounted(
        routes=[
            web.post(
                f"{PREFIX}/oauth/token",
                issue_token,
            ),
            web.get(f"{PREFIX}/api/services", services),
            web.get(f"{PREFIX}/api/accounts", accounts),
            web.get(f"{PREFIX}/api/accounts/{{account_no}}/bills", bills),
            web.post(f"{PREFIX}/api/bills/{{bill_id}}/payments", pay),
            web.get(f"{PREFIX}/openapi.json", served(openapi())),
        ],
        fail=server_error,
        expire_tokens=tokens.expire_all,
        reset=lambda: _reset_all(tokens, desk),
    )


DEPARTMENT = Department(
    id="utilities",
    name_zh="水电燃气公用事业",
    name_en="Water, Power and Gas Utilities",
    prefix=PREFIX,
    capabilities=("catalog", "bills"),
    description_path=f"{PREFIX}/openapi.json",
    build=build,
)
