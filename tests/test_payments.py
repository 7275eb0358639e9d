"""payBill end to end over the real mocks: the utilities department and the mock payment provider, both
real HTTP servers, the provider notifying the gateway on a real port. A resident pays a bill once
however the client retries, the notification is lost, the provider is slow or the department is down
in between — on SQLite and PostgreSQL; forged and replayed notifications are refused; the amount is
the bill's; staff pay only inside a consented PAYMENTS session; every payment is in the access log."""

from __future__ import annotations

import asyncio
import secrets
from typing import Any

import aiohttp

from tests.access_support import (
    SECRET,
    ask,
    codes,
    consent,
    my_id,
    refused,
    resident_token,
    staff_token,
    start_session,
)
from tests.conftest import Admin, GatewayFactory, RunningMocks
from tests.payments_support import BILL, BILL_FEN, PAY, RESIDENT, live_gateway, notification, payment_of
from tests.waiting import until

QUIET = {"payment_poll_s": 3600.0}  # the background reconciler stays out of the way: tests run rounds


def key() -> str:
    return secrets.token_hex(12)


async def bill_paid(live: Any, token: str, bill: str = BILL) -> bool:
    body = await live.ask(token, "{ me { bills { id paid } } }")
    assert not body.get("errors"), body
    return next(b["paid"] for b in body["data"]["me"]["bills"] if b["id"] == bill)


async def test_a_resident_pays_once_however_the_client_retries(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession, database_url: str
) -> None:
    async with live_gateway(make_gateway, http, mocks.url, database_url=database_url, **QUIET) as live:
        token = resident_token(RESIDENT)
        assert not await bill_paid(live, token)
        same = key()
        answers = await asyncio.gather(*(live.pay(token, same) for _ in range(6)))
        payments = [payment_of(a) for a in answers]
        assert len({p["id"] for p in payments}) == 1
        assert {p["state"] for p in payments} == {"CONFIRMED"}, payments
        assert payments[0]["amountFen"] == BILL_FEN and payments[0]["billId"] == BILL
        orders = await live.orders()
        assert orders["charges"] == 1 and [o["total_fee"] for o in orders["orders"]] == [BILL_FEN]
        assert await bill_paid(live, token)  # the department says so (its cached bills were dropped)
        again = payment_of(await live.pay(token, same))
        assert again["id"] == payments[0]["id"] and again["state"] == "CONFIRMED"
        # another key for a paid bill: refused, never a second charge
        assert codes(await live.pay(token, key())) == ["BILL_ALREADY_PAID"]
        assert (await live.orders())["charges"] == 1
        receipts = await live.ask(token, "{ me { payments { id state amountFen billId confirmedAt } } }")
        assert [r["id"] for r in receipts["data"]["me"]["payments"]] == [payments[0]["id"]]
        log = await live.ask(token, "{ me { accessLog(first: 50) { data departmentId purpose actorRole } } }")
        rows = [e for e in log["data"]["me"]["accessLog"] if e["data"] == "payments"]
        assert {
            "data": "payments",
            "departmentId": "utilities",
            "purpose": "PAYMENTS",
            "actorRole": "resident",
        } in rows
        assert len(rows) >= 7  # every payBill (six racing, one retry) and the receipts read


async def test_two_gateways_sharing_the_store_pay_once(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession, database_url: str
) -> None:
    """Retries landing on two gateway processes (one store): one payment, one order, one charge."""
    settings = {"database_url": database_url} | QUIET
    async with (
        live_gateway(make_gateway, http, mocks.url, **settings) as one,
        live_gateway(make_gateway, http, mocks.url, **settings) as two,
    ):
        token = resident_token(RESIDENT)
        same = key()
        answers = await asyncio.gather(*(g.pay(token, same) for g in (one, two, one, two)))
        payments = [payment_of(a) for a in answers]
        assert len({p["id"] for p in payments}) == 1
        orders = await one.orders()
        assert orders["charges"] == 1 and len(orders["orders"]) == 1
        await until(lambda: _is(two, payments[0]["id"], "CONFIRMED"))


async def test_the_amount_is_the_bills_never_the_clients(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    async with live_gateway(make_gateway, http, mocks.url, **QUIET) as live:
        token = resident_token(RESIDENT)
        sneaky = """mutation($bill: ID!, $key: String!) {
          payBill(billId: $bill, idempotencyKey: $key, amountFen: 1) { id amountFen } }"""
        assert codes(await live.ask(token, sneaky, bill=BILL, key=key())) == ["GRAPHQL_VALIDATION_FAILED"]
        assert (await live.orders())["orders"] == []
        payment = payment_of(await live.pay(token, key()))
        assert payment["amountFen"] == BILL_FEN
        assert [o["total_fee"] for o in (await live.orders())["orders"]] == [BILL_FEN]
        # somebody else's bill, or a bill that does not exist: the same NOT_FOUND
        other = resident_token("310115195001011234")
        assert codes(await live.pay(other, key())) in (["NOT_FOUND"], ["FORBIDDEN"])
        assert codes(await live.pay(token, key(), bill="utilities:SH0000000000-202610")) == ["NOT_FOUND"]
        assert codes(await live.pay(token, key(), bill="nonsense")) == ["BAD_USER_INPUT"]


async def test_a_lost_notification_is_reconciled_by_polling(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession, database_url: str
) -> None:
    settings = {"database_url": database_url, "payment_wait_s": 0.0, "payment_query_after_s": 10.0} | QUIET
    async with live_gateway(make_gateway, http, mocks.url, **settings) as live:
        await live.provider(drop_notifications=True, auto_pay=False)
        token = resident_token(RESIDENT)
        payment = payment_of(await live.pay(token, key()))
        assert payment["state"] == "CREATED"
        order = payment["id"]
        async with http.post(f"{mocks.url}/_admin/payprovider/orders/{order}/pay") as response:
            assert response.status == 200  # the resident paid in the wallet; the notification is lost
        assert await live.payments.reconcile_once() == 0  # too early to ask
        assert await live.state(order) == "CREATED"
        live.clock.advance(11)
        assert await live.payments.reconcile_once() == 1
        await until(lambda: _is(live, order, "CONFIRMED"))
        assert (await live.orders())["charges"] == 1
        assert await bill_paid(live, token)


async def test_the_supervised_reconciler_finds_a_lost_notification(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession, database_url: str
) -> None:
    settings = {
        "database_url": database_url,
        "payment_wait_s": 0.0,
        "payment_query_after_s": 0.0,
        "payment_poll_s": 0.05,
    }
    async with live_gateway(make_gateway, http, mocks.url, **settings) as live:
        await live.provider(drop_notifications=True)
        payment = payment_of(await live.pay(resident_token(RESIDENT), key()))
        await until(lambda: _is(live, payment["id"], "CONFIRMED"))
        orders = await live.orders()
        assert orders["charges"] == 1 and orders["orders"][0]["notifications_sent"] == 0


async def test_a_slow_provider_still_charges_once(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession, database_url: str
) -> None:
    settings = {"database_url": database_url, "payment_wait_s": 0.2} | QUIET
    async with live_gateway(make_gateway, http, mocks.url, **settings) as live:
        await live.provider(latency_ms=600, notify_delay_ms=600)
        token = resident_token(RESIDENT)
        same = key()
        first, second = await asyncio.gather(live.pay(token, same), live.pay(token, same))
        assert payment_of(first)["id"] == payment_of(second)["id"]
        assert payment_of(first)["state"] in ("CREATED", "PAID", "CONFIRMED")
        await until(lambda: _is(live, payment_of(first)["id"], "CONFIRMED"))
        orders = await live.orders()
        assert orders["charges"] == 1 and len(orders["orders"]) == 1


async def test_a_department_down_after_the_charge_is_told_later_never_charged_twice(
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
        same = key()
        ordered = payment_of(await live.pay(token, same))
        assert ordered["state"] == "CREATED"
        await live.charged_while_down(admin, "utilities", ordered["id"])  # down in between
        payment = payment_of(await live.pay(token, same))
        assert payment["state"] == "PAID_PENDING_DEPARTMENT" and payment["providerTransactionId"]
        retried = payment_of(await live.pay(token, same))  # the client retries: no second order
        assert retried["id"] == payment["id"] and retried["state"] == "PAID_PENDING_DEPARTMENT"
        await live.confirmed_after_outage(admin, payment["id"])
        orders = await live.orders()
        assert orders["charges"] == 1 and len(orders["orders"]) == 1
        assert await bill_paid(live, token)
        assert payment_of(await live.pay(token, same))["state"] == "CONFIRMED"


async def test_a_bill_paid_at_the_counter_meanwhile_is_not_charged(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    async with live_gateway(make_gateway, http, mocks.url, **QUIET) as live:
        token = resident_token(RESIDENT)
        assert not await bill_paid(live, token)  # read, and cached by the gateway, as unpaid
        form = {"grant_type": "client_credentials", "client_id": "onestop", "client_secret": "gy-secret"}
        async with http.post(f"{mocks.url}/utilities/oauth/token", data=form) as response:
            auth = {"Authorization": f"Bearer {(await response.json())['access_token']}"}
        counter = {"channelTxnNo": "COUNTER-1", "amountFen": BILL_FEN, "paidAt": "2026-11-26T10:00:00+08:00"}
        url = f"{mocks.url}/utilities/api/bills/{BILL.split(':')[1]}/payments"
        async with http.post(url, json=counter, headers=auth) as response:
            assert response.status == 200
        assert codes(await live.pay(token, key())) == ["BILL_ALREADY_PAID"]
        assert (await live.orders())["orders"] == []


async def test_forged_replayed_stale_and_wrong_amount_notifications_are_refused(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession, database_url: str
) -> None:
    settings = {"database_url": database_url, "payment_wait_s": 0.0} | QUIET
    async with live_gateway(make_gateway, http, mocks.url, **settings) as live:
        await live.provider(auto_pay=False)
        payment = payment_of(await live.pay(resident_token(RESIDENT), key()))
        order = payment["id"]
        forged = notification(order, BILL_FEN) | {"sign": "0" * 64}
        assert (await live.notify(forged)).status_code == 401
        tampered = notification(order, BILL_FEN) | {"total_fee": "1"}  # signed, then changed
        assert (await live.notify(tampered)).status_code == 401
        stale = notification(order, BILL_FEN, timestamp=str(int(live.clock().timestamp()) - 3600))
        assert (await live.notify(stale)).status_code == 403
        wrong_amount = notification(order, 1)  # properly signed, but not the bill's amount
        assert (await live.notify(wrong_amount)).status_code == 400
        assert (await live.notify(notification("OSnosuchorder", BILL_FEN))).status_code == 404
        other_merchant = notification(order, BILL_FEN, mch_id="1900000999")
        assert (await live.notify(other_merchant)).status_code == 401
        assert (await live.notify({"not": ["strings"]})).status_code == 400  # type: ignore[dict-item]
        huge = await live.client.post("/payments/notify", content=b"{" + b" " * 20_000 + b"}")
        assert huge.status_code == 413
        assert await live.state(order) == "CREATED"
        genuine = notification(order, BILL_FEN)
        accepted = await live.notify(genuine)
        assert accepted.status_code == 200 and accepted.json()["return_code"] == "SUCCESS"
        assert (await live.notify(genuine)).status_code == 403  # the same notification again: a replay
        await until(lambda: _is(live, order, "CONFIRMED"))


async def test_staff_pay_only_inside_a_consented_payments_session(
    make_gateway: GatewayFactory, mocks: RunningMocks, http: aiohttp.ClientSession
) -> None:
    async with live_gateway(make_gateway, http, mocks.url, **QUIET) as live:
        resident = resident_token(RESIDENT)
        staff = staff_token()
        handle = await my_id(live.gateway, resident)
        refused(await live.pay(staff, key(), resident=handle), "CONSENT_REQUIRED")
        bills_only = await start_session(live.gateway, staff, RESIDENT, ["BILLS"])
        assert not (await consent(live.gateway, resident, bills_only["id"])).get("errors")
        refused(await live.pay(staff, key(), resident=handle), "CONSENT_REQUIRED")
        assert (await live.orders())["orders"] == []
        paying = await start_session(live.gateway, staff, RESIDENT, ["PAYMENTS"])
        assert not (await consent(live.gateway, resident, paying["id"])).get("errors")
        payment = payment_of(await live.pay(staff, key(), resident=handle))
        assert payment["state"] == "CONFIRMED" and payment["amountFen"] == BILL_FEN
        listed = await live.ask(staff, "query($id: ID!) { resident(id: $id) { payments { id } } }", id=handle)
        assert [p["id"] for p in listed["data"]["resident"]["payments"]] == [payment["id"]]
        log = await live.ask(resident, "{ me { accessLog(first: 50) { data purpose actorRole station } } }")
        staff_rows = [
            e for e in log["data"]["me"]["accessLog"] if e["data"] == "payments" and e["actorRole"] == "staff"
        ]
        assert staff_rows and all(e["purpose"] == "PAYMENTS" and e["station"] for e in staff_rows)
        refused(await live.ask(None, PAY, bill=BILL, key=key(), resident=None), "UNAUTHENTICATED")


async def _is(live: Any, payment_id: str, state: str) -> bool:
    return bool(await live.state(payment_id) == state)


async def test_without_a_merchant_key_production_does_not_take_payments(make_gateway: GatewayFactory) -> None:
    gateway = await make_gateway(mode="production", allow_hs256=True, jwt_secret=SECRET)
    assert gateway.services.payments is None
    body = await ask(gateway, resident_token(RESIDENT), PAY, bill=BILL, key=key(), resident=None)
    assert codes(body) == ["PAYMENTS_UNAVAILABLE"] and body["data"] is None
    assert (await gateway.client.post("/payments/notify", json={})).status_code == 404
