"""payApplicationFee end to end over the real mocks: a resident submits an application to planning-land
(a fee-bearing service), then pays its fee through the mock payment provider; the bureau is told in its
own style (缴费通知). The fee is charged once however the client retries, its amount is the bureau's
catalogue's, a bureau down in between leaves PAID_PENDING_DEPARTMENT until it is told once, a free
service's case is refused, and staff pay only inside a consented PAYMENTS session — on SQLite and
PostgreSQL where the ledger's constraints decide."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import aiohttp

from mocks.catalogue import CATALOGUE
from mocks.world import DEFAULT_SEED, CaseStatus, build_world
from tests.access_support import codes, consent, my_id, refused, resident_token, staff_token, start_session
from tests.conftest import Admin, GatewayFactory, RunningMocks
from tests.payments_support import RESIDENT, Live, live_gateway

QUIET = {"payment_poll_s": 3600.0}  # the background reconciler stays out of the way: tests run rounds
FEE_SERVICE, FREE_SERVICE = "GH-003", "GH-002"
FEE_FEN = next(s.fee_fen for s in CATALOGUE if s.code == FEE_SERVICE)  # the bureau's catalogue says
DOCUMENTS = {
    FEE_SERVICE: ["居民身份证", "不动产权证书", "买卖合同"],
    FREE_SERVICE: ["居民身份证", "建房审批意见", "建房设计图纸"],
}
SUBMIT = """mutation($in: SubmitApplicationInput!) { submitApplication(input: $in) { id reference } }"""
PAY_FEE = """mutation($case: ID!, $key: String!, $resident: ID) {
  payApplicationFee(caseId: $case, idempotencyKey: $key, residentId: $resident) {
    id kind caseId serviceId billId utility departmentId amountFen state providerTransactionId
  }
}"""
JIAOFEI = "/planning-land/api/anjian/jiaofei"
CLOSED = next(  # a fee-bearing case the bureau rejected: nothing is due on it
    c
    for c in build_world(DEFAULT_SEED).cases_of("planning-land")
    if c.service == FEE_SERVICE and c.status in (CaseStatus.REJECTED, CaseStatus.WITHDRAWN)
)


def key() -> str:
    return secrets.token_hex(12)


async def applied(live: Live, token: str, service: str = FEE_SERVICE, resident: str | None = None) -> str:
    """A new case of ``service`` at planning-land for the resident: its ``Case.id``."""
    values: dict[str, Any] = {"serviceId": service, "idempotencyKey": key(), "documents": DOCUMENTS[service]}
    if resident is not None:
        values["residentId"] = resident
    body = await live.ask(token, SUBMIT, **{"in": values})
    assert not body.get("errors"), body
    case_id: str = body["data"]["submitApplication"]["id"]
    assert case_id.startswith("planning-land:")
    return case_id


async def pay_fee(
    live: Live, token: str, case_id: str, key: str, resident: str | None = None
) -> dict[str, Any]:
    return await live.ask(token, PAY_FEE, case=case_id, key=key, resident=resident)


def fee_of(body: dict[str, Any]) -> dict[str, Any]:
    assert not body.get("errors"), body
    payment: dict[str, Any] = body["data"]["payApplicationFee"]
    return payment


async def reported_again(http: aiohttp.ClientSession, mocks_url: str, case_id: str, txn: str) -> int:
    """The bureau's answer code to a 缴费通知 for ``case_id`` under ``txn`` (4091: paid under another)."""
    report = {
        "anjian_bianhao": case_id.split(":", 1)[1],
        "jiaoyi_liushui": txn,
        "jine_fen": FEE_FEN,
        "zhifu_shijian": "2026-12-06T10:00:00+08:00",
    }
    async with http.post(
        f"{mocks_url}{JIAOFEI}", json=report, headers={"X-Api-Key": "gh-dev-key"}
    ) as response:
        code: int = (await response.json())["code"]
        return code


async def test_a_fee_is_paid_once_however_the_client_retries(
    make_gateway: GatewayFactory,
    mocks: RunningMocks,
    http: aiohttp.ClientSession,
    admin: Admin,
    database_url: str,
) -> None:
    async with live_gateway(make_gateway, http, mocks.url, database_url=database_url, **QUIET) as live:
        token = resident_token(RESIDENT)
        case_id = await applied(live, token)
        same = key()
        answers = await asyncio.gather(*(pay_fee(live, token, case_id, same) for _ in range(6)))
        payments = [fee_of(a) for a in answers]
        assert len({p["id"] for p in payments}) == 1
        assert {p["state"] for p in payments} == {"CONFIRMED"}, payments
        first = payments[0]
        assert first["kind"] == "FEE" and first["caseId"] == case_id and first["serviceId"] == FEE_SERVICE
        assert first["amountFen"] == FEE_FEN and first["billId"] is None and first["utility"] is None
        orders = await live.orders()
        assert orders["charges"] == 1 and [o["total_fee"] for o in orders["orders"]] == [FEE_FEN]
        # the bureau recorded it under the provider's transaction: another one is refused there
        assert (await admin.paths("planning-land")).get(JIAOFEI, 0) >= 1
        assert await reported_again(http, mocks.url, case_id, "SOMEOTHERTXN") == 4091
        assert await reported_again(http, mocks.url, case_id, first["providerTransactionId"]) == 0
        assert fee_of(await pay_fee(live, token, case_id, same))["id"] == first["id"]
        assert codes(await pay_fee(live, token, case_id, key())) == ["FEE_ALREADY_PAID"]
        assert (await live.orders())["charges"] == 1
        receipts = await live.ask(token, "{ me { payments { id kind caseId serviceId amountFen state } } }")
        assert receipts["data"]["me"]["payments"] == [
            {
                "id": first["id"],
                "kind": "FEE",
                "caseId": case_id,
                "serviceId": FEE_SERVICE,
                "amountFen": FEE_FEN,
                "state": "CONFIRMED",
            }
        ]
        log = await live.ask(token, "{ me { accessLog(first: 50) { data departmentId purpose actorRole } } }")
        rows = [e for e in log["data"]["me"]["accessLog"] if e["data"] == "payments"]
        assert {
            "data": "payments",
            "departmentId": "planning-land",
            "purpose": "PAYMENTS",
            "actorRole": "resident",
        } in rows


async def test_the_amount_is_the_departments_and_only_the_residents_cases_are_paid(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    async with live_gateway(make_gateway, http, mocks.url, **QUIET) as live:
        token = resident_token(RESIDENT)
        case_id = await applied(live, token)
        sneaky = """mutation($case: ID!, $key: String!) {
          payApplicationFee(caseId: $case, idempotencyKey: $key, amountFen: 1) { id } }"""
        assert codes(await live.ask(token, sneaky, case=case_id, key=key())) == ["GRAPHQL_VALIDATION_FAILED"]
        other = resident_token("310115195001011234")
        assert codes(await pay_fee(live, other, case_id, key())) in (["NOT_FOUND"], ["FORBIDDEN"])
        assert codes(await pay_fee(live, token, "planning-land:GH/1999/00001", key())) == ["NOT_FOUND"]
        assert codes(await pay_fee(live, token, "utilities:GH/2026/1", key())) == ["NOT_FOUND"]
        assert codes(await pay_fee(live, token, "nonsense", key())) == ["BAD_USER_INPUT"]
        assert (await live.orders())["orders"] == []
        free = await applied(live, token, FREE_SERVICE)
        body = await pay_fee(live, token, free, key())
        assert codes(body) == ["NO_FEE_DUE"] and body["data"] is None
        assert (await live.orders())["orders"] == []
        closed = await pay_fee(live, resident_token(CLOSED.resident), f"planning-land:{CLOSED.ref}", key())
        assert codes(closed) == ["CASE_CLOSED"]
        assert (await live.orders())["orders"] == []
        assert fee_of(await pay_fee(live, token, case_id, key()))["amountFen"] == FEE_FEN


async def test_a_bureau_down_after_the_charge_is_told_later_never_charged_twice(
    make_gateway: GatewayFactory,
    mocks: RunningMocks,
    http: aiohttp.ClientSession,
    admin: Admin,
    database_url: str,
) -> None:
    settings = {"database_url": database_url, "payment_wait_s": 0.0} | QUIET
    async with live_gateway(make_gateway, http, mocks.url, **settings) as live:
        await live.provider(auto_pay=False)  # the resident confirms in the wallet a little later
        token = resident_token(RESIDENT)
        case_id = await applied(live, token)
        same = key()
        ordered = fee_of(await pay_fee(live, token, case_id, same))
        assert ordered["state"] == "CREATED"
        await live.charged_while_down(admin, "planning-land", ordered["id"])  # the bureau down in between
        retried = fee_of(await pay_fee(live, token, case_id, same))  # the client retries: no second order
        assert retried["id"] == ordered["id"] and retried["state"] == "PAID_PENDING_DEPARTMENT"
        await live.confirmed_after_outage(admin, ordered["id"])
        orders = await live.orders()
        assert orders["charges"] == 1 and len(orders["orders"]) == 1
        txn = retried["providerTransactionId"]
        assert (await admin.paths("planning-land")).get(JIAOFEI, 0) >= 1
        assert await reported_again(http, mocks.url, case_id, "SOMEOTHERTXN") == 4091  # recorded, once
        assert txn and await reported_again(http, mocks.url, case_id, txn) == 0  # under the provider's
        assert fee_of(await pay_fee(live, token, case_id, same))["state"] == "CONFIRMED"


async def test_staff_pay_a_fee_only_inside_a_consented_payments_session(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    async with live_gateway(make_gateway, http, mocks.url, **QUIET) as live:
        resident = resident_token(RESIDENT)
        staff = staff_token()
        handle = await my_id(live.gateway, resident)
        case_id = await applied(live, resident)
        refused(await pay_fee(live, staff, case_id, key(), resident=handle), "CONSENT_REQUIRED")
        applications_only = await start_session(live.gateway, staff, RESIDENT, ["APPLICATIONS"])
        assert not (await consent(live.gateway, resident, applications_only["id"])).get("errors")
        refused(await pay_fee(live, staff, case_id, key(), resident=handle), "CONSENT_REQUIRED")
        assert (await live.orders())["orders"] == []
        paying = await start_session(live.gateway, staff, RESIDENT, ["PAYMENTS"])
        assert not (await consent(live.gateway, resident, paying["id"])).get("errors")
        payment = fee_of(await pay_fee(live, staff, case_id, key(), resident=handle))
        assert payment["state"] == "CONFIRMED" and payment["amountFen"] == FEE_FEN
        log = await live.ask(
            resident, "{ me { accessLog(first: 50) { data purpose actorRole departmentId } } }"
        )
        assert {
            "data": "payments",
            "purpose": "PAYMENTS",
            "actorRole": "staff",
            "departmentId": "planning-land",
        } in (log["data"]["me"]["accessLog"])
        refused(await live.ask(None, PAY_FEE, case=case_id, key=key(), resident=None), "UNAUTHENTICATED")
