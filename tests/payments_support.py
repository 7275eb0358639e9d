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
from tests.conftest import Admin, Gateway, GatewayFactory
from tests.live_support import served
from tests.waiting import until

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

    async def is_(self, payment_id: str, state: str) -> bool:
        return await self.state(payment_id) == state

    async def charged_while_down(self, admin: Admin, department: str, payment_id: str) -> None:
        """The department goes down, then the resident pays the CREATED order in the wallet: the
        provider notifies, the department cannot be told, the payment waits PAID_PENDING_DEPARTMENT."""
        await admin.fault(department, down=True)
        async with self.http.post(f"{self.mocks_url}/_admin/payprovider/orders/{payment_id}/pay") as response:
            assert response.status == 200  # the money is taken; the provider notifies the gateway
        await until(lambda: self.is_(payment_id, "PAID_PENDING_DEPARTMENT"))

    async def confirmed_after_outage(self, admin: Admin, payment_id: str) -> None:
        """While the department stays down every reconciler round leaves the payment pending; once it
        is back, a round tells it and the payment is CONFIRMED."""
        for _ in range(3):
            self.clock.advance(400)
            await self.payments.reconcile_once()
        assert await self.state(payment_id) == "PAID_PENDING_DEPARTMENT"
        await admin.clear_faults()

        async def confirmed() -> bool:
            self.clock.advance(400)  # past every backoff (and the breaker's pause, in real time)
            await self.payments.reconcile_once()
            return await self.is_(payment_id, "CONFIRMED")

        await until(confirmed, every=0.2)


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
