"""What the payment tests share: a gateway served on a real port (the provider notifies it over HTTP),
the mock provider's controls, a clock tests move, and signed notifications made as the provider would."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import httpx

from mocks.payprovider import MCH_ID, MCH_KEY, signed
from payments.service import Payments
from tests.access_support import SECRET, bearer, fixture
from tests.conftest import Gateway, GatewayFactory
from tests.live_support import served

PAY = """mutation($bill: ID!, $key: String!, $resident: ID) {
  payBill(billId: $bill, idempotencyKey: $key, residentId: $resident) {
    id billId departmentId amountFen state providerTransactionId paidAt confirmedAt
  }
}"""
RESIDENT = fixture("senior_pudong")
BILL = "utilities:SH5725534970-202610"
BILL_FEN = 3157


class Clock:
    """The payments service's clock: real time plus an offset tests move forward."""

    def __init__(self) -> None:
        self.offset = timedelta()

    def __call__(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, seconds: float) -> None:
        self.offset += timedelta(seconds=seconds)


@dataclass
class Live:
    """A gateway on a real loopback port, its payments service (clock injected) and the mocks."""

    gateway: Gateway
    url: str
    client: httpx.AsyncClient
    http: aiohttp.ClientSession
    mocks_url: str
    clock: Clock

    @property
    def payments(self) -> Payments:
        service = self.gateway.services.payments
        assert isinstance(service, Payments)
        return service

    async def ask(self, token: str | None, query: str, **variables: Any) -> dict[str, Any]:
        headers = bearer(token) if token else {}
        response = await self.client.post(
            "/graphql", json={"query": query, "variables": variables}, headers=headers
        )
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        return body

    async def pay(
        self, token: str, key: str, bill: str = BILL, resident: str | None = None
    ) -> dict[str, Any]:
        return await self.ask(token, PAY, bill=bill, key=key, resident=resident)

    async def provider(self, **controls: Any) -> None:
        async with self.http.put(f"{self.mocks_url}/_admin/payprovider", json=controls) as response:
            assert response.status == 200, await response.text()

    async def orders(self) -> dict[str, Any]:
        async with self.http.get(f"{self.mocks_url}/_admin/payprovider/orders") as response:
            body: dict[str, Any] = await response.json()
            return body

    async def state(self, payment_id: str) -> str | None:
        payment = await self.payments.ledger.get(payment_id)
        return None if payment is None else payment.state

    async def notify(self, params: dict[str, str]) -> httpx.Response:
        return await self.client.post("/payments/notify", json=params)


@contextlib.asynccontextmanager
async def live_gateway(
    make_gateway: GatewayFactory, http: aiohttp.ClientSession, mocks_url: str, **settings: Any
) -> AsyncIterator[Live]:
    gateway = await make_gateway(jwt_secret=SECRET, **settings)
    clock = Clock()
    assert gateway.services.payments is not None
    gateway.services.payments.clock = clock
    async with served(gateway.app) as url, httpx.AsyncClient(base_url=url, timeout=30) as client:
        yield Live(gateway, url, client, http, mocks_url, clock)


def notification(out_trade_no: str, total_fee: int, **changes: str) -> dict[str, str]:
    """A notification as the provider signs it (the development merchant key), fresh nonce and time."""
    params = {
        "return_code": "SUCCESS",
        "result_code": "SUCCESS",
        "mch_id": MCH_ID,
        "out_trade_no": out_trade_no,
        "transaction_id": f"4200{secrets.randbelow(10**12):012d}",
        "total_fee": str(total_fee),
        "trade_state": "SUCCESS",
        "time_end": datetime.now(UTC).strftime("%Y%m%d%H%M%S"),
        "nonce_str": secrets.token_hex(16),
        "timestamp": str(int(time.time())),
        "sign_type": "HMAC-SHA256",
    } | changes
    return signed(params, MCH_KEY)


def payment_of(body: dict[str, Any]) -> dict[str, Any]:
    assert not body.get("errors"), body
    payment: dict[str, Any] = body["data"]["payBill"]
    return payment
