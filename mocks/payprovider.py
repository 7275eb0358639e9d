"""A mock payment provider in the shape WeChat Pay (API v2) and Alipay use: order, signed notify, query.

The merchant (the gateway) creates an order with its own order number (``out_trade_no``), the amount
in fen (``total_fee``) and the ``notify_url`` to tell; the payer pays in their wallet (here: at once,
or when a test says so); the provider then POSTs a **signed asynchronous notification** to
``notify_url`` and retries it until the merchant answers ``{"return_code": "SUCCESS"}``. The merchant
may also ask (``orderquery``) or give up on an unpaid order (``closeorder``).

Every request and answer is a flat JSON object of strings signed as WeChat Pay's ``HMAC-SHA256``
sign type: the non-empty parameters but ``sign``, sorted by name, as ``k=v&k=v&key=<merchant key>``,
HMAC-SHA256 under the merchant key, upper-case hex. A notification carries a fresh ``nonce_str`` and
``timestamp`` so the merchant can refuse a replay.

Creating an order is idempotent on ``out_trade_no`` (the same number and amount answer the same
order; another amount is ``OUT_TRADE_NO_USED``): a merchant retrying after a timeout never charges
twice. ``/_admin/payprovider`` steers it for tests: drop or delay notifications, be slow, be down,
let payers pay by hand; ``/_admin/payprovider/orders`` lists the orders and charges.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import itertools
import json
import secrets
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, datetime
from typing import Any

import aiohttp
from aiohttp import web

PREFIX = "/payprovider"
ADMIN = "/_admin/payprovider"
MCH_ID = "1900000109"
#: The development merchant key (the gateway's default in development mode; never in production).
MCH_KEY = "onestop-payprovider-dev-key-2026"
NOTIFY_TIMEOUT_S = 5.0


def sign(params: dict[str, str], key: str) -> str:
    """WeChat Pay v2 ``HMAC-SHA256``: sorted non-empty params but ``sign``, then ``&key=``."""
    text = "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] != "")
    return hmac.new(key.encode(), f"{text}&key={key}".encode(), hashlib.sha256).hexdigest().upper()


def signed(params: dict[str, str], key: str = MCH_KEY) -> dict[str, str]:
    return {**params, "sign": sign(params, key)}


def _verified(params: dict[str, str], key: str) -> bool:
    return hmac.compare_digest(params.get("sign", ""), sign(params, key))


@dataclass
class Controls:
    """How the provider behaves now (``PUT /_admin/payprovider`` changes any of these)."""

    drop_notifications: bool = False  # the notification is lost: the merchant must ask
    notify_delay_ms: int = 0  # between payment and its notification
    latency_ms: int = 0  # before answering each API call (a slow provider)
    down: bool = False  # API calls are refused with 503
    auto_pay: bool = True  # the payer pays as soon as the order exists; else /orders/{no}/pay
    notify_attempts: int = 3  # sends of one notification until the merchant says SUCCESS
    notify_retry_ms: int = 200


@dataclass
class Order:
    out_trade_no: str
    total_fee: int
    notify_url: str
    body: str
    created: float
    state: str = "NOTPAY"  # NOTPAY, SUCCESS, CLOSED
    transaction_id: str = ""
    time_end: str = ""
    notifications_sent: int = 0
    notifications_acknowledged: int = 0


@dataclass
class Provider:
    """The provider's state: orders by merchant order number, controls, and notifications in flight."""

    controls: Controls = field(default_factory=Controls)
    orders: dict[str, Order] = field(default_factory=dict)
    calls: dict[str, int] = field(default_factory=dict)
    tasks: set[asyncio.Task[None]] = field(default_factory=set)
    numbers: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    client: aiohttp.ClientSession | None = None

    def reset(self) -> None:
        self.controls = Controls()
        self.orders.clear()
        self.calls.clear()
        for task in self.tasks:
            task.cancel()

    def pay(self, order: Order) -> None:
        """The payer paid: the money is taken once, and the merchant is told (unless lost)."""
        if order.state != "NOTPAY":
            return
        order.state = "SUCCESS"
        order.transaction_id = f"4200{int(time.time()):010d}{next(self.numbers):06d}"
        order.time_end = datetime.now(UTC).strftime("%Y%m%d%H%M%S")
        if not self.controls.drop_notifications:
            task = asyncio.create_task(self._notify(order))
            self.tasks.add(task)
            task.add_done_callback(self.tasks.discard)

    def notification(self, order: Order) -> dict[str, str]:
        """A fresh signed notification of ``order``'s payment (new nonce and timestamp each time)."""
        return signed(
            {
                "return_code": "SUCCESS",
                "result_code": "SUCCESS",
                "mch_id": MCH_ID,
                "out_trade_no": order.out_trade_no,
                "transaction_id": order.transaction_id,
                "total_fee": str(order.total_fee),
                "trade_state": order.state,
                "time_end": order.time_end,
                "nonce_str": secrets.token_hex(16),
                "timestamp": str(int(time.time())),
                "sign_type": "HMAC-SHA256",
            }
        )

    async def _notify(self, order: Order) -> None:
        await asyncio.sleep(self.controls.notify_delay_ms / 1000)
        for attempt in range(max(1, self.controls.notify_attempts)):
            if attempt:
                await asyncio.sleep(self.controls.notify_retry_ms / 1000)
            if await self.send(order):
                return

    async def send(self, order: Order) -> bool:
        """POST one notification; True once the merchant acknowledged it."""
        if self.client is None or self.client.closed:
            self.client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=NOTIFY_TIMEOUT_S))
        order.notifications_sent += 1
        try:
            async with self.client.post(order.notify_url, json=self.notification(order)) as response:
                answer = await response.json(content_type=None) if response.status == 200 else {}
        except (aiohttp.ClientError, TimeoutError, ValueError):
            return False
        ok = isinstance(answer, dict) and answer.get("return_code") == "SUCCESS"
        order.notifications_acknowledged += int(ok)
        return ok

    async def close(self, _app: web.Application) -> None:
        for task in list(self.tasks):
            task.cancel()
        await asyncio.gather(*self.tasks, return_exceptions=True)
        if self.client is not None:
            await self.client.close()


def _answer(params: dict[str, str], status: int = 200) -> web.Response:
    return web.json_response(signed(params), status=status)


def _fail(code: str, message: str) -> web.Response:
    return _answer(
        {"return_code": "SUCCESS", "result_code": "FAIL", "err_code": code, "err_code_des": message}
    )


async def _params(request: web.Request) -> dict[str, str] | None:
    try:
        raw = json.loads(await request.read())
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(raw, dict) or not all(isinstance(v, str) for v in raw.values()):
        return None
    return raw


class ProviderApi:
    """The merchant API under ``/payprovider/pay`` and the test controls under ``/_admin/payprovider``."""

    def __init__(self, provider: Provider) -> None:
        self.provider = provider

    def routes(self) -> list[web.RouteDef]:
        return [
            web.post(f"{PREFIX}/pay/unifiedorder", self._api(self.unified_order)),
            web.post(f"{PREFIX}/pay/orderquery", self._api(self.order_query)),
            web.post(f"{PREFIX}/pay/closeorder", self._api(self.close_order)),
            web.get(ADMIN, self.get_controls),
            web.put(ADMIN, self.set_controls),
            web.get(f"{ADMIN}/orders", self.list_orders),
            web.post(f"{ADMIN}/orders/{{no}}/pay", self.pay_order),
            web.post(f"{ADMIN}/orders/{{no}}/notify", self.notify_again),
        ]

    def _api(self, handler: Any) -> Any:
        """Controls, then the merchant's signature, then the call."""

        async def call(request: web.Request) -> web.StreamResponse:
            name = request.path.rsplit("/", 1)[-1]
            self.provider.calls[name] = self.provider.calls.get(name, 0) + 1
            controls = self.provider.controls
            await asyncio.sleep(controls.latency_ms / 1000)
            if controls.down:
                return web.json_response({"return_code": "FAIL", "return_msg": "SYSTEMERROR"}, status=503)
            params = await _params(request)
            if params is None:
                return web.json_response({"return_code": "FAIL", "return_msg": "invalid body"}, status=400)
            if params.get("mch_id") != MCH_ID or not _verified(params, MCH_KEY):
                return web.json_response({"return_code": "FAIL", "return_msg": "SIGNERROR"}, status=400)
            response: web.StreamResponse = await handler(params)
            return response

        return call

    async def unified_order(self, params: dict[str, str]) -> web.Response:
        number, fee, url = (
            params.get("out_trade_no", ""),
            params.get("total_fee", ""),
            params.get("notify_url", ""),
        )
        if not number or not fee.isdigit() or int(fee) <= 0 or not url.startswith(("http://", "https://")):
            return _fail("PARAM_ERROR", "out_trade_no, total_fee (fen > 0) and notify_url are required")
        order = self.provider.orders.get(number)
        if order is not None and order.total_fee != int(fee):
            return _fail("OUT_TRADE_NO_USED", "this out_trade_no was used for another amount")
        if order is not None and order.state == "CLOSED":
            return _fail("ORDERCLOSED", "the order is closed")
        if order is None:
            order = Order(number, int(fee), url, params.get("body", ""), time.time())
            self.provider.orders[number] = order
        if self.provider.controls.auto_pay:
            self.provider.pay(order)
        return _answer(
            {"return_code": "SUCCESS", "result_code": "SUCCESS", "mch_id": MCH_ID, "out_trade_no": number}
            | {"prepay_id": "wx" + hashlib.sha256(number.encode()).hexdigest()[:28]}
            | {"nonce_str": secrets.token_hex(16)}
        )

    async def order_query(self, params: dict[str, str]) -> web.Response:
        order = self.provider.orders.get(params.get("out_trade_no", ""))
        if order is None:
            return _fail("ORDERNOTEXIST", "no such order")
        return _answer(
            {"return_code": "SUCCESS", "result_code": "SUCCESS", "mch_id": MCH_ID}
            | {"out_trade_no": order.out_trade_no, "trade_state": order.state}
            | {"total_fee": str(order.total_fee), "transaction_id": order.transaction_id}
            | {"time_end": order.time_end, "nonce_str": secrets.token_hex(16)}
        )

    async def close_order(self, params: dict[str, str]) -> web.Response:
        order = self.provider.orders.get(params.get("out_trade_no", ""))
        if order is None:
            return _fail("ORDERNOTEXIST", "no such order")
        if order.state == "SUCCESS":
            return _fail("ORDERPAID", "the order is paid; it cannot be closed")
        order.state = "CLOSED"
        return _answer(
            {"return_code": "SUCCESS", "result_code": "SUCCESS", "nonce_str": secrets.token_hex(16)}
        )

    async def get_controls(self, _request: web.Request) -> web.StreamResponse:
        return web.json_response(asdict(self.provider.controls))

    async def set_controls(self, request: web.Request) -> web.StreamResponse:
        try:
            patch = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.json_response({"error": "body must be JSON"}, status=400)
        known = {f.name: f.type for f in fields(Controls)}
        if not isinstance(patch, dict) or set(patch) - set(known):
            return web.json_response({"error": f"fields: {', '.join(known)}"}, status=400)
        for name, value in patch.items():
            wanted = bool if known[name] == "bool" else int
            if type(value) is not wanted or (wanted is int and not 0 <= value <= 3_600_000):
                return web.json_response({"error": f"{name}: a {wanted.__name__}"}, status=400)
            setattr(self.provider.controls, name, value)
        return web.json_response(asdict(self.provider.controls))

    async def list_orders(self, _request: web.Request) -> web.StreamResponse:
        orders = [asdict(o) for o in self.provider.orders.values()]
        charges = sum(1 for o in self.provider.orders.values() if o.state == "SUCCESS")
        return web.json_response({"orders": orders, "charges": charges, "calls": self.provider.calls})

    async def pay_order(self, request: web.Request) -> web.StreamResponse:
        order = self.provider.orders.get(request.match_info["no"])
        if order is None:
            return web.json_response({"error": "no such order"}, status=404)
        self.provider.pay(order)
        return web.json_response(asdict(order))

    async def notify_again(self, request: web.Request) -> web.StreamResponse:
        """Send the notification of a paid order once more, now (what the provider does on its own)."""
        order = self.provider.orders.get(request.match_info["no"])
        if order is None or order.state != "SUCCESS":
            return web.json_response({"error": "no paid order with this number"}, status=404)
        return web.json_response({"acknowledged": await self.provider.send(order)})


def mount(app: web.Application, reset_hooks: list[Callable[[], None]]) -> Provider:
    """Serve the provider on ``app``; ``reset_hooks`` gets its reset (``/_admin/reset``)."""
    provider = Provider()
    app.add_routes(ProviderApi(provider).routes())
    reset_hooks.append(provider.reset)
    app.on_shutdown.append(provider.close)
    return provider
