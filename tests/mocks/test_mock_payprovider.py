"""The mock payment provider over real HTTP: signed calls and answers, orders idempotent on the merchant's
number, the signed notification POSTed to notify_url (retried until acknowledged), query and close, and
the test controls (drop, delay, slow, down)."""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
import pytest_asyncio
from aiohttp import web

from mocks.payprovider import MCH_ID, MCH_KEY, sign, signed
from mocks.server import RunningMocks
from tests.waiting import until

API = "/payprovider/pay"


class Merchant:
    """A real HTTP server taking notifications, acknowledging them after ``refuse`` refusals."""

    def __init__(self) -> None:
        self.received: list[dict[str, str]] = []
        self.refuse = 0
        self.url = ""

    async def notify(self, request: web.Request) -> web.Response:
        self.received.append(await request.json())
        if self.refuse > 0:
            self.refuse -= 1
            return web.json_response({"return_code": "FAIL"}, status=500)
        return web.json_response({"return_code": "SUCCESS"})


@pytest_asyncio.fixture
async def merchant() -> AsyncIterator[Merchant]:
    receiver = Merchant()
    app = web.Application()
    app.add_routes([web.post("/notify", receiver.notify)])
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{runner.addresses[0][1]}/notify"
    yield receiver
    await runner.cleanup()


async def call(http: aiohttp.ClientSession, mocks: RunningMocks, name: str, **params: str) -> tuple[int, Any]:
    body = signed({"mch_id": MCH_ID, "nonce_str": secrets.token_hex(16)} | params)
    async with http.post(f"{mocks.url}{API}/{name}", json=body) as response:
        return response.status, await response.json()


async def order(
    http: aiohttp.ClientSession, mocks: RunningMocks, merchant: Merchant, number: str, fee: int = 3157
) -> tuple[int, Any]:
    return await call(
        http, mocks, "unifiedorder", out_trade_no=number, total_fee=str(fee), notify_url=merchant.url
    )


async def controls(http: aiohttp.ClientSession, mocks: RunningMocks, **values: Any) -> int:
    async with http.put(f"{mocks.url}/_admin/payprovider", json=values) as response:
        return response.status


def verifies(params: dict[str, str]) -> bool:
    return params["sign"] == sign(params, MCH_KEY)


async def test_an_order_is_paid_and_the_merchant_told_once_signed(
    mocks: RunningMocks, http: aiohttp.ClientSession, merchant: Merchant
) -> None:
    status, answer = await order(http, mocks, merchant, "OS0001")
    assert status == 200 and answer["result_code"] == "SUCCESS" and verifies(answer)
    await until(lambda: len(merchant.received) == 1)
    note = merchant.received[0]
    assert verifies(note) and note["out_trade_no"] == "OS0001" and note["total_fee"] == "3157"
    assert note["trade_state"] == "SUCCESS" and note["transaction_id"] and len(note["nonce_str"]) == 32
    status, again = await order(http, mocks, merchant, "OS0001")  # the merchant retries: same order
    assert status == 200 and again["result_code"] == "SUCCESS"
    status, other = await order(http, mocks, merchant, "OS0001", fee=1)
    assert other["err_code"] == "OUT_TRADE_NO_USED"
    status, state = await call(http, mocks, "orderquery", out_trade_no="OS0001")
    assert (
        verifies(state)
        and state["trade_state"] == "SUCCESS"
        and state["transaction_id"] == note["transaction_id"]
    )
    async with http.get(f"{mocks.url}/_admin/payprovider/orders") as response:
        listing = await response.json()
    assert listing["charges"] == 1 and listing["orders"][0]["notifications_acknowledged"] == 1
    assert len(merchant.received) == 1


async def test_unsigned_or_forged_calls_are_refused(mocks: RunningMocks, http: aiohttp.ClientSession) -> None:
    body = {
        "mch_id": MCH_ID,
        "out_trade_no": "OS1",
        "total_fee": "1",
        "notify_url": "http://x/",
        "sign": "00",
    }
    async with http.post(f"{mocks.url}{API}/unifiedorder", json=body) as response:
        assert response.status == 400 and (await response.json())["return_msg"] == "SIGNERROR"
    forged = signed({"mch_id": MCH_ID, "out_trade_no": "OS1"}, "not-the-key")
    async with http.post(f"{mocks.url}{API}/orderquery", json=forged) as response:
        assert response.status == 400


async def test_notifications_are_retried_until_acknowledged(
    mocks: RunningMocks, http: aiohttp.ClientSession, merchant: Merchant
) -> None:
    assert await controls(http, mocks, notify_retry_ms=10) == 200
    merchant.refuse = 2
    await order(http, mocks, merchant, "OS0002")
    await until(lambda: len(merchant.received) == 3)
    nonces = {n["nonce_str"] for n in merchant.received}
    assert len(nonces) == 3  # each send is signed afresh


async def test_dropped_notifications_leave_only_the_query(
    mocks: RunningMocks, http: aiohttp.ClientSession, merchant: Merchant
) -> None:
    assert await controls(http, mocks, drop_notifications=True) == 200
    await order(http, mocks, merchant, "OS0003")
    _, state = await call(http, mocks, "orderquery", out_trade_no="OS0003")
    assert state["trade_state"] == "SUCCESS"
    async with http.get(f"{mocks.url}/_admin/payprovider/orders") as response:
        listing = await response.json()
    assert listing["charges"] == 1 and listing["orders"][0]["notifications_sent"] == 0
    assert merchant.received == []


async def test_manual_payers_close_and_unknown_orders(
    mocks: RunningMocks, http: aiohttp.ClientSession, merchant: Merchant
) -> None:
    assert await controls(http, mocks, auto_pay=False) == 200
    await order(http, mocks, merchant, "OS0004")
    _, state = await call(http, mocks, "orderquery", out_trade_no="OS0004")
    assert state["trade_state"] == "NOTPAY"
    _, closed = await call(http, mocks, "closeorder", out_trade_no="OS0004")
    assert closed["result_code"] == "SUCCESS"
    _, state = await call(http, mocks, "orderquery", out_trade_no="OS0004")
    assert state["trade_state"] == "CLOSED"
    _, missing = await call(http, mocks, "orderquery", out_trade_no="OS-none")
    assert missing["err_code"] == "ORDERNOTEXIST"
    await order(http, mocks, merchant, "OS0005")
    async with http.post(f"{mocks.url}/_admin/payprovider/orders/OS0005/pay") as response:
        assert response.status == 200
    await until(lambda: len(merchant.received) == 1)


@pytest.mark.parametrize("fault", [{"down": True}, {"latency_ms": 300}])
async def test_slow_and_down(
    fault: dict[str, Any], mocks: RunningMocks, http: aiohttp.ClientSession, merchant: Merchant
) -> None:
    assert await controls(http, mocks, **fault) == 200
    loop = asyncio.get_running_loop()
    started = loop.time()
    status, _ = await order(http, mocks, merchant, "OS0006")
    if fault.get("down"):
        assert status == 503
    else:
        assert status == 200 and loop.time() - started >= 0.3
    assert await controls(http, mocks, nonsense=True) == 400
    assert await controls(http, mocks, latency_ms="slow") == 400


async def test_reset_forgets_orders_and_controls(
    mocks: RunningMocks, http: aiohttp.ClientSession, merchant: Merchant
) -> None:
    await controls(http, mocks, latency_ms=5)
    await order(http, mocks, merchant, "OS0007")
    async with http.post(f"{mocks.url}/_admin/reset") as response:
        assert response.status == 200
    async with http.get(f"{mocks.url}/_admin/payprovider/orders") as response:
        assert (await response.json())["orders"] == []
    async with http.get(f"{mocks.url}/_admin/payprovider") as response:
        assert (await response.json())["latency_ms"] == 0
